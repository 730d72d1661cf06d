"""Devices (loudspeaker clusters, LED boards): registry, status, commands, and what they report."""

from __future__ import annotations

import builtins  # the class's list() method hides the built-in list in its own annotations
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.broker import clashes_with_hub, hash_password, hub_names, new_secret
from hub.errors import Conflict, Invalid, NotFound
from hub.limits import NAME_MAX, check_len
from hub.models import (
    Bulletin,
    Command,
    Device,
    DeviceEventRow,
    DeviceStateChange,
    Play,
    PublishedProgramme,
    RecallConfirmation,
)
from hub.roles import SYSTEM, Actor
from hub.services import device_list, reports
from hub.services.areas import AreaService
from hub.services.base import Context, new_id, require
from hub.services.deliveries import optional_time, record_first_playing
from hub.services.device_list import DeviceFilter
from hub.services.device_views import (
    COMMAND_TTL,
    DISK_LOW_MB,
    HOT_C,
    OUTBOX_BACKLOG,
    PROGRAMME_LATE_AFTER,
    REJECTED_WITHIN,
    SILENT_AFTER,
    Published,
    command_dict,
    device_dict,
    is_online,
    play_dict,
)
from hub.services.lifecycle import move
from hub.services.reorganise import old_paths
from protocol.messages import COMMANDS
from protocol.topics import covers, validate_device_id
from protocol.vocabulary import DEVICE_KINDS, BulletinStatus

log = logging.getLogger(__name__)
__all__ = [
    "COMMAND_TTL",
    "DISK_LOW_MB",
    "HOT_C",
    "OUTBOX_BACKLOG",
    "PROGRAMME_LATE_AFTER",
    "REJECTED_WITHIN",
    "SILENT_AFTER",
    "DeviceService",
]


