"""A device's broker account: its password, issued by the hub when the broker files are managed
(hub/broker_files.py: a new one replaces the old, a lost or leaked password; shown once, only its hash is
stored), and the device's removal from the registry (its account and ACL lines go with the next sync)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.broker import hash_password, new_secret
from hub.errors import Conflict, NotFound
from hub.models import Device
from hub.roles import Actor
from hub.services.base import Context, require


class BrokerSecretService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _device(self, sess: Session, actor: Actor, device_id: str) -> Device:
        d = sess.get(Device, device_id)
        if d is None or not actor.covers(d.area_path):
            raise NotFound(f"Không có thiết bị '{device_id}'.", field="device")
        require(actor, "device.manage", device_id, area=d.area_path)
        return d

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

    def rotate(self, actor: Actor, device_id: str) -> dict[str, Any]:
        """A new broker password for the device; the old one stops working once the brokers reloaded."""
        if not self.ctx.config.broker_files.enabled:
            raise Conflict(
                "Máy chủ không tự quản lý tài khoản MQTT ([broker_files] trống): đặt mật khẩu bằng "
                "`python -m hub broker passwd` (docs/OPERATIONS.md).", field="device",
            )
        with self.ctx.tx(actor) as sess:
            d = self._device(sess, actor, device_id)
            secret = new_secret()
            d.broker_secret = hash_password(secret)
            self.ctx.audit(sess, actor, "device.broker_secret", device_id)
            return {"id": device_id, "broker_password": secret}
