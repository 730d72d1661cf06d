"""A bulletin's delivery to its target devices: first confirmed play, latency, recall confirmation.

An emergency is confirmed by whichever comes first: the device's status saying it is playing it (sent
within a second of the start and carrying the start, `playing_since`; recorded by `record_first_playing`)
or a "play" event's started_at (sent when it ends).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.models import Bulletin, Device, FirstSeenPlaying, Play, RecallConfirmation
from hub.roles import Actor
from hub.services.base import Context, require
from hub.services.bulletins import BulletinService
from hub.services.device_views import play_dict
from protocol.clock import parse_time
from protocol.topics import covers

CONFIRMED = ("completed", "interrupted")  # a play event that started on the device
_CHUNK = 500  # ids per IN (...) query


def optional_time(value: Any) -> datetime | None:
    """An ISO 8601 time from a device, or None when missing or unreadable."""
    try:
        return parse_time(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def record_first_playing(sess: Session, latest: dict[str, dict[str, Any]], now: datetime) -> int:
    """Note, once per (emergency, device), the first status showing it playing; returns rows offered.

    Idempotent: a repeated or older status never moves the time (INSERT ... ON CONFLICT DO NOTHING).
    """
    playing = {
        dev: str(st["now_playing"])[:40]
        for dev, st in latest.items()
        if st.get("now_playing") and st.get("state") != "offline"
    }
    if not playing:
        return 0
    ids = sorted(set(playing.values()))
    sent: dict[str, datetime | None] = {}
    for i in range(0, len(ids), _CHUNK):
        q = select(Bulletin.id, Bulletin.approved_at).where(
            Bulletin.id.in_(ids[i : i + _CHUNK]), Bulletin.priority == "emergency"
        )
        sent.update({bid: at for bid, at in sess.execute(q)})
    rows = []
    for dev, bid in playing.items():
        if bid not in sent:
            continue  # only emergencies are timed live; scheduled plays are proven by their play events
        # when it started, as the device says (playing_since); a status is sent up to a second after the
        # start, so its `at` is later; older agents send only `at`
        st = latest[dev]
        at = optional_time(st.get("playing_since")) or optional_time(st.get("at")) or now
        # a device clock may be off: it cannot have started before the hub sent it, nor after the hub heard
        start = sent[bid]
        at = min(max(at, start) if start else at, now)
        rows.append({"bulletin_id": bid, "device_id": dev, "at": at, "received_at": now})
    if not rows:
        return 0
    dialect = postgresql if sess.get_bind().dialect.name == "postgresql" else sqlite
    sess.execute(
        dialect.insert(FirstSeenPlaying).on_conflict_do_nothing(index_elements=["bulletin_id", "device_id"]),
        rows,
    )
    return len(rows)


def first_play(
    plays: list[Play], seen: datetime | None, sent: datetime | None
) -> tuple[datetime | None, str | None]:
    """A device's first confirmed play of a bulletin sent at `sent`: (when, "status" or "play"), or
    (None, None). The statistics' emergency reach uses the same (hub/services/rollups.py)."""
    started = [p.started_at for p in plays if p.outcome in CONFIRMED and p.started_at is not None]
    candidates = [*started, *([seen] if seen else [])]
    first = min(candidates) if candidates else None
    if first is not None and sent is not None:
        first = max(first, sent)  # a device clock running behind must not show a negative latency
    by = "play" if started else None
    if seen is not None and (not started or seen < min(started)):
        by = "status"
    return first, by


