"""A device's broker password, issued by the hub when the broker files are managed (hub/broker_files.py):
a new one replaces the old (a lost or leaked password); it is shown once, only its hash is stored."""

from __future__ import annotations

from typing import Any

from hub.broker import hash_password, new_secret
from hub.errors import Conflict, NotFound
from hub.models import Device
from hub.roles import Actor
from hub.services.base import Context, require


class BrokerSecretService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def rotate(self, actor: Actor, device_id: str) -> dict[str, Any]:
        """A new broker password for the device; the old one stops working once the brokers reloaded."""
        if not self.ctx.config.broker_files.enabled:
            raise Conflict(
                "Máy chủ không tự quản lý tài khoản MQTT ([broker_files] trống): đặt mật khẩu bằng "
                "`python -m hub broker passwd` (docs/OPERATIONS.md).", field="device",
            )
        with self.ctx.tx(actor) as sess:
            d = sess.get(Device, device_id)
            if d is None or not actor.covers(d.area_path):
                raise NotFound(f"Không có thiết bị '{device_id}'.", field="device")
            require(actor, "device.manage", device_id, area=d.area_path)
            secret = new_secret()
            d.broker_secret = hash_password(secret)
            self.ctx.audit(sess, actor, "device.broker_secret", device_id)
            return {"id": device_id, "broker_password": secret}
