"""What a device reports, checked against what the hub sent it (docs/SECURITY.md,
"Device reports checked": what a device reports is believed only for what was sent to it).

A play is believed only for a bulletin that was published (approved, and not a draft or one in review) for
that device: one of its targets covers the device's commune and its kinds include the device's kind. A
recall confirmation only for a bulletin recalled and sent to that device; a command's answer only for a
command issued to that device; a status saying an emergency is playing only for one sent to it. Every
message and every event is bounded in size. Anything else becomes a **device anomaly**: one bounded row
(hub.models.DeviceAnomaly), counted on the Thiết bị page, and nothing else changes (no play, no bulletin
state, no audit row).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.models import Bulletin, BulletinTarget, Device, DeviceAnomaly, RelayRow
from protocol.topics import covers

log = logging.getLogger(__name__)

MAX_EVENTS_MESSAGE_BYTES = 256 * 1024  # one MQTT message of events (an agent's backlog batch is 50 events)
MAX_EVENTS_PER_MESSAGE = 100
MAX_EVENT_BYTES = 8 * 1024  # one event as JSON (a play is ~600 bytes, a `rejected` detail at most 500 chars)
MAX_STATUS_BYTES = 16 * 1024  # a status is ~1 KB
ANOMALIES_KEPT = 500  # rows per device per ANOMALY_WINDOW; beyond, only logged (a flood grows nothing)
ANOMALY_WINDOW = timedelta(hours=24)

# Statuses in which a bulletin has been sent to devices (and may since have ended, been recalled or
# cancelled: a play from before that is still true).
SENT = ("approved", "on_air", "finished", "recalled", "cancelled")
EVENT_TYPES = ("play", "rejected", "recall_confirmed", "command_result", "error")

# Why a report was not believed (labels in Vietnamese: hub/web/devices.py ANOMALY_VI).
ANOMALY_CODES = (
    "oversized",  # the message or one event is above its limit
    "malformed",  # not JSON, not an object, no id or type
    "too_many",  # more events in one message than an agent ever sends
    "unknown_type",  # an event type the protocol does not have
    "not_sent",  # a play of a bulletin not published for this device (area, kind, status)
    "not_recalled",  # a recall confirmation of a bulletin not recalled for this device
    "unknown_command",  # an answer to a command not issued to this device
    "status_not_sent",  # a status playing an emergency not sent to this device
)


@dataclass(frozen=True)
class Anomaly:
    code: str
    detail: str
    event_id: str | None = None
    event_type: str = ""
    bulletin_id: str = ""
    size: int = 0


def _cut(value: Any, n: int) -> str:
    return str(value if value is not None else "")[:n]


class SentCheck:
    """Was a bulletin sent to a device? Bulletins and their targets are read once per check (a batch of a
    thousand statuses during an emergency asks about the same bulletin a thousand times)."""

    def __init__(self, sess: Session) -> None:
        self.sess = sess
        self._targets: dict[str, list[str]] = {}

    def bulletin(self, bulletin_id: str) -> Bulletin | None:
        return self.sess.get(Bulletin, bulletin_id) if bulletin_id else None

    def why_not(self, bulletin_id: str, device: Device | None, *, statuses: tuple[str, ...] = SENT) -> str:
        """Why `bulletin_id` was not sent to `device` in one of `statuses` (English, for the row); ""."""
        if device is None:
            return "unregistered device"
        b = self.bulletin(bulletin_id)
        if b is None:
            return f"no bulletin {bulletin_id[:40]!r}"
        if b.status not in statuses or b.approved_at is None:
            return f"bulletin {b.id} is {b.status}"
        if device.kind not in (b.kinds or []):
            return f"bulletin {b.id} is for {','.join(b.kinds or [])}, not {device.kind}"
        if b.id not in self._targets:
            self._targets[b.id] = list(
                self.sess.scalars(select(BulletinTarget.area_path).where(BulletinTarget.bulletin_id == b.id))
            )
        targets = self._targets[b.id]
        if not any(covers(t, device.area_path) for t in targets):
            return f"bulletin {b.id} targets {','.join(sorted(targets))}, not {device.area_path}"
        return ""


def relay_not_sent(sess: Session, relay_id: str, device: Device | None) -> str:
    """Why a relay's play report is not believed (English, for the row); "" when the relay reaches it."""
    if device is None:
        return "unregistered device"
    row = sess.get(RelayRow, relay_id) if relay_id else None
    if row is None:
        return f"no relay {relay_id[:40]!r}"
    if device.kind != "radio" or not any(covers(a, device.area_path) for a in row.areas):
        return f"relay {row.id} is not for {device.kind} {device.area_path}"
    return ""


