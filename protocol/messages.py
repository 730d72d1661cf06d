"""Bodies carried inside signed envelopes, and the agent's reports (docs/PROTOCOL.md).

Plain frozen dataclasses with `to_dict` / `from_dict`; times are ISO 8601 strings with offset on the
wire, durations are integer milliseconds (canonical JSON carries no floats).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any, cast

# Priorities, origins, device kinds and play outcomes are spelled once, in protocol/vocabulary.py.
# What an agent does with an item an emergency interrupted.
AFTER_INTERRUPT = ("restart", "resume", "drop")
ALERT_MSG_TYPES = ("Alert", "Update", "Cancel")
ALERT_STATUS = ("Actual", "Exercise")
# set_area: the hub moves a device to its commune's new area path after a reorganisation (docs/PROTOCOL.md)
COMMANDS = ("volume", "stop", "resync", "test_tone", "report", "set_area")


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_LEAVES = frozenset({str, int, bool, type(None)})


def asdict(obj: Any) -> Any:
    """dataclasses.asdict for these messages, without its deep copies (every leaf here is immutable: str,
    int, bool, None): an agent stores each alert and programme it accepts, and a Pi feels the difference."""
    cls = type(obj)
    if cls in _LEAVES:
        return obj
    names = _FIELD_NAMES.get(cls)
    if names is None:
        if cls is list or cls is tuple:
            return [asdict(v) for v in obj]
        if cls is dict:
            return {k: asdict(v) for k, v in obj.items()}
        if not is_dataclass(obj):
            return obj
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(obj))
    return {n: asdict(getattr(obj, n)) for n in names}


def _dict(obj: Any) -> dict[str, Any]:
    return cast(dict[str, Any], asdict(obj))


def _pick(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = cls.__dataclass_fields__.keys()  # type: ignore[attr-defined]
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class MediaRef:
    """A media file the agent must fetch from the hub over HTTP and check against sha256."""

    sha256: str
    size: int
    url: str  # absolute, or relative to the hub's base URL ("/media/<sha256>")
    mime: str = "audio/mpeg"
    duration_ms: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaRef:
        return cls(**_pick(cls, data))


@dataclass(frozen=True)
class Repeat:
    """CAP-like repeat: `count` plays `interval_s` apart, then every `then_every_s` (0: never)."""

    count: int = 1
    interval_s: int = 0
    then_every_s: int = 0


@dataclass(frozen=True)
class LanguageVersion:
    """A bản tiếng dân tộc: the bulletin again in a local language (ISO 639-3 `code`), an audio file."""

    code: str
    name: str
    media: MediaRef

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LanguageVersion:
        if not isinstance(data, dict) or not isinstance(data.get("media"), dict):
            raise TypeError("a language version is an object with code, name and media")
        code = str(data["code"])
        return cls(code, str(data.get("name") or code), MediaRef.from_dict(data["media"]))


@dataclass(frozen=True)
class BulletinInfo:
    """What an agent needs to know of a bulletin to play or show it."""

    id: str
    title: str
    priority: str
    origin: str
    form: str  # text | audio | image | infographic | video
    duration_ms: int
    valid_from: str | None = None
    valid_until: str | None = None
    text: str | None = None  # LED boards show it; radio has the spoken media
    media: MediaRef | None = None  # radio audio, or LED image/video
    subtitles: MediaRef | None = None  # WebVTT for LED video
    after_interrupt: str = "restart"
    exercise: bool = False
    # Emergencies only: how the alert repeats, so an agent that learns of it from the retained programme
    # (a late joiner) repeats it like one that got the alert (addition to the contract, optional).
    repeat: Repeat | None = None
    # (addition) the language versions this commune plays after `media`, in order (docs/PROTOCOL.md,
    # "Language versions"); `duration_ms` counts them all. An agent that predates them plays `media` only.
    languages: list[LanguageVersion] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BulletinInfo:
        d = _pick(cls, data)
        for key in ("media", "subtitles"):
            if d.get(key) is not None:
                d[key] = MediaRef.from_dict(d[key])
        if d.get("repeat") is not None:
            d["repeat"] = Repeat(**_pick(Repeat, d["repeat"]))
        d["languages"] = [LanguageVersion.from_dict(v) for v in d.get("languages") or []]
        return cls(**d)


@dataclass(frozen=True)
class ProgrammeItem:
    bulletin_id: str
    start: str
    end: str
    window: str  # "05:00-06:30"
    play: int = 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgrammeItem:
        return cls(**_pick(cls, data))


@dataclass(frozen=True)
class WindowSpan:
    """One broadcast window of a programme day as real instants; `end` may be on the next day."""

    label: str  # "21:00-01:00", as ProgrammeItem.window names it
    start: str  # ISO 8601 with offset
    end: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WindowSpan:
        return cls(str(data["label"]), str(data["start"]), str(data["end"]))


RELAY_URL_MAX = 500  # a relay's source URL (the hub refuses longer; an agent refuses a programme with one)
RELAY_TITLE_MAX = 200


@dataclass(frozen=True)
class RelayEntry:
    """Tiếp sóng: play the stream at `url` from `start` to `end` (a fixed time inside `window`). For a mount
    of the province's own stream server `token` opens it (HTTP basic auth: device id and token) until
    `token_expires`; a URL of another station has none. docs/PROTOCOL.md, "Relays"."""

    relay_id: str
    title: str
    url: str
    start: str  # ISO 8601 with offset
    end: str
    window: str
    token: str = ""
    token_expires: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RelayEntry:
        e = cls(**{k: str(v) for k, v in _pick(cls, data).items()})
        if not e.relay_id or len(e.relay_id) > 40:
            raise ValueError("relay_id must be 1-40 characters")
        if len(e.title) > RELAY_TITLE_MAX:
            raise ValueError(f"relay title longer than {RELAY_TITLE_MAX} characters")
        if len(e.url) > RELAY_URL_MAX or not e.url.startswith(("http://", "https://")):
            raise ValueError(f"relay url must be http(s) and at most {RELAY_URL_MAX} characters")
        if any(c.isspace() or ord(c) < 32 for c in e.url) or "@" in e.url.split("/", 3)[2]:
            raise ValueError("relay url must not hold spaces, control characters or credentials")
        if datetime.fromisoformat(e.end) <= datetime.fromisoformat(e.start):
            raise ValueError("relay end must be after its start")
        return e


@dataclass(frozen=True)
class ProgrammeDay:
    date: str  # YYYY-MM-DD local
    # The day's windows as agents before window_spans parse them: "HH:MM-HH:MM", none crossing midnight
    # (the hub cuts such a window at 23:59 and adds its morning part from 00:00).
    windows: list[str]  # ["05:00-06:30", "17:00-18:30"]
    items: list[ProgrammeItem]
    # The windows in force for this commune, kind and day (Art. 10: its own hours, occasions for LED).
    # Empty from a hub that predates them: the agent then uses `windows`.
    window_spans: list[WindowSpan] = field(default_factory=list)
    # Relays at fixed times (tiếp sóng); agents before them drop the key (docs/PROTOCOL.md, "Relays").
    relays: list[RelayEntry] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgrammeDay:
        return cls(
            data["date"],
            list(data["windows"]),
            [ProgrammeItem.from_dict(i) for i in data["items"]],
            [WindowSpan.from_dict(w) for w in data.get("window_spans") or []],
            [RelayEntry.from_dict(r) for r in data.get("relays") or []],
        )


@dataclass(frozen=True)
class ProgrammeBody:
    """Retained on area/<commune>/program/<kind>: several days ahead so an agent rides out outages."""

    area: str
    kind: str
    version: int
    timezone: str
    days: list[ProgrammeDay]
    bulletins: list[BulletinInfo]  # every bulletin referenced by the days, plus active emergencies
    emergencies: list[str] = field(default_factory=list)  # ids of emergencies active for this area
    recalled: list[str] = field(default_factory=list)  # ids recalled recently: remove, confirm, never play

    def to_dict(self) -> dict[str, Any]:
        return _dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProgrammeBody:
        return cls(
            area=data["area"],
            kind=data["kind"],
            version=int(data["version"]),
            timezone=data["timezone"],
            days=[ProgrammeDay.from_dict(d) for d in data["days"]],
            bulletins=[BulletinInfo.from_dict(b) for b in data["bulletins"]],
            emergencies=list(data.get("emergencies", [])),
            recalled=list(data.get("recalled", [])),
        )


@dataclass(frozen=True)
class AlertBody:
    """On area/<path>/alert (QoS 1, message expiry). msg_type Cancel stops `identifier` at once."""

    identifier: str  # the bulletin id
    msg_type: str  # Alert | Update | Cancel
    status: str  # Actual | Exercise
    sent: str
    expires: str
    areas: list[str]
    bulletin: BulletinInfo | None = None  # absent on Cancel
    repeat: Repeat = field(default_factory=Repeat)
    # (addition) the names of `areas`, same order, for people reading an LED board ("Huyện X", not "67/660")
    area_names: list[str] = field(default_factory=list)
    # (addition) the compact copy of bulletin.media (Ogg/Opus) that rides in the envelope's attachments:
    # an agent that stores it plays it in place of bulletin.media; absent: the audio attached, if any, is
    # bulletin.media itself (docs/PROTOCOL.md, "Attachments")
    alert_audio: MediaRef | None = None

    def to_dict(self) -> dict[str, Any]:
        d = _dict(self)
        if self.alert_audio is None:
            del d["alert_audio"]  # the body of an alert without it is the one previous releases signed
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertBody:
        d = _pick(cls, data)
        if d.get("bulletin") is not None:
            d["bulletin"] = BulletinInfo.from_dict(d["bulletin"])
        if d.get("alert_audio") is not None:
            if not isinstance(d["alert_audio"], dict):
                raise TypeError("alert_audio must be an object (a media reference)")
            d["alert_audio"] = MediaRef.from_dict(d["alert_audio"])
        d["repeat"] = Repeat(**_pick(Repeat, d.get("repeat") or {}))
        d["areas"] = list(d.get("areas", []))
        d["area_names"] = [str(n) for n in d.get("area_names") or []]
        return cls(**d)


@dataclass(frozen=True)
class CommandBody:
    """On device/<id>/cmd. args: volume {"level": 0-100}; others none."""

    command: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommandBody:
        return cls(data["command"], dict(data.get("args") or {}))


@dataclass(frozen=True)
class RecallBody:
    """Envelope type 'recall' on the area's alert topic: remove these bulletins and confirm."""

    bulletin_ids: list[str]
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecallBody:
        return cls(list(data["bulletin_ids"]), str(data.get("reason", "")))


