"""Giọng đọc (administrators): the installed neural voices and the province's default voice."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.errors import Invalid
from hub.services.base import require
from hub.web.core import Req, page


def _ctx(req: Req, **extra: Any) -> dict[str, Any]:
    return {
        "title": "Giọng đọc",
        "listing": req.services.voices.listing(),
        "installed": req.services.voices.store.list(),
        "voices_dir": str(req.services.ctx.config.voices_dir),
        "error": "",
        "flash": "",
        **extra,
    }


@page
def voices_page(req: Req) -> web.StreamResponse:
    require(req.actor, "voice.default", "voices-page")
    return req.render("voices.html", **_ctx(req))


@page
def set_default(req: Req) -> web.StreamResponse:
    try:
        out = req.services.voices.set_default(req.actor, req.field("voice"))
    except Invalid as exc:
        return req.render("voices.html", status=exc.status, **_ctx(req, error=exc.message))
    label = {c.id: c.label for c in out.voices}.get(out.default, out.default)
    return req.render("voices.html", **_ctx(req, flash=f"Giọng mặc định của tỉnh: {label}."))


def install(app: web.Application) -> None:
    app.router.add_get("/voices", voices_page)
    app.router.add_post("/voices", set_default)