def language_not_sent(b: Bulletin | None, data: dict[str, Any]) -> str:
    """Why a play's `language` is not one the bulletin was sent in (Vietnamese, or a version of it); ""."""
    lang = data.get("language")
    if lang is None or lang == "vie" or b is None:
        return ""
    if any(v.get("language") == lang for v in b.language_versions or []):
        return ""
    return f"bulletin {b.id} has no version in language {str(lang)[:8]!r}"


def event_size(ev: Any) -> int:
    return len(json.dumps(ev, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))


def screen_event(ev: Any) -> Anomaly | None:
    """The checks that need no database: shape, type, size."""
    if not isinstance(ev, dict) or not ev.get("id") or not ev.get("type"):
        return Anomaly("malformed", "an event needs an object with id and type", size=event_size(ev))
    eid, typ = _cut(ev["id"], 120), _cut(ev["type"], 20)
    size = event_size(ev)
    if size > MAX_EVENT_BYTES:
        return Anomaly("oversized", f"event of {size} bytes (limit {MAX_EVENT_BYTES})", eid, typ, size=size)
    if typ not in EVENT_TYPES:
        return Anomaly("unknown_type", f"event type {typ!r}", eid, typ, size=size)
    if not isinstance(ev.get("data") or {}, dict):
        return Anomaly("malformed", "event data must be an object", eid, typ, size=size)
    return None


def bounded_rejection(data: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a `rejected` event (its row and its audit entry): the reason, the topic, a detail."""
    return {
        "reason": _cut(data.get("reason"), 30),
        "topic": _cut(data.get("topic"), 200),
        "detail": _cut(data.get("detail"), 300),
    }


def record(sess: Session, device_id: str, a: Anomaly, now: datetime) -> bool:
    """Store one anomaly row (bounded), unless this device already has ANOMALIES_KEPT in the window or this
    event was already counted. True when stored."""
    kept = sess.scalar(
        select(func.count())
        .select_from(DeviceAnomaly)
        .where(DeviceAnomaly.device_id == device_id, DeviceAnomaly.received_at >= now - ANOMALY_WINDOW)
    )
    if (kept or 0) >= ANOMALIES_KEPT:
        log.warning("device %s: anomaly %s not stored (%d in 24 h): %s", device_id, a.code, kept, a.detail)
        return False
    if a.event_id is not None and sess.scalar(
        select(DeviceAnomaly.id).where(
            DeviceAnomaly.device_id == device_id, DeviceAnomaly.event_id == a.event_id
        )
    ):
        return False  # the same report again (a redelivery): counted once
    sess.add(
        DeviceAnomaly(
            device_id=_cut(device_id, 64),
            code=a.code,
            event_id=a.event_id,
            event_type=_cut(a.event_type, 20),
            bulletin_id=_cut(a.bulletin_id, 40),
            size=a.size,
            detail=_cut(a.detail, 300),
            received_at=now,
        )
    )
    log.warning("device %s: report not believed (%s): %s", device_id, a.code, a.detail)
    return True


def anomalies_by_device(
    sess: Session, since: datetime, ids: list[str] | None = None
) -> dict[str, dict[str, int]]:
    """Device id -> {code: how many} since `since` (for device_problems); only of `ids` when given."""
    out: dict[str, dict[str, int]] = {}
    stmt = select(DeviceAnomaly.device_id, DeviceAnomaly.code, func.count()).where(
        DeviceAnomaly.received_at >= since
    )
    if ids is not None:
        stmt = stmt.where(DeviceAnomaly.device_id.in_(ids))
    for dev, code, n in sess.execute(stmt.group_by(DeviceAnomaly.device_id, DeviceAnomaly.code)):
        out.setdefault(dev, {})[code] = int(n)
    return out
