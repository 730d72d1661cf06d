"""The menu's counters (issue 19): how much of each person's work is waiting, on every page, so each is
one COUNT in SQL on indexed columns (tests/web/test_menu_counters.py; bench/lists.py measures the pages).

- whoever writes bulletins: their own sent back (bị trả lại);
- whoever approves: the bulletins waiting for approval that they may approve (every target in their area:
  chờ duyệt); a reviewer: waiting for a sign-off
  (chờ kiểm duyệt) — the same queues as the start page's, so the numbers agree;
- an operator or administrator: the devices that need attention (hub/services/device_list.py);
- an administrator: the accounts locked after failed logins and today's refused actions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true
from sqlalchemy.orm import Session

from hub.models import AuditEntry, Bulletin, BulletinTarget, Device, User
from hub.roles import Actor
from hub.services.base import Context, require
from hub.services.device_list import attention_sql, scope_sql


def today_start(ctx: Context) -> datetime:
    """Midnight where the hub is (the province's "today")."""
    return ctx.local_now().replace(hour=0, minute=0, second=0, microsecond=0)


def visible_sql(actor: Actor) -> ColumnElement[bool]:
    """The bulletin has a target the actor sees (Actor.sees: in their area, or above it)."""
    scope = actor.area_path
    if scope is None:
        return true()
    parts = scope.split("/")
    above = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return exists().where(
        BulletinTarget.bulletin_id == Bulletin.id,
        or_(
            BulletinTarget.area_path.in_(above),
            BulletinTarget.area_path.startswith(scope + "/", autoescape=True),
        ),
    )


def within_sql(actor: Actor) -> ColumnElement[bool]:
    """Every target of the bulletin is in the actor's area (what they may approve: require_targets)."""
    scope = actor.area_path
    if scope is None:
        return true()
    outside = exists().where(
        BulletinTarget.bulletin_id == Bulletin.id,
        BulletinTarget.area_path != scope,
        ~BulletinTarget.area_path.startswith(scope + "/", autoescape=True),
    )
    has_target = exists().where(BulletinTarget.bulletin_id == Bulletin.id)
    return and_(has_target, ~outside)


def _bulletins(sess: Session, actor: Actor, status: str, *, mine: bool = False, within: bool = False) -> int:
    q = select(func.count()).select_from(Bulletin).where(Bulletin.status == status, visible_sql(actor))
    if mine:
        q = q.where(Bulletin.created_by == actor.user_id)
    if within:
        q = q.where(within_sql(actor))
    return int(sess.scalar(q) or 0)


class CounterService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def for_actor(self, actor: Actor) -> dict[str, int]:
        """The menu's counts for this person's role; only the non-zero ones."""
        require(actor, "read")
        now = self.ctx.now()
        out: dict[str, int] = {}
        with self.ctx.db.session() as sess:
            if actor.may("bulletin.create") and actor.user_id is not None:
                out["rejected"] = _bulletins(sess, actor, "rejected", mine=True)
            if actor.may("bulletin.approve"):
                out["to_approve"] = _bulletins(sess, actor, "submitted", within=True)
            if actor.may("bulletin.review"):
                out["to_review"] = _bulletins(sess, actor, "in_review")
            if actor.may("device.command") or actor.role == "admin":
                out["devices"] = self._devices(sess, actor, now)
            if actor.may("user.manage"):
                out["locked"] = int(
                    sess.scalar(
                        select(func.count())
                        .select_from(User)
                        .where(User.locked_until > now, User.disabled.is_(False))
                    )
                    or 0
                )
            if actor.may("audit.read"):
                midnight = today_start(self.ctx)
                out["denied"] = int(
                    sess.scalar(
                        select(func.count())
                        .select_from(AuditEntry)
                        .where(AuditEntry.at >= midnight, AuditEntry.outcome == "denied")
                    )
                    or 0
                )
        return {k: v for k, v in out.items() if v}

    @staticmethod
    def _devices(sess: Session, actor: Actor, now: datetime) -> int:
        q = select(func.count()).select_from(Device).where(scope_sql(actor), attention_sql(now))
        return int(sess.scalar(q) or 0)