LIVE_ACTIONS = ("start", "stop")
LIVE_PRIORITIES = ("emergency", "priority")


@dataclass(frozen=True)
class LiveBody:
    """Envelope type 'live' on the alert topic of each target area: play (`start`) or end (`stop`) a live
    announcement streamed from the province's stream server. The hub repeats `start` with a fresh listening
    token while the session lasts (late joiners and reconnects need one); the token opens `stream_url` only
    (HTTP basic auth: the device id as user name, the token as password) until `token_expires`."""

    session_id: str  # also the id of the bulletin that keeps its recording
    action: str  # start | stop
    priority: str = "emergency"  # emergency: at any hour; priority: inside the broadcast windows
    title: str = ""
    stream_url: str = ""
    token: str = ""
    token_expires: str = ""
    areas: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LiveBody:
        text = {k: str(v) for k, v in _pick(cls, data).items() if k != "areas"}
        body = cls(**text, areas=[str(a) for a in data.get("areas") or []])
        if body.action not in LIVE_ACTIONS:
            raise ValueError(f"live action {body.action!r} must be one of {', '.join(LIVE_ACTIONS)}")
        if body.priority not in LIVE_PRIORITIES:
            raise ValueError(f"live priority {body.priority!r} must be one of {', '.join(LIVE_PRIORITIES)}")
        if not body.session_id or len(body.session_id) > 40:
            raise ValueError("live session_id must be 1-40 characters")
        if body.action == "start" and not (body.stream_url.startswith(("http://", "https://"))
                                           and body.token and body.token_expires):
            raise ValueError("a live start needs an http(s) stream_url, a token and token_expires")
        return body