class DeliveryService:
    def __init__(self, ctx: Context, bulletins: BulletinService) -> None:
        self.ctx, self.bulletins = ctx, bulletins

    def deliveries(self, actor: Actor, bulletin_id: str) -> dict[str, Any]:
        """Per target device (the bulletin's areas and kinds): first confirmed play, latency, recall."""
        require(actor, "read")
        b = self.bulletins.get(actor, bulletin_id)  # NotFound outside the caller's area
        sent = datetime.fromisoformat(b.approved_at) if b.approved_at else None
        with self.ctx.db.session() as sess:
            # the five columns a row needs, not whole devices with their statuses: a province has thousands
            cols = (Device.id, Device.name, Device.kind, Device.area_path, Device.state)
            devices = [
                d
                for d in sess.execute(
                    select(*cols).where(Device.kind.in_(b.kinds)).order_by(Device.area_path, Device.id)
                )
                if actor.covers(d.area_path) and any(covers(t, d.area_path) for t in b.targets)
            ]
            plays: dict[str, list[Play]] = {}
            for p in sess.scalars(
                select(Play).where(Play.bulletin_id == b.id).order_by(Play.received_at, Play.id)
            ):
                plays.setdefault(p.device_id, []).append(p)
            seen = {
                r.device_id: r.at
                for r in sess.scalars(select(FirstSeenPlaying).where(FirstSeenPlaying.bulletin_id == b.id))
            }
            recalls = {
                r.device_id: r.confirmed_at
                for r in sess.scalars(
                    select(RecallConfirmation).where(RecallConfirmation.bulletin_id == b.id)
                )
            }
            rows = [
                self._row(d, plays.get(d.id, []), seen.get(d.id), recalls.get(d.id), sent) for d in devices
            ]
        return {
            "bulletin_id": b.id,
            "priority": b.priority,
            "status": b.status,
            "status_label": b.status_label,
            "exercise": b.exercise,
            "sent_at": b.approved_at,
            "total": len(rows),
            "confirmed": sum(1 for r in rows if r["first_play_at"]),
            "recall_confirmed": sum(1 for r in rows if r["recall_confirmed_at"]),
            "devices": rows,
        }

    @staticmethod
    def _row(
        d: Any, plays: list[Play], seen: datetime | None, recall: datetime | None, sent: datetime | None
    ) -> dict[str, Any]:
        """`d`: a device's id, name, kind, area_path and state (a Device or a row of those columns)."""
        first, by = first_play(plays, seen, sent)
        outcome = plays[-1].outcome if plays else ("playing" if seen else None)
        return {
            "device_id": d.id,
            "name": d.name,
            "kind": d.kind,
            "area": d.area_path,
            "online": d.state not in ("offline", "unknown"),
            "first_play_at": first.isoformat() if first else None,
            "latency_ms": round((first - sent).total_seconds() * 1000) if first and sent else None,
            "confirmed_by": by,
            "outcome": outcome,
            "plays": sum(1 for p in plays if (p.data or {}).get("language", "vie") == "vie"),  # one per item
            "recall_confirmed_at": recall.isoformat() if recall else None,
        }

    def plays_page(
        self,
        actor: Actor,
        *,
        bulletins: list[str] | None = None,
        device: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
        newest_first: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the play log of the caller's devices and the count of all that match (the web's
        Nhật ký phát): plays of `bulletins` (None: any), on a device whose id contains `device`, started in
        [since, until)."""
        require(actor, "read")
        q = select(Play)
        if actor.area_path is not None:
            scope = actor.area_path
            under = Device.area_path.startswith(scope + "/", autoescape=True)
            q = q.where(Play.device_id.in_(select(Device.id).where(or_(Device.area_path == scope, under))))
        if bulletins is not None:
            q = q.where(Play.bulletin_id.in_(bulletins))
        if device:
            q = q.where(Play.device_id.contains(device, autoescape=True))
        if since is not None:
            q = q.where(Play.started_at >= since)
        if until is not None:
            q = q.where(Play.started_at < until)
        order = (Play.started_at.desc(), Play.id.desc()) if newest_first else (Play.started_at, Play.id)
        with self.ctx.db.session() as sess:
            total = sess.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = sess.scalars(q.order_by(*order).limit(max(1, min(limit, 1000))).offset(max(0, offset)))
            return [play_dict(p) for p in rows], total
