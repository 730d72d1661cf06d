"""Phát trực tiếp: the speaker picks the areas and the priority, and speaks; the page streams the microphone
(MediaRecorder, WebM/Opus slices of 250 ms) on the API's audio websocket (hub/api/live.py) and stops it."""

from __future__ import annotations

from aiohttp import web

from hub.services.base import deny
from hub.services.live import permission
from hub.web.bulletins import area_names
from hub.web.core import Req, page
from protocol.messages import LIVE_PRIORITIES


@page
def live_page(req: Req) -> web.StreamResponse:
    allowed = [p for p in LIVE_PRIORITIES if req.actor.may(permission(p))]
    if not allowed:
        raise deny("live.priority", "live", "Vai trò của bạn không được phát trực tiếp.")
    return req.render(
        "live.html",
        title="Phát trực tiếp",
        tree=req.services.areas.tree(req.actor.area_path),
        names=area_names(req.services),
        allowed=allowed,
        enabled=req.services.ctx.config.stream.enabled,
        grace_s=req.services.ctx.config.stream.grace_s,
    )


def install(app: web.Application) -> None:
    app.router.add_get("/live", live_page)
