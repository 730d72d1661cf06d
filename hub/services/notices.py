"""In-app notifications (issue 19), read from what the hub already records: the audit log (a bulletin
approved, rejected, sent for review, an emergency sent) and the devices' state (a device down). Nothing is
stored for them; what a person has seen is the time of their last visit to the start page (the web keeps
it in a cookie)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from hub.models import AuditEntry, Bulletin, BulletinTarget, Device
from hub.roles import Actor
from hub.services.base import Context, require

WITHIN = timedelta(days=7)
LOOKED_AT = 400  # the newest audit entries of those kinds: what is new for a person is among them
ACTIONS = ("bulletin.approve", "bulletin.reject", "bulletin.submit", "bulletin.create")


@dataclass(frozen=True)
class Notice:
    """One notification: when, what kind (approved, rejected, review, emergency, device_down), about what
    (a bulletin's or a device's id, with its title or name), and the reason when there is one."""

    at: datetime
    kind: str
    target: str
    label: str
    reason: str = ""
    by: str = ""


NOTICE_VI = {
    "approved": "Bản tin của bạn đã được duyệt phát",
    "rejected": "Bản tin của bạn bị trả lại",
    "review": "Bản tin mới chờ duyệt",
    "emergency": "Đã phát khẩn cấp",
    "device_down": "Thiết bị mất kết nối",
}


def notice_link(n: Notice) -> str:
    """Where a notice leads (the start page's link; the e-mail's, after the hub's address)."""
    if n.kind == "device_down":
        return f"/devices?q={n.target}"
    if n.kind == "emergency":
        return f"/emergency/{n.target}"
    return f"/bulletins/{n.target}"


class NoticeService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def for_actor(self, actor: Actor, *, limit: int = 30, after: datetime | None = None) -> list[Notice]:
        """What concerns this person in the last WITHIN, newest first: their bulletins approved or rejected
        (editors), bulletins waiting for their review (reviewers and administrators), emergencies sent in
        their area (everyone), devices down in their area (operators and administrators). `after`: only
        those newer (the menu counts what came since the last visit: a few rows, not the week's)."""
        require(actor, "read")
        since = self.ctx.now() - WITHIN
        if after is not None and after > since:
            since = after
        out: list[Notice] = []
        with self.ctx.db.session() as sess:
            entries = sess.scalars(
                select(AuditEntry)
                .where(AuditEntry.at >= since, AuditEntry.action.in_(ACTIONS), AuditEntry.outcome == "ok")
                .order_by(AuditEntry.id.desc())
                .limit(LOOKED_AT)
            ).all()
            ids = {e.target for e in entries}
            bulletins = {b.id: b for b in sess.execute(self._bulletins(ids))}
            targets: dict[str, list[str]] = {}
            for bid, path in sess.execute(
                select(BulletinTarget.bulletin_id, BulletinTarget.area_path).where(
                    BulletinTarget.bulletin_id.in_(ids)
                )
            ):
                targets.setdefault(bid, []).append(path)
            for e in entries:
                b = bulletins.get(e.target)
                if b is None or not any(actor.sees(t) for t in targets.get(b.id, [])):
                    continue
                # "needs review" only for whoever may act on it: approving needs every target in one's area
                kind = self._kind(actor, e, b, all(actor.covers(t) for t in targets.get(b.id, [])))
                if kind:
                    reason = str((e.detail or {}).get("reason") or "") if kind == "rejected" else ""
                    out.append(Notice(e.at, kind, b.id, b.title, reason, e.username))
            if actor.may("device.command") or actor.may("device.manage"):
                out += self._down(sess, actor, since)
        out.sort(key=lambda n: n.at, reverse=True)
        return out[:limit]

    @staticmethod
    def _bulletins(ids: set[str]) -> Any:
        return select(Bulletin.id, Bulletin.title, Bulletin.priority, Bulletin.created_by).where(
            Bulletin.id.in_(ids)
        )

    @staticmethod
    def _kind(actor: Actor, e: AuditEntry, b: Any, covers_all: bool) -> str:
        mine = b.created_by is not None and b.created_by == actor.user_id
        if b.priority == "emergency":
            sent = e.action == "bulletin.approve" or (
                e.action == "bulletin.create" and (e.detail or {}).get("status") == "approved"
            )
            return "emergency" if sent else ""
        if e.action == "bulletin.approve" and mine and e.user_id != actor.user_id:
            return "approved"
        if e.action == "bulletin.reject" and mine:
            return "rejected"
        waiting = e.action == "bulletin.submit" or (
            e.action == "bulletin.create" and (e.detail or {}).get("status") in ("submitted", "in_review")
        )
        may = actor.may("bulletin.approve") or actor.may("bulletin.review")
        if waiting and may and covers_all and e.user_id != actor.user_id:
            return "review"
        return ""

    @staticmethod
    def _down(sess: Any, actor: Actor, since: datetime) -> list[Notice]:
        q = select(Device.id, Device.name, Device.last_seen).where(Device.state == "offline")
        if actor.area_path is not None:
            scope = actor.area_path
            under = Device.area_path.startswith(scope + "/", autoescape=True)
            q = q.where(or_(Device.area_path == scope, under))
        return [
            Notice(seen, "device_down", dev, name or dev)
            for dev, name, seen in sess.execute(q.order_by(Device.last_seen.desc()).limit(200))
            if seen is not None and seen >= since
        ]