# --- agent -> hub (not signed by the hub; the broker ACL ties a device to its own topics) ---

EVENT_TYPES = ("play", "rejected", "recall_confirmed", "command_result", "error")


@dataclass(frozen=True)
class DeviceEvent:
    """On device/<id>/event, QoS 1. `id` is idempotent: the hub stores each id once.

    type "play": data has bulletin_id, outcome (PlayOutcome), scheduled_at, started_at, ended_at,
    sha256, volume, relay_on, offset_ms, emergency (bool), interrupted_by (id or null).
    type "rejected": data has reason (REJECT_REASONS), detail, topic.
    type "recall_confirmed": data has bulletin_id.
    type "command_result": data has command, ok, detail.
    type "error": data has code, detail.
    """

    id: str
    device_id: str
    type: str
    at: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return _dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceEvent:
        return cls(
            str(data["id"]),
            str(data["device_id"]),
            str(data["type"]),
            str(data["at"]),
            dict(data.get("data") or {}),
        )


@dataclass(frozen=True)
class DeviceStatus:
    """Retained on device/<id>/status; the last will sets state 'offline'."""

    device_id: str
    kind: str
    state: str  # offline | idle | window | playing | emergency
    at: str
    area: str = ""
    now_playing: str | None = None
    volume: int = 0
    clock: str = "unknown"  # synced | hub | always (trusted by config) | unsynced | unknown
    programme_version: int = 0
    software: str = ""
    disk_free_mb: int | None = None
    temperature_c: int | None = None
    outbox: int = 0
    rejected: int = 0
    # When what `now_playing` names started here (ISO 8601; None when nothing plays). A status is sent up
    # to STATUS_DEBOUNCE_S after the change, so `at` is not the start: the hub times emergencies by this.
    playing_since: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeviceStatus:
        return cls(**_pick(cls, data))
