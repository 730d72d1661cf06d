"""A device's broker account: its password, issued by the hub when the broker files are managed
(hub/broker_files.py: a new one replaces the old, a lost or leaked password; shown once, only its hash is
stored), and the device's removal from the registry (its account and ACL lines go with the next sync)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from hub.broker import hash_password, new_secret
from hub.errors import Conflict, NotFound
from hub.models import Device
from hub.roles import Actor
from hub.services.base import Context, require


def secret_tag(stored: str | None) -> str:
    """A short digest of the device's stored password hash: the web form sends back the one it was drawn
    with, so a form posted twice (a reload, a replay) does not issue a second password unseen."""
    return hashlib.sha256((stored or "").encode()).hexdigest()[:16]


class BrokerSecretService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _device(self, sess: Session, actor: Actor, device_id: str) -> Device:
        d = sess.get(Device, device_id)
        if d is None or not actor.covers(d.area_path):
            raise NotFound(f"Không có thiết bị '{device_id}'.", field="device")
        require(actor, "device.manage", device_id, area=d.area_path)
        return d

    def manageable(self, actor: Actor, device_id: str) -> dict[str, Any]:
        """The device as its removal and new-password pages need it, for someone who may manage it
        (NotFound outside the actor's area, Forbidden without device.manage)."""
        with self.ctx.db.session() as sess:
            d = self._device(sess, actor, device_id)
            return {
                "id": d.id,
                "name": d.name,
                "kind": d.kind,
                "area": d.area_path,
                "has_secret": d.broker_secret is not None,
                "secret_tag": secret_tag(d.broker_secret),
            }

    def remove(self, actor: Actor, device_id: str) -> dict[str, Any]:
        """Take a device out of the registry (stolen, scrapped): it can no longer connect once the brokers
        reloaded (managed mode). Its plays and reports stay; the statistics' roll-ups count registered
        devices only, so a day rolled up after the removal leaves it out."""
        with self.ctx.tx(actor) as sess:
            d = self._device(sess, actor, device_id)
            area = d.area_path
            sess.delete(d)
            self.ctx.audit(sess, actor, "device.remove", device_id, detail={"area": area})
            return {"id": device_id, "removed": True}

    def rotate(self, actor: Actor, device_id: str, *, expect: str | None = None) -> dict[str, Any]:
        """A new broker password for the device; the old one stops working once the brokers reloaded.
        `expect`: the secret_tag the caller saw; refused (Conflict) when the password changed since."""
        if not self.ctx.config.broker_files.enabled:
            raise Conflict(
                "Máy chủ không tự quản lý tài khoản MQTT ([broker_files] trống): đặt mật khẩu bằng "
                "`python -m hub broker passwd` (docs/OPERATIONS.md).", field="device",
            )
        with self.ctx.tx(actor) as sess:
            d = self._device(sess, actor, device_id)
            if expect is not None and expect != secret_tag(d.broker_secret):
                raise Conflict(
                    f"Mật khẩu MQTT của thiết bị '{device_id}' đã được cấp lại sau khi trang này mở "
                    "(biểu mẫu gửi lại hai lần?): không cấp thêm. Mở lại trang thiết bị nếu vẫn cần mật "
                    "khẩu mới.",
                    field="device",
                )
            secret = new_secret()
            d.broker_secret = hash_password(secret)
            self.ctx.audit(sess, actor, "device.broker_secret", device_id)
            return {"id": device_id, "broker_password": secret}