def _degrees(value: Any, most: float) -> float | None:
    """A coordinate a device may report: a finite number of degrees within +-most; None otherwise."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and -most <= value <= most
    return float(value) if ok else None


# Vietnam's mainland and islands (Hoàng Sa, Trường Sa) with a margin: a coordinate outside is a typo (latitude
# and longitude swapped, a minus sign) or a GPS without a fix (0, 0)
VIETNAM_LAT, VIETNAM_LON = (6.0, 23.5), (102.0, 117.5)


def in_vietnam(lat: float, lon: float) -> bool:
    return VIETNAM_LAT[0] <= lat <= VIETNAM_LAT[1] and VIETNAM_LON[0] <= lon <= VIETNAM_LON[1]


def check_in_vietnam(lat: float, lon: float) -> None:
    """Invalid, saying what to fix, unless (lat, lon) is in Vietnam."""
    if not in_vietnam(lat, lon):
        raise Invalid(
            f"Tọa độ ({lat}, {lon}) nằm ngoài Việt Nam: vĩ độ phải từ {VIETNAM_LAT[0]:g} đến "
            f"{VIETNAM_LAT[1]:g}, kinh độ từ {VIETNAM_LON[0]:g} đến {VIETNAM_LON[1]:g} (độ thập phân, ví dụ "
            "12.0045, 107.6903). "
            "Kiểm tra xem vĩ độ và kinh độ có bị đổi chỗ không.",
            field="lat" if not VIETNAM_LAT[0] <= lat <= VIETNAM_LAT[1] else "lon",
        )


class DeviceService:
    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx, self.areas = ctx, areas

    def register(
        self,
        actor: Actor,
        *,
        device_id: str,
        kind: str,
        area: str,
        name: str = "",
        lat: float | None = None,
        lon: float | None = None,
    ) -> dict[str, Any]:
        try:
            validate_device_id(device_id)
        except ValueError as exc:
            raise Invalid(str(exc), field="id") from None
        mqtt = self.ctx.config.mqtt
        taken = clashes_with_hub(device_id, hub_names(hub_user=mqtt.username, client_id=mqtt.client_id))
        if taken:
            raise Invalid(
                f"Mã thiết bị '{device_id}' trùng với tên của máy chủ trên MQTT broker ('{taken}'): "
                "một thiết bị mang tên này có thể ngắt kết nối của máy chủ. Hãy đặt mã khác, "
                "ví dụ 'loa-<mã xã>-1'.",
                field="id",
            )
        if kind not in DEVICE_KINDS:
            raise Invalid("kind phải là 'radio' hoặc 'led'.", field="kind")
        check_len(name, NAME_MAX, "name", "Tên thiết bị")
        self.areas.get(area)
        if not self.areas.is_leaf(area):
            raise Invalid(f"'{area}' không phải cấp xã; thiết bị gắn với một xã.", field="area")
        require(actor, "device.manage", device_id, area=area)
        with self.ctx.tx(actor) as sess:
            if sess.get(Device, device_id) is not None:
                raise Conflict(f"Thiết bị '{device_id}' đã có.", field="id")
            if (lat is None) != (lon is None):
                raise Invalid(
                    "Tọa độ cần cả vĩ độ (lat) và kinh độ (lon).", field="lat" if lat is None else "lon"
                )
            if lat is not None and lon is not None:
                check_in_vietnam(lat, lon)
            # With managed broker files the hub issues the device's broker password (shown once)
            secret = new_secret() if self.ctx.config.broker_files.enabled else ""
            d = Device(id=device_id, kind=kind, area_path=area, name=name, state="unknown",
                       created_at=self.ctx.now(), lat=lat, lon=lon,
                       broker_secret=hash_password(secret) if secret else None)
            sess.add(d)
            self.ctx.audit(sess, actor, "device.add", device_id, detail={"kind": kind, "area": area})
            return device_dict(d) | ({"broker_password": secret} if secret else {})

    def list(self, actor: Actor, *, area: str | None = None) -> list[dict[str, Any]]:
        require(actor, "read")
        now = self.ctx.now()
        with self.ctx.db.session() as sess:
            rows = sess.scalars(select(Device).order_by(Device.area_path, Device.id)).all()
            published: Published = {
                (area, kind): (version, at)
                for area, kind, version, at in sess.execute(
                    select(
                        PublishedProgramme.area_path,
                        PublishedProgramme.kind,
                        PublishedProgramme.version,
                        PublishedProgramme.published_at,
                    )
                )
            }
            rejections: dict[str, list[str]] = {}
            for dev, data in sess.execute(
                select(DeviceEventRow.device_id, DeviceEventRow.data).where(
                    DeviceEventRow.type == "rejected", DeviceEventRow.received_at >= now - REJECTED_WITHIN
                )
            ):
                reason = data.get("reason") if isinstance(data, dict) else None
                rejections.setdefault(dev, []).append(str(reason or "?"))
            anomalies = reports.anomalies_by_device(sess, now - REJECTED_WITHIN)
            return [
                device_dict(d, now, published, rejections, anomalies)
                for d in rows
                if actor.covers(d.area_path) and (not area or covers(area, d.area_path))
            ]

    def map_points(self, actor: Actor, area: str = "") -> builtins.list[dict[str, Any]]:
        """The map's devices of the actor's area (and `area`), states read in SQL (device_list.map_points)."""
        require(actor, "read")
        with self.ctx.db.session() as sess:
            return device_list.map_points(sess, actor, area, self.ctx.now())

    def page(
        self,
        actor: Actor,
        f: DeviceFilter,
        *,
        sort: str = "attention",
        desc: bool = False,
        page_no: int = 1,
        per_page: int = 50,
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        """A page of the actor's devices that `f` selects (counted, sorted, cut in SQL), and the total."""
        require(actor, "read")
        names = {p: a.name for p, a in self.areas.all().items()}
        with self.ctx.db.session() as sess:
            return device_list.page(
                sess,
                actor,
                f,
                self.ctx.now(),
                names,
                sort=sort,
                desc=desc,
                page_no=page_no,
                per_page=per_page,
            )

    def count_by_area(self, actor: Actor) -> dict[str, tuple[int, int, int]]:
        """Area path -> (devices, online, needing attention) of the actor's areas with devices."""
        require(actor, "read")
        with self.ctx.db.session() as sess:
            return device_list.count_by_area(sess, actor, self.ctx.now())

    def locate(self, actor: Actor, device_id: str, *, lat: float, lon: float) -> dict[str, Any]:
        """Set where a device stands (the map, Bản đồ): WGS84 degrees, within Vietnam (check_in_vietnam)."""
        with self.ctx.tx(actor) as sess:
            d = sess.get(Device, device_id)
            if d is None or not actor.covers(d.area_path):
                raise NotFound(f"Không có thiết bị '{device_id}'.", field="device")
            require(actor, "device.manage", device_id, area=d.area_path)
            check_in_vietnam(lat, lon)
            d.lat, d.lon = lat, lon
            self.ctx.audit(sess, actor, "device.locate", device_id, detail={"lat": lat, "lon": lon})
            return device_dict(d, self.ctx.now())

    def get(self, actor: Actor, device_id: str) -> Device:
        with self.ctx.db.session() as sess:
            d = sess.get(Device, device_id)
            if d is None or not actor.covers(d.area_path):
                raise NotFound(f"Không có thiết bị '{device_id}'.", field="device")
            return d

    def command(self, actor: Actor, device_id: str, command: str, args: dict[str, Any]) -> dict[str, Any]:
        """Record the command; the caller publishes it (PublishingService.publish_command)."""
        if command not in COMMANDS:
            raise Invalid(
                f"Lệnh '{command}' không có; dùng một trong {', '.join(COMMANDS)}.", field="command"
            )
        if command == "set_area":
            raise Invalid(
                "Lệnh set_area do máy chủ tự gửi khi địa bàn được sắp xếp lại (python -m hub areas "
                "reorganise); thiết bị nhận khu vực đã đăng ký của nó.",
                field="command",
                code="hub_only",
            )
        if command == "volume":
            level = args.get("level")
            if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
                raise Invalid("Âm lượng (args.level) là số nguyên từ 0 đến 100.", field="args.level")
            args = {"level": level}
        else:
            args = {}
        with self.ctx.tx(actor) as sess:
            d = sess.get(Device, device_id)
            if d is None:
                raise NotFound(f"Không có thiết bị '{device_id}'.", field="device")
            require(actor, "device.command", device_id, area=d.area_path)
            now = self.ctx.now()
            c = Command(
                id=new_id("c"),
                device_id=device_id,
                command=command,
                args=args,
                issued_by=actor.user_id,
                issued_at=now,
            )
            sess.add(c)
            self.ctx.audit(
                sess, actor, "device.command", device_id, detail={"command": command, "args": args}
            )
            expires = (now + COMMAND_TTL).isoformat()
            self.ctx.intend(sess, "command", {"device": device_id, "command": command, "args": args,
                                              "id": c.id, "expires_at": expires})
            return {
                "id": c.id,
                "device_id": device_id,
                "command": command,
                "args": args,
                "issued_at": now.isoformat(),
                "expires_at": expires,
            }

    def area_command(self, device_id: str) -> dict[str, Any] | None:
        """Record a `set_area` command carrying the device's registered commune (after a reorganisation, or
        when its status names another one); None for a device no longer registered."""
        with self.ctx.tx(SYSTEM) as sess:
            d = sess.get(Device, device_id)
            if d is None:
                return None
            now = self.ctx.now()
            c = Command(
                id=new_id("c"),
                device_id=device_id,
                command="set_area",
                args={"area": d.area_path},
                issued_by=None,
                issued_at=now,
            )
            sess.add(c)
            self.ctx.audit(
                sess, SYSTEM, "device.command", device_id, detail={"command": "set_area", "args": c.args}
            )
            return {
                "id": c.id,
                "device_id": device_id,
                "command": "set_area",
                "args": dict(c.args),
                "issued_at": now.isoformat(),
                "expires_at": (now + COMMAND_TTL).isoformat(),
            }

    # --- ingest (from MQTT)
    def ingest_status(self, device_id: str, data: Any) -> tuple[str, ...]:
        return self.ingest_statuses({device_id: data})

    def ingest_statuses(self, latest: dict[str, Any]) -> tuple[str, ...]:
        """Store the latest status of each device, all in one transaction (an emergency moves them all).
        Returns the online devices whose status names another commune than the registered one (moved by a
        reorganisation while they were away): the caller sends them `set_area`."""
        latest = {k: v for k, v in latest.items() if isinstance(v, dict)}
        if not latest:
            return ()
        with self.ctx.db.session() as sess, sess.no_autoflush:
            # one SELECT for the batch, not one per device (each get() would also flush the previous update)
            ids = list(latest)
            known = {
                d.id: d
                for i in range(0, len(ids), 500)
                for d in sess.scalars(select(Device).where(Device.id.in_(ids[i : i + 500])))
            }
            kept = {k: v for k, v in latest.items() if self._status(sess, k, v, known.get(k))}
            record_first_playing(sess, self._believed_playing(sess, kept, known), self.ctx.now())
            return tuple(
                sorted(
                    k
                    for k, v in kept.items()
                    if k in known and v.get("state") != "offline" and v.get("area") != known[k].area_path
                )
            )

    def _believed_playing(
        self, sess: Session, statuses: dict[str, dict[str, Any]], known: dict[str, Device]
    ) -> dict[str, dict[str, Any]]:
        """The statuses whose `now_playing` emergency was sent to that device; another one is counted once
        per (device, emergency) as an anomaly and proves no delivery (the status itself is kept: it is the
        device's state)."""
        check, now, out = reports.SentCheck(sess), self.ctx.now(), {}
        for dev, st in statuses.items():
            bid = str(st.get("now_playing") or "")[:40]
            b = check.bulletin(bid) if bid and st.get("state") != "offline" else None
            why = check.why_not(bid, known.get(dev)) if b is not None and b.priority == "emergency" else ""
            if why:
                size = reports.event_size(st)
                reports.record(
                    sess,
                    dev,
                    reports.Anomaly("status_not_sent", why, f"status:{bid}", "status", bid, size),
                    now,
                )
                continue
            out[dev] = st
        return out

    def _status(self, sess: Session, device_id: str, data: dict[str, Any], d: Device | None) -> bool:
        """Store one status; False when it was ignored (an unknown device claiming an unknown area)."""
        if d is None:  # an unregistered device: remember it so an operator sees it, under its claimed area
            area = str(data.get("area") or "")
            if area not in self.areas.all():
                log.warning("status from unknown device %s (area %r) ignored", device_id, area)
                return False
            d = Device(
                id=device_id,
                kind=str(data.get("kind") or "radio"),
                area_path=area,
                name="",
                state="unknown",
                created_at=self.ctx.now(),
            )
            sess.add(d)
        was_online = is_online(d.state)
        d.state = str(data.get("state") or "unknown")[:12]
        d.last_status = data
        d.last_seen = self.ctx.now()
        if is_online(d.state) != was_online:  # the raw event of the availability figures (rollups.py)
            sess.add(DeviceStateChange(device_id=d.id, at=d.last_seen, online=not was_online))
        lat, lon = _degrees(data.get("lat"), 90), _degrees(data.get("lon"), 180)
        # staff's coordinates win (the map); a report outside Vietnam (a GPS without a fix) is not believed
        if d.lat is None and lat is not None and lon is not None and in_vietnam(lat, lon):
            d.lat, d.lon = lat, lon
        return True

    def ingest_events(self, device_id: str, payload: Any, *, size: int = 0) -> int:
        """Store each event once (idempotent on its id) if the hub believes it (hub/services/reports.py);
        anything else is a bounded anomaly row. Returns how many events were new and believed."""
        events = payload if isinstance(payload, list) else [payload]
        if len(events) > reports.MAX_EVENTS_PER_MESSAGE:
            self.record_anomaly(
                device_id, reports.Anomaly("too_many", f"{len(events)} events in one message", size=size)
            )
            return 0
        new = 0
        for ev in events:
            bad = reports.screen_event(ev)
            if bad is not None:
                self.record_anomaly(device_id, bad)
                continue
            try:
                with self.ctx.db.session() as sess:
                    if self._store(sess, device_id, ev):
                        new += 1
            except IntegrityError:
                continue  # already stored: a redelivery
        return new

    def record_anomaly(self, device_id: str, anomaly: reports.Anomaly) -> bool:
        """A report not believed, or a message not read (too big, not JSON): one bounded row."""
        with self.ctx.db.session() as sess:
            return reports.record(sess, device_id, anomaly, self.ctx.now())

    def _store(self, sess: Session, device_id: str, ev: dict[str, Any]) -> bool:
        eid, typ, data = str(ev["id"])[:120], str(ev["type"]), dict(ev.get("data") or {})
        now = self.ctx.now()
        if sess.scalar(select(Play.id).where(Play.event_id == eid)) or sess.scalar(
            select(DeviceEventRow.id).where(DeviceEventRow.event_id == eid)
        ):
            return False
        bid = str(data.get("bulletin_id") or "")[:40]
        command = (
            self._command_for(sess, device_id, data, optional_time(ev.get("at")) or now)
            if typ == "command_result"
            else None
        )
        device = sess.get(Device, device_id)
        refused = self._disbelief(sess, device, typ, bid, data, command=command)
        if refused is not None:
            why = reports.Anomaly(*refused, eid, typ, bid, reports.event_size(ev))
            reports.record(sess, device_id, why, now)
            return False
        if typ == "play":
            sess.add(
                Play(
                    event_id=eid,
                    device_id=device_id,
                    area_path=device.area_path if device is not None else "",
                    bulletin_id=bid,
                    outcome=str(data.get("outcome") or "")[:12],
                    scheduled_at=optional_time(data.get("scheduled_at")),
                    started_at=optional_time(data.get("started_at")),
                    ended_at=optional_time(data.get("ended_at")),
                    emergency=bool(data.get("emergency")),
                    exercise=bool(data.get("exercise")),
                    data=data,
                    received_at=now,
                )
            )
            b = sess.get(Bulletin, bid)
            if b is not None and b.status == BulletinStatus.APPROVED:
                move(b, BulletinStatus.ON_AIR)
            return True
        if typ == "rejected":
            data = reports.bounded_rejection(data)
        sess.add(
            DeviceEventRow(
                event_id=eid,
                device_id=device_id,
                type=typ[:20],
                at=optional_time(ev.get("at")),
                data=data,
                received_at=now,
            )
        )
        if typ == "recall_confirmed":
            exists = sess.scalar(
                select(RecallConfirmation.id).where(
                    RecallConfirmation.bulletin_id == bid, RecallConfirmation.device_id == device_id
                )
            )
            if not exists:
                sess.add(
                    RecallConfirmation(
                        bulletin_id=bid, device_id=device_id, confirmed_at=optional_time(ev.get("at")) or now
                    )
                )
        elif typ == "command_result" and command is not None:
            command.result, command.result_at = data, now
        elif typ == "rejected":
            self.ctx.audit(sess, SYSTEM, "device.rejected", device_id, outcome="failed", detail=data)
        return True

    @staticmethod
    def _disbelief(
        sess: Session,
        device: Device | None,
        typ: str,
        bid: str,
        data: dict[str, Any],
        *,
        command: Command | None,
    ) -> tuple[str, str] | None:
        """(anomaly code, why) when the hub does not believe this report (hub/services/reports.py)."""
        if typ == "play" and data.get("relay") is True:  # tiếp sóng: a relay of the device's commune
            why = reports.relay_not_sent(sess, bid, device)
            return ("not_sent", why) if why else None
        if typ == "play":
            check = reports.SentCheck(sess)
            why = check.why_not(bid, device) or reports.language_not_sent(check.bulletin(bid), data)
            return ("not_sent", why) if why else None
        if typ == "recall_confirmed":
            why = reports.SentCheck(sess).why_not(bid, device, statuses=("recalled",))
            return ("not_recalled", why) if why else None
        if typ == "command_result" and command is None:
            asked = f"{str(data.get('command_id') or '')[:40]!r} ({str(data.get('command') or '')[:20]})"
            return ("unknown_command", f"no command {asked} issued to this device")
        return None

    @staticmethod
    def _command_for(sess: Session, device_id: str, data: dict[str, Any], at: datetime) -> Command | None:
        """The command an answer belongs to: by command_id when the agent sends it, else the oldest
        unanswered command of that name still valid when the agent acted (agents drop expired ones)."""
        cmd_id = str(data.get("command_id") or "")
        if cmd_id:
            c = sess.get(Command, cmd_id)
            return c if c is not None and c.device_id == device_id else None
        return sess.scalar(
            select(Command)
            .where(
                Command.device_id == device_id,
                Command.command == str(data.get("command")),
                Command.result.is_(None),
                Command.issued_at >= at - COMMAND_TTL,
                Command.issued_at <= at + timedelta(seconds=5),
            )  # clocks differ a little
            .order_by(Command.issued_at, Command.id)
            .limit(1)
        )

    # --- reading
    def commands(self, actor: Actor, device_id: str, *, limit: int = 50) -> builtins.list[dict[str, Any]]:
        """The device's recent commands, newest first, with the agent's answer once it came."""
        require(actor, "read")
        with self.ctx.db.session() as sess:
            d = sess.get(Device, device_id)
            if d is None or not actor.covers(d.area_path):
                raise NotFound(f"Không có thiết bị '{device_id}'.", field="device")
            q = (
                select(Command)
                .where(Command.device_id == device_id)
                .order_by(Command.issued_at.desc(), Command.id)
            )
            return [command_dict(c) for c in sess.scalars(q.limit(min(limit, 500)))]

    def plays(
        self,
        actor: Actor,
        *,
        bulletin: str | None = None,
        device: str | None = None,
        area: str | None = None,
        limit: int = 500,
        offset: int = 0,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> builtins.list[dict[str, Any]]:
        require(actor, "read")
        if not bulletin and not device and not area and since is None:
            raise Invalid(
                "Cần lọc theo bulletin=<id>, device=<id>, area=<khu vực> hoặc một khoảng thời gian.",
                field="bulletin",
            )
        with self.ctx.db.session() as sess:
            q = select(Play).order_by(Play.started_at, Play.id)
            if bulletin:
                q = q.where(Play.bulletin_id == bulletin)
            if device:
                q = q.where(Play.device_id == device)
            if area:  # the unit and the old units it came from (a reorganisation keeps plays where they were)
                units = old_paths(sess, area)
                q = q.where(
                    or_(
                        *(Play.area_path == u for u in units),
                        *(Play.area_path.startswith(u + "/", autoescape=True) for u in units),
                    )
                )
            if since is not None:  # the web play log searches by day
                q = q.where(Play.started_at >= since)
            if until is not None:
                q = q.where(Play.started_at < until)
            rows = sess.scalars(q.limit(limit).offset(offset)).all()
            areas = {
                d.id: d.area_path
                for d in sess.scalars(select(Device).where(Device.id.in_({r.device_id for r in rows})))
            }
            return [
                play_dict(p)
                for p in rows
                if actor.covers(areas.get(p.device_id, "")) or actor.area_path is None
            ]
