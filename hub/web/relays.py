"""Tiếp sóng: the relays at fixed times an official sees, and the form that creates, changes and deletes them
(hub/services/relays.py has the rules; the window check runs in the form as in the API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid, NotFound
from hub.services.relays import DAYS_VI, MAX_MINUTES
from hub.web.core import Req, page
from hub.web.windows import _area, _areas

SAVED = {
    "created": "Đã thêm lịch tiếp sóng; chương trình của các xã liên quan đã được lập lại và gửi xuống "
    "thiết bị.",
    "updated": "Đã lưu lịch tiếp sóng; chương trình của các xã liên quan đã được gửi lại.",
    "deleted": "Đã xóa lịch tiếp sóng.",
}
FIELDS = ("title", "source", "start", "minutes", "days", "dates")


def _render(req: Req, area: str, *, status: int = 200, error: str = "", flash: str = "",
            values: dict[str, Any] | None = None, editing: dict[str, Any] | None = None) -> web.Response:
    relays = req.services.relays.listing(req.actor, area)
    return req.render(
        "relays.html", status=status, title="Tiếp sóng", area=area,
        area_name=req.services.areas.all()[area].name, areas=_areas(req), relays=relays,
        can_create=req.actor.may("programme.relay") and req.actor.covers(area)
        and (req.actor.role != "commune_chair" or req.services.areas.is_leaf(area)),
        days_vi=DAYS_VI, max_minutes=MAX_MINUTES, error=error, flash=flash, values=values or {},
        editing=editing,
    )


@page
def relays_page(req: Req) -> web.StreamResponse:
    area = _area(req, req.request.query.get("area", ""))
    editing = None
    if req.request.query.get("edit"):
        editing = req.services.relays.get(req.actor, req.request.query["edit"][:40])
    flash = SAVED.get(req.request.query.get("saved", ""), "")
    values = {**editing, "dates": ", ".join(editing["dates"])} if editing else None
    return _render(req, area, flash=flash, values=values, editing=editing)


def _data(req: Req, area: str) -> tuple[dict[str, str], dict[str, Any]]:
    values = {k: req.field(k) for k in FIELDS}
    minutes = values["minutes"].strip()
    dates = [d.strip() for d in values["dates"].replace(";", ",").split(",") if d.strip()]
    number = int(minutes) if minutes.isdigit() and len(minutes) < 4 else -1
    data: dict[str, Any] = {**values, "minutes": number, "dates": dates, "days": values["days"] or "daily",
                            "areas": [area]}
    return values, data


def _back(area: str, saved: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/relays?" + urlencode({"area": area, "saved": saved}))


@page
async def create_relay(req: Req) -> web.StreamResponse:
    area = await req.run(_area, req, req.field("area"))
    values, data = _data(req, area)
    try:
        await req.services.create_relay(req.actor, data)
    except Invalid as exc:
        return await req.run(_render, req, area, status=422, error=exc.message, values=values)
    raise _back(area, "created")


def _rid(req: Req) -> str:
    raw = req.request.match_info["id"]
    if len(raw) > 40:
        raise NotFound("Không tìm thấy lịch tiếp sóng này.", field="id")
    return raw


@page
async def update_relay(req: Req) -> web.StreamResponse:
    area = await req.run(_area, req, req.field("area"))
    rid = _rid(req)
    values, data = _data(req, area)
    current = await req.run(req.services.relays.get, req.actor, rid)
    data["areas"] = current["areas"]  # the form changes the time, source and days; not where it plays
    try:
        await req.services.update_relay(req.actor, rid, data)
    except Invalid as exc:
        return await req.run(_render, req, area, status=422, error=exc.message, values=values,
                             editing=current)
    raise _back(area, "updated")


@page
async def delete_relay(req: Req) -> web.StreamResponse:
    area = await req.run(_area, req, req.field("area"))
    await req.services.delete_relay(req.actor, _rid(req))
    raise _back(area, "deleted")


def install(app: web.Application) -> None:
    app.router.add_get("/relays", relays_page)
    app.router.add_post("/relays", create_relay)
    app.router.add_post("/relays/{id}", update_relay)
    app.router.add_post("/relays/{id}/delete", delete_relay)
