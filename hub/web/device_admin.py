"""One device (Thiết bị → a device): what it is and where, and for the operator of its area the two
actions that were only in the API and CLI: a new MQTT password (POST /api/v1/devices/{id}/broker-secret,
shown once, with what to do with it on the Pi) and removing it from the registry (DELETE
/api/v1/devices/{id}, after a confirmation page naming the device and its commune). Both are audited by
the service (device.broker_secret, device.remove); the pages add a CSRF check (hub.web.core.page) and a
guard against the password form being posted twice (the secret tag it was drawn with)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.services.device_views import is_online
from hub.web.core import Req, page


def _device(req: Req) -> dict[str, Any]:
    """The device with its commune's name, for someone who may manage it (404 / 403 pages otherwise)."""
    d = req.services.broker_secrets.manageable(req.actor, req.request.match_info["id"])
    names = {p: a.name for p, a in req.services.areas.all().items()}
    return d | {"area_vi": names.get(d["area"], d["area"])}


@page
def device_page(req: Req) -> web.StreamResponse:
    dev = req.services.devices.get(req.actor, req.request.match_info["id"])  # 404 outside the area
    names = {p: a.name for p, a in req.services.areas.all().items()}
    manage = req.actor.may("device.manage")
    return req.render(
        "device.html",
        title=f"Thiết bị {dev.name or dev.id}",
        d={
            "id": dev.id,
            "name": dev.name,
            "kind": dev.kind,
            "area_vi": names.get(dev.area_path, dev.area_path),
            "online": is_online(dev.state),
            "last_seen": dev.last_seen,
        },
        m=req.services.broker_secrets.manageable(req.actor, dev.id) if manage else None,
        managed=req.services.ctx.config.broker_files.enabled,
    )


@page
def new_secret(req: Req) -> web.StreamResponse:
    """Cấp mật khẩu MQTT mới: shown once on this answer (never in a URL, never stored in clear)."""
    device_id = req.request.match_info["id"]
    out = req.services.broker_secrets.rotate(req.actor, device_id, expect=req.field("was")[:64])
    d = _device(req)
    resp = req.render("device_secret.html", title="Mật khẩu MQTT mới", d=d, password=out["broker_password"])
    resp.headers["Cache-Control"] = "no-store"
    return resp


@page
def confirm_remove(req: Req) -> web.StreamResponse:
    return req.render("device_remove.html", title="Gỡ thiết bị", d=_device(req))


@page
def remove(req: Req) -> web.StreamResponse:
    device_id = req.request.match_info["id"]
    req.services.broker_secrets.remove(req.actor, device_id)
    raise web.HTTPSeeOther("/devices?" + urlencode({"removed": device_id}))


def install(app: web.Application) -> None:
    app.router.add_get("/devices/{id}", device_page)
    app.router.add_post("/devices/{id}/broker-secret", new_secret)
    app.router.add_get("/devices/{id}/remove", confirm_remove)
    app.router.add_post("/devices/{id}/remove", remove)
