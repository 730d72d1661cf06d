"""Tiếng dân tộc (Decree 49/2024): which local languages each area uses, for admins to set. A list on an
area holds for the units under it unless they have their own; Vietnamese is always broadcast."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid
from hub.services.base import require
from hub.services.languages import in_force
from hub.web.core import Req, page
from hub.web.language_form import choices

MODES = ("inherit", "vie_only", "list")


def _render(req: Req, area: str, *, status: int = 200, error: str = "", flash: str = "") -> web.Response:
    require(req.actor, "area.manage")
    areas = req.services.areas.all()
    if area not in areas:
        raise Invalid(f"'{area[:64]}' không phải một khu vực trong danh mục địa bàn.", field="area")
    rows = []
    for a in sorted(areas.values(), key=lambda a: a.path):
        langs, source = in_force(areas, a.path)
        rows.append({"path": a.path, "name": a.name, "depth": a.depth, "own": a.languages,
                     "in_force": langs, "source": areas[source].name if source else ""})  # fmt: skip
    return req.render(
        "languages.html", status=status, title="Tiếng dân tộc", area=area, rows=rows,
        view=req.services.languages.view(area), choices=choices(), error=error, flash=flash,
    )  # fmt: skip


@page
def languages_page(req: Req) -> web.StreamResponse:
    area = req.request.query.get("area", "") or next(iter(sorted(req.services.areas.all())), "")
    saved = "Đã lưu; chương trình của các xã liên quan đã được lập lại."
    return _render(req, area, flash=saved if req.request.query.get("saved") else "")


@page
async def save_languages(req: Req) -> web.StreamResponse:
    area, mode = req.field("area"), req.field("mode")
    raw = None if mode == "inherit" else [] if mode == "vie_only" else req.fields("languages")
    try:
        if mode not in MODES:
            raise Invalid("Chọn: theo cấp trên, chỉ tiếng Việt, hoặc các tiếng đã chọn.", field="mode")
        if mode == "list" and not raw:
            raise Invalid("Chọn ít nhất một tiếng dân tộc, hoặc chọn 'Chỉ tiếng Việt'.", field="languages")
        await req.services.set_area_languages(req.actor, area, raw)
    except Invalid as exc:
        return await req.run(_render, req, area, status=422, error=exc.message)
    raise web.HTTPSeeOther("/languages?" + urlencode({"area": area, "saved": "1"}))


def install(app: web.Application) -> None:
    app.router.add_get("/languages", languages_page)
    app.router.add_post("/languages", save_languages)
