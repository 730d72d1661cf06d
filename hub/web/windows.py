"""Khung giờ phát (Art. 10): the windows in force for an area, and the forms that set them.

An admin sets the province's defaults, a district's or a commune's own hours, and LED occasion hours for
any area; a commune chair those of the commune. The chair's programme screen shows the windows in force
and links here.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid, NotFound
from hub.services.base import deny
from hub.web.core import Req, page

KIND_HELP = (
    "Ví dụ: 05:00-06:30, 17:00-18:30. Khung giờ qua nửa đêm ghi giờ kết thúc nhỏ hơn, ví dụ 21:00-01:00."
)
SAVED = {
    "set": "Đã lưu khung giờ phát; chương trình của các xã liên quan đã được lập lại và gửi xuống thiết bị.",
    "occasion": "Đã thêm giờ phát cho dịp này; bảng tin điện tử của các xã liên quan đã nhận chương trình "
    "mới.",
    "deleted": "Đã xóa; khung giờ của cấp trên (hoặc mặc định theo quy định) được áp dụng lại.",
}


def _areas(req: Req) -> list[tuple[str, str, int]]:
    areas = sorted(req.services.areas.all().values(), key=lambda a: a.path)
    return [(a.path, a.name, a.depth) for a in areas if req.actor.sees(a.path)]


def _area(req: Req, raw: str) -> str:
    areas = _areas(req)
    if not areas:
        raise Invalid("Tài khoản này không gắn với địa bàn nào.", field="area")
    default = req.actor.area_path if req.actor.area_path in {p for p, _, _ in areas} else areas[0][0]
    area = raw or default
    if area not in req.services.areas.all():
        raise Invalid(f"'{area[:64]}' không phải một khu vực trong danh mục địa bàn.", field="area")
    if area not in {p for p, _, _ in areas}:
        raise deny("read", area, f"Khu vực {area} nằm ngoài địa bàn được giao ({req.actor.area_path}).")
    return area


def _render(
    req: Req,
    area: str,
    *,
    status: int = 200,
    error: str = "",
    flash: str = "",
    values: dict[str, str] | None = None,
) -> web.Response:
    view = req.services.windows.overview(req.actor, area)
    names = {p: n for p, n, _ in _areas(req)}
    editable = {
        (kind, item["id"]): req.services.windows.may_edit(req.actor, item["area"])
        for kind, items in (("rule", view["rules"]), ("occasion", view["occasions"]))
        for item in items
    }
    return req.render(
        "windows.html",
        status=status,
        title="Khung giờ phát",
        area=area,
        area_name=names.get(area, area),
        areas=_areas(req),
        view=view,
        editable=editable,
        today=req.services.ctx.local_now().date(),
        error=error,
        flash=flash,
        values=values or {},
        kind_help=KIND_HELP,
    )


@page
def windows_page(req: Req) -> web.StreamResponse:
    area = _area(req, req.request.query.get("area", ""))
    flash = SAVED.get(req.request.query.get("saved", ""), "")
    return _render(req, area, flash=flash)


def _back(area: str, saved: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/windows?" + urlencode({"area": area, "saved": saved}))


@page
async def save_windows(req: Req) -> web.StreamResponse:
    area = await req.run(_area, req, req.field("area"))
    values = {k: req.field(k) for k in ("kind", "effective_from", "windows")}
    try:
        await req.services.set_windows(
            req.actor,
            area=area,
            kind=values["kind"],
            effective_from=values["effective_from"],
            windows=values["windows"],
        )
    except Invalid as exc:
        return await req.run(_render, req, area, status=422, error=exc.message, values=values)
    raise _back(area, "set")


@page
async def add_occasion(req: Req) -> web.StreamResponse:
    area = await req.run(_area, req, req.field("area"))
    values = {f"o_{k}": req.field(f"o_{k}") for k in ("name", "date_from", "date_to", "windows")}
    try:
        await req.services.add_occasion(
            req.actor,
            area=area,
            name=values["o_name"],
            date_from=values["o_date_from"],
            date_to=values["o_date_to"] or values["o_date_from"],
            windows=values["o_windows"],
        )
    except Invalid as exc:
        return await req.run(_render, req, area, status=422, error=exc.message, values=values)
    raise _back(area, "occasion")


def _id(req: Req) -> int:
    raw = req.request.match_info["id"]
    if not raw.isdigit() or len(raw) > 12:
        raise NotFound("Không tìm thấy mục này.", field="id")
    return int(raw)


@page
async def delete_rule(req: Req) -> web.StreamResponse:
    area = await req.run(_area, req, req.field("area"))
    await req.services.delete_windows(req.actor, _id(req))
    raise _back(area, "deleted")


@page
async def delete_occasion(req: Req) -> web.StreamResponse:
    area = await req.run(_area, req, req.field("area"))
    await req.services.delete_occasion(req.actor, _id(req))
    raise _back(area, "deleted")


def install(app: web.Application) -> None:
    app.router.add_get("/windows", windows_page)
    app.router.add_post("/windows", save_windows)
    app.router.add_post("/windows/occasions", add_occasion)
    app.router.add_post("/windows/{id}/delete", delete_rule)
    app.router.add_post("/windows/occasions/{id}/delete", delete_occasion)
