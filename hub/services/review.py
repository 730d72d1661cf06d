"""Review before air (Art. 14.5): sign-offs on sensitive bulletins and the self-approval policy.

A sensitive bulletin waits in review ("in_review") until the sign-offs the province configures
(`[review]` in the hub's config) are given on its current version: each by a different reviewer, none by
an author of the bulletin, one per reviewer group when groups are configured. An edit makes a new version,
so earlier sign-offs no longer count. Whether an author may approve their own (non-sensitive) bulletin is
a policy per origin level (`review.self_approve`). Called inside BulletinService's transactions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import Conflict
from hub.models import Bulletin, BulletinSignoff, BulletinVersion, User
from hub.roles import Actor
from hub.services.base import Context, deny

ORIGIN_VI = {"central": "trung ương", "province": "tỉnh", "district": "huyện", "commune": "xã"}


class ReviewPolicy:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @property
    def groups(self) -> dict[str, str]:
        return dict(self.ctx.config.review.groups)

    @property
    def needed(self) -> int:
        return self.ctx.config.review.signoffs

    @staticmethod
    def authors(sess: Session, b: Bulletin) -> set[int]:
        """Who wrote the bulletin: its creator and whoever saved one of its versions."""
        ids = {
            uid
            for uid in sess.scalars(
                select(BulletinVersion.created_by).where(BulletinVersion.bulletin_id == b.id)
            )
            if uid is not None
        }
        if b.created_by is not None:
            ids.add(b.created_by)
        return ids

    def check_self_approval(self, sess: Session, actor: Actor, b: Bulletin) -> None:
        """403 when the actor wrote this bulletin and the policy of its origin level forbids approving it."""
        if b.priority == "emergency" or actor.user_id is None:
            return  # Art. 8.1: an emergency airs at once; its page asks the editor to confirm instead
        if self.ctx.config.review.may_self_approve(b.origin):
            return
        if actor.user_id in self.authors(sess, b):
            raise deny(
                "bulletin.approve",
                b.id,
                f"Bạn là người viết bản tin này; bản tin cấp {ORIGIN_VI.get(b.origin, b.origin)} phải do "
                "người khác có quyền duyệt (quy định của tỉnh). Hãy nhờ một người duyệt khác.",
            )

    def signoffs(self, sess: Session, b: Bulletin) -> list[BulletinSignoff]:
        return list(
            sess.scalars(
                select(BulletinSignoff)
                .where(BulletinSignoff.bulletin_id == b.id, BulletinSignoff.version == b.version)
                .order_by(BulletinSignoff.at, BulletinSignoff.id)
            )
        )

    def check_signoff(self, sess: Session, actor: Actor, b: Bulletin) -> str | None:
        """Why the actor may not sign off this version (403/409), else the group the sign-off counts for."""
        if actor.user_id is None:
            raise deny(
                "bulletin.signoff",
                b.id,
                "Bản tin nhạy cảm cần chữ ký của người kiểm duyệt, không của hệ thống.",
            )
        if actor.user_id in self.authors(sess, b):
            raise deny(
                "bulletin.signoff",
                b.id,
                "Người viết bản tin không tự kiểm duyệt được bản tin của mình; cần người kiểm duyệt khác.",
            )
        done = self.signoffs(sess, b)
        if any(s.user_id == actor.user_id for s in done):
            raise Conflict(
                f"Bạn đã ký kiểm duyệt phiên bản {b.version} của bản tin này rồi; mỗi người chỉ ký một lần. "
                f"Còn cần {self.needed - len(done)} chữ ký của người kiểm duyệt khác.",
                field="status",
            )
        if not self.groups:
            return None
        user = sess.get(User, actor.user_id)
        group = user.review_group if user is not None else None
        missing = [g for g in self.groups if g not in {s.review_group for s in done}]
        names = ", ".join(self.groups[g] for g in missing)
        if group not in self.groups:
            raise deny(
                "bulletin.signoff",
                b.id,
                "Tài khoản của bạn chưa thuộc nhóm kiểm duyệt nào; bản tin nhạy cảm cần chữ ký của: "
                f"{names}. Quản trị hệ thống gán nhóm cho tài khoản ở trang Người dùng.",
            )
        if group not in missing:
            raise deny(
                "bulletin.signoff",
                b.id,
                f"{self.groups[group]} đã ký kiểm duyệt phiên bản này; còn thiếu chữ ký của: {names}.",
            )
        return group

    def sign_off(self, sess: Session, actor: Actor, b: Bulletin) -> bool:
        """Record the actor's sign-off (audited); True when the version now has every sign-off it needs."""
        group = self.check_signoff(sess, actor, b)
        assert actor.user_id is not None  # check_signoff refused the system actor
        sess.add(
            BulletinSignoff(
                bulletin_id=b.id,
                version=b.version,
                user_id=actor.user_id,
                review_group=group,
                at=self.ctx.now(),
            )
        )
        sess.flush()
        count = len(self.signoffs(sess, b))
        self.ctx.audit(
            sess,
            actor,
            "bulletin.signoff",
            b.id,
            detail={"version": b.version, "group": group, "signoffs": count, "needed": self.needed},
        )
        return count >= self.needed

    def state(self, sess: Session, b: Bulletin) -> dict[str, Any]:
        """The review of a sensitive bulletin's current version, as the API and the pages show it."""
        done = self.signoffs(sess, b)
        names = {
            u.id: u.username for u in sess.scalars(select(User).where(User.id.in_({s.user_id for s in done})))
        }
        got = {s.review_group for s in done}
        return {
            "needed": self.needed,
            "groups": [{"code": g, "name": n, "signed": g in got} for g, n in self.groups.items()],
            "signoffs": [
                {
                    "username": names.get(s.user_id),
                    "group": s.review_group,
                    "group_name": self.groups.get(s.review_group or "", ""),
                    "at": s.at.isoformat(),
                }
                for s in done
            ],
        }
