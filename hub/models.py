"""SQLAlchemy 2 models: the hub's store (SQLite WAL by default, PostgreSQL supported).

Schema changes go through a new Alembic migration in hub/migrations/versions (never edit 0001).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no time zones), always hands back aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing to store a naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012 - SQLAlchemy reads it from the class


class Area(Base):
    __tablename__ = "areas"
    path: Mapped[str] = mapped_column(String(200), primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))  # province | district | commune (data, not code)
    # what people call the unit: tỉnh, thành phố, huyện, quận, thị xã, xã, phường, thị trấn, đặc khu
    unit_type: Mapped[str] = mapped_column(String(20), default="", server_default="")
    parent_path: Mapped[str | None] = mapped_column(ForeignKey("areas.path"), index=True)
    depth: Mapped[int] = mapped_column(Integer)
    # local languages besides Vietnamese, [{"code": "rad", "name": "Ê Đê"}]; None: the parent's (0014)
    languages: Mapped[list[Any] | None] = mapped_column(JSON)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    area_path: Mapped[str | None] = mapped_column(ForeignKey("areas.path"))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    review_group: Mapped[str | None] = mapped_column(String(40))  # config review.groups (migration 0005)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    password_changed_at: Mapped[datetime]
    # notifications by e-mail (hub/services/mailer.py), set by the user on their own page (migration 0018)
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    email_notices: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AuthToken(Base):
    """API bearer tokens and browser sessions; only the sha256 of the secret is stored."""

    __tablename__ = "auth_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # api | session
    csrf_token: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user: Mapped[User] = relationship(lazy="joined")


class Media(Base):
    __tablename__ = "media"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    mime: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # audio | image | video | subtitles
    size: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(500))
    original_name: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class Bulletin(Base):
    __tablename__ = "bulletins"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    priority: Mapped[str] = mapped_column(String(10), index=True)
    form: Mapped[str] = mapped_column(String(12))
    origin: Mapped[str] = mapped_column(String(10))
    # lĩnh vực (protocol.vocabulary.SUBJECTS): the statistics count bulletins by it; "other" before 0012
    subject: Mapped[str] = mapped_column(String(20), default="other", server_default="other")
    text: Mapped[str | None] = mapped_column(Text)
    media_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"))
    subtitles_sha256: Mapped[str | None] = mapped_column(ForeignKey("media.sha256"))
    # bản tiếng dân tộc: [{"language": "rad", "media": sha256}], played after the Vietnamese (0014)
    language_versions: Mapped[list[Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), index=True)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    kinds: Mapped[list[Any]]
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    plays_per_day: Mapped[int] = mapped_column(Integer, default=1)
    repeat: Mapped[dict[str, Any]]
    exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    after_interrupt: Mapped[str] = mapped_column(String(10), default="restart")
    version: Mapped[int] = mapped_column(Integer, default=1)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    # an installed neural voice's id or "espeak-ng"; None = the province's default when spoken
    voice: Mapped[str | None] = mapped_column(String(80))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_reason: Mapped[str | None] = mapped_column(Text)
    recalled_at: Mapped[datetime | None]
    recall_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]
    targets: Mapped[list[BulletinTarget]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="BulletinTarget.area_path"
    )

    @property
    def target_paths(self) -> list[str]:
        return [t.area_path for t in self.targets]


class BulletinTarget(Base):
    __tablename__ = "bulletin_targets"
    bulletin_id: Mapped[str] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), primary_key=True)
    area_path: Mapped[str] = mapped_column(ForeignKey("areas.path"), primary_key=True, index=True)


class BulletinVersion(Base):
    __tablename__ = "bulletin_versions"
    __table_args__ = (UniqueConstraint("bulletin_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[str] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class BulletinSignoff(Base):
    """A reviewer's sign-off on one version of a sensitive bulletin (Art. 14.5), one per person."""

    __tablename__ = "bulletin_signoffs"
    __table_args__ = (UniqueConstraint("bulletin_id", "version", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[str] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    review_group: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime]


class Speech(Base):
    """Which media a text bulletin's version was spoken into, and by which engine."""

    __tablename__ = "speech"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[str] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    media_sha256: Mapped[str] = mapped_column(ForeignKey("media.sha256"))
    engine: Mapped[str] = mapped_column(String(30))
    voice: Mapped[str] = mapped_column(String(60))
    normalized_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ProgrammeChoice(Base):
    """A commune chair's order of priority bulletins for one day (Art. 8.2); kind '*' = both kinds.
    `updated_at` is when the order was saved: a priority bulletin approved later is shown as new."""

    __tablename__ = "programme_choices"
    __table_args__ = (UniqueConstraint("area_path", "date", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_path: Mapped[str] = mapped_column(ForeignKey("areas.path"))
    date: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(6), default="*")
    order: Mapped[list[Any] | None] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]


VALIDITY = "*"  # NormalChoice.date of a choice for the bulletin's whole validity


class NormalChoice(Base):
    """A commune chair's decision on one normal bulletin (Art. 8.3): air it (chosen) or not, on one device
    kind, for one day (YYYY-MM-DD) or for the bulletin's whole validity (date '*'). A day's decision wins
    over the validity one; with neither, the commune's standing rule decides; with no rule, it waits."""

    __tablename__ = "normal_choices"
    __table_args__ = (UniqueConstraint("area_path", "bulletin_id", "kind", "date"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_path: Mapped[str] = mapped_column(ForeignKey("areas.path"), index=True)
    bulletin_id: Mapped[str] = mapped_column(ForeignKey("bulletins.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(6))
    date: Mapped[str] = mapped_column(String(10))
    chosen: Mapped[bool] = mapped_column(Boolean)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]


class StandingChoice(Base):
    """A commune chair's standing rule (Art. 8.3): normal bulletins from `origin` (province, district...)
    air on `kind` in the commune without a choice each time ("tự động nhận bản tin thông thường")."""

    __tablename__ = "standing_choices"
    __table_args__ = (UniqueConstraint("area_path", "origin", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_path: Mapped[str] = mapped_column(ForeignKey("areas.path"), index=True)
    origin: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(6))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime]


class PublishedProgramme(Base):
    __tablename__ = "published_programmes"
    __table_args__ = (UniqueConstraint("area_path", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(6))
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]]
    published_at: Mapped[datetime]


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        Index("ix_devices_last_seen", "last_seen"),
        Index("ix_devices_state", "state"),
    )
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(6))
    area_path: Mapped[str] = mapped_column(ForeignKey("areas.path"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(12), default="unknown")
    last_status: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_seen: Mapped[datetime | None]
    created_at: Mapped[datetime]
    lat: Mapped[float | None] = mapped_column(Float)  # WGS84, for the map (Bản đồ); migration 0010
    lon: Mapped[float | None] = mapped_column(Float)
    # The summary the device lists count, filter and sort on in SQL (migration 0012; kept by the mapper
    # events in hub/services/device_views.py whenever a device is stored): the problems its status shows
    # (a bit per code, STATUS_FLAGS), the programme version it has, and its id and name folded for search.
    flags: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    programme_version: Mapped[int | None] = mapped_column(Integer)
    search: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # The `$7$` hash of the broker password the hub issued (migration 0020; hub/broker_files.py), or None
    broker_secret: Mapped[str | None] = mapped_column(String(200))


class DeviceStateChange(Base):
    """A device going online or offline, as the hub saw it (its status, or its broker's last will): the raw
    event the availability figures are rolled up from (hub/services/rollups.py)."""

    __tablename__ = "device_state_changes"
    __table_args__ = (Index("ix_device_state_changes_device_at", "device_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    online: Mapped[bool] = mapped_column(Boolean)


class Play(Base):
    __tablename__ = "plays"
    __table_args__ = (
        Index("ix_plays_device_started", "device_id", "started_at"),
        Index("ix_plays_started_scheduled", "started_at", "scheduled_at"),  # the daily roll-up (0010)
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(120), unique=True)
    device_id: Mapped[str] = mapped_column(String(64))
    # the device's commune when the play was recorded: history keeps the unit it happened in (area_lineage)
    area_path: Mapped[str] = mapped_column(String(200), default="", server_default="", index=True)
    bulletin_id: Mapped[str] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(12))
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]


class DeviceEventRow(Base):
    """Events other than plays (rejected, recall_confirmed, command_result, error), stored once per id."""

    __tablename__ = "device_events"
    __table_args__ = (Index("ix_device_events_type_received_at", "type", "received_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(120), unique=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime | None]
    data: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]


class DeviceAnomaly(Base):
    """A report the hub did not believe (a play of a bulletin never sent to that device, a recall
    confirmation of one not recalled, an oversized or malformed message...): a bounded row, counted on the
    Thiết bị page; the report itself is not stored and changes nothing. Unique per (device, event id), so a
    redelivered report counts once."""

    __tablename__ = "device_anomalies"
    __table_args__ = (
        UniqueConstraint("device_id", "event_id"),
        Index("ix_device_anomalies_device_received_at", "device_id", "received_at"),
        Index("ix_device_anomalies_received_at", "received_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str | None] = mapped_column(String(120))  # None when the message could not be read
    event_type: Mapped[str] = mapped_column(String(20), default="")
    bulletin_id: Mapped[str] = mapped_column(String(40), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes of the message or event
    detail: Mapped[str] = mapped_column(String(300), default="")
    received_at: Mapped[datetime]


class RecallConfirmation(Base):
    __tablename__ = "recall_confirmations"
    __table_args__ = (UniqueConstraint("bulletin_id", "device_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[str] = mapped_column(String(40), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime]


class FirstSeenPlaying(Base):
    """The first status in which a device reported playing an emergency (agents send plays when they end)."""

    __tablename__ = "first_seen_playing"
    __table_args__ = (UniqueConstraint("bulletin_id", "device_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bulletin_id: Mapped[str] = mapped_column(String(40), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]  # the status's `at` (when playing began), kept between sending and receiving
    received_at: Mapped[datetime]


class Command(Base):
    __tablename__ = "commands"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    command: Mapped[str] = mapped_column(String(20))
    args: Mapped[dict[str, Any]]
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_at: Mapped[datetime]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Append-only: the services only ever insert here (kept >= 30 days, see docs/OPERATIONS.md)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(10), default="ok")  # ok | denied | failed
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]]


class HubSeq(Base):
    """The persisted, monotonic envelope seq (reserved in blocks)."""

    __tablename__ = "hub_seq"
    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class PublishIntent(Base):
    """What a committed change must publish (the transactional outbox, hub/services/intents.py): written in
    the change's transaction by any hub process, published by the leader, which stores the signed message
    before sending it (a re-publish after a failover is byte-identical) and sets done_at after the PUBACK."""

    __tablename__ = "publish_intents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # alert | recall | command | republish | areas
    params: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wire: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    topics: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


class AreaLineage(Base):
    """One step of a reorganisation (`python -m hub areas reorganise`): what became of an old unit. History
    (plays, audit) keeps the old path; this table reads it per old and per new unit."""

    __tablename__ = "area_lineage"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan: Mapped[str] = mapped_column(String(64))  # the plan's name (e.g. its resolution number)
    change: Mapped[str] = mapped_column(String(10))  # merge | split | move | rename | retire
    old_path: Mapped[str] = mapped_column(String(200), index=True)
    old_name: Mapped[str] = mapped_column(String(200))
    new_path: Mapped[str | None] = mapped_column(String(200), index=True)  # None: retired
    new_name: Mapped[str] = mapped_column(String(200), default="")
    effective: Mapped[str] = mapped_column(String(10))  # local date YYYY-MM-DD
    applied_at: Mapped[datetime]


class WindowRuleRow(Base):
    """Broadcast windows of an area and device kind from a date on (Art. 10.1): on the province, its
    defaults; on a district or commune, that area's own hours."""

    __tablename__ = "window_rules"
    __table_args__ = (UniqueConstraint("area_path", "kind", "effective_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_path: Mapped[str] = mapped_column(ForeignKey("areas.path"), index=True)
    kind: Mapped[str] = mapped_column(String(6))
    effective_from: Mapped[str] = mapped_column(String(10))  # local date YYYY-MM-DD
    windows: Mapped[list[Any]] = mapped_column(JSON)  # ["05:00-06:30", "17:00-18:30"]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime]


class OccasionWindowRow(Base):
    """Extra hours for the LED boards of an area on some days, for an important occasion (Art. 10.2)."""

    __tablename__ = "occasion_windows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_path: Mapped[str] = mapped_column(ForeignKey("areas.path"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    date_from: Mapped[str] = mapped_column(String(10))
    date_to: Mapped[str] = mapped_column(String(10))
    windows: Mapped[list[Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class RelayRow(Base):
    """Tiếp sóng: a higher-level station's stream relayed at a fixed time, on chosen days, to chosen areas
    (hub/services/relays.py). `areas` are area paths; `source` an http(s) URL or a mount of the province's
    stream server (/relay/NAME.mp3)."""

    __tablename__ = "relays"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(500))
    start: Mapped[str] = mapped_column(String(5))  # local HH:MM
    duration_s: Mapped[int] = mapped_column(Integer)
    days: Mapped[str] = mapped_column(String(10))  # daily | weekdays | dates
    dates: Mapped[list[Any]] = mapped_column(JSON)  # ["2026-12-01", ...] when days == "dates"
    areas: Mapped[list[Any]] = mapped_column(JSON)
    origin: Mapped[str] = mapped_column(String(10))  # the level of its widest area: ranks colliding relays
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CentralRequest(Base):
    """A CAP alert received from the central system (docs/CENTRAL.md), one row per (sender, identifier,
    sent): the same alert sent again is the same request. `outcome`: aired | pending | test | cancelled |
    updated (replaced by a later Update) | ignored (a System message)."""

    __tablename__ = "central_requests"
    __table_args__ = (UniqueConstraint("sender", "identifier", "sent"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str] = mapped_column(String(255))
    sent: Mapped[str] = mapped_column(String(40))  # ISO 8601 in UTC, normalised
    msg_type: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(12))
    bulletin_id: Mapped[str | None] = mapped_column(String(40), index=True)
    received_at: Mapped[datetime]
    air_at: Mapped[datetime | None]  # "confirm within N minutes, then air": when it airs unless cancelled
    cap_xml: Mapped[str] = mapped_column(Text)


class CentralNonce(Base):
    """Nonces of signed requests from the central system seen within the clock-skew window: a second
    request with the same nonce is a replay (refused)."""

    __tablename__ = "central_nonces"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(index=True)


class CentralOutbox(Base):
    """Reports to the central system (docs/CENTRAL.md), durable until the central peer took them: `key`
    is the idempotency key the peer sees (a report retried after a lost answer is the same report)."""

    __tablename__ = "central_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # bulletins | terminals | plays
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")


class HubSetting(Base):
    """A setting changed from the admin pages (e.g. the province's default voice), JSON-encoded."""

    __tablename__ = "hub_settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
