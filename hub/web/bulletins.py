"""Bản tin: list with filters, write/edit, submit, review/approve/reject, recall, versions, LED preview."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from hub.errors import Conflict, Invalid
from hub.services import BulletinDetail, Services
from hub.services.bulletin_views import BULLETIN_SORTS
from hub.services.lifecycle import STATUS_VI
from hub.web import language_form
from hub.web.core import PRIORITY_VI, Req, page, urgent_page
from hub.web.forms import BulletinForm, field_error, read_form, to_input, upload_files
from hub.web.listing import Listing, paginate, read_query

BOARD_SIZES = ("192x96", "320x160", "384x192", "1920x384", "1920x1080")
SIZE_RE = re.compile(r"^(\d{2,4})x(\d{2,4})$")


def area_names(services: Services) -> dict[str, str]:
    return {p: a.name for p, a in services.areas.all().items()}


def form_context(req: Req, f: BulletinForm, *, marked: bool = False) -> dict[str, Any]:
    """`marked`: the bulletin being edited is sensitive; an edit keeps the mark (a reviewer clears it on
    the bulletin's page, Art. 14.5)."""
    return {
        "f": f,
        "tree": req.services.areas.tree(req.actor.area_path),
        "names": area_names(req.services),
        "lock_sensitive": marked,
        "voices": req.services.voices.listing(),
        "language_rows": language_form.shown(f.languages),
        "language_choices": language_form.choices(),
    }


@page
def list_page(req: Req) -> web.StreamResponse:
    lq = read_query(
        req.request.query,
        BULLETIN_SORTS,
        "created",
        default_desc=True,
        filters=("status", "priority", "area"),
    )
    f = lq.filters
    if f.get("status", "") not in ("", *STATUS_VI):
        raise Invalid("Trạng thái không có trong danh sách; hãy chọn lại trong ô Trạng thái.", field="status")
    if f.get("priority", "") not in ("", *PRIORITY_VI):
        raise Invalid("Mức ưu tiên không có; hãy chọn lại trong ô Mức ưu tiên.", field="priority")
    if f.get("area") and f["area"] not in req.services.areas.all():
        raise Invalid("Địa bàn không có trong danh mục; hãy chọn lại trong ô Địa bàn.", field="area")
    rows, total = req.services.bulletins.search(
        req.actor,
        q=lq.q,
        status=f.get("status"),
        priority=f.get("priority"),
        area=f.get("area"),
        sort=lq.sort,
        desc=lq.desc,
        limit=lq.per_page,
        offset=(lq.page - 1) * lq.per_page,
    )
    if rows == [] and total and lq.page > 1:  # past the last page: show the last one
        raise web.HTTPFound(Listing([], total, lq, "/bulletins").url())
    areas = sorted(req.services.areas.all().values(), key=lambda a: a.path)
    return req.render(
        "bulletins.html",
        title="Bản tin",
        L=Listing(rows, total, lq, "/bulletins"),
        f_status=f.get("status", ""),
        priority=f.get("priority", ""),
        area=f.get("area", ""),
        statuses=STATUS_VI,
        areas=[a for a in areas if req.actor.sees(a.path)],
        names=area_names(req.services),
    )


@page
def new_page(req: Req) -> web.StreamResponse:
    return req.render(
        "bulletin_form.html", title="Viết bản tin", editing=None, **form_context(req, BulletinForm.blank())
    )


async def _save(req: Req, bulletin_id: str | None) -> web.StreamResponse:
    marked = (
        bulletin_id is not None
        and (await req.run(req.services.bulletins.get, req.actor, bulletin_id)).sensitive
    )
    f = read_form(req)
    if f.v("priority") == "emergency":
        f.errors["priority"] = "Bản tin khẩn cấp được gửi từ trang Phát khẩn cấp."
    await req.run(upload_files, req, f)  # ffprobe and the media store
    data = to_input(f, req.services.ctx.tz)
    if data is not None:
        try:
            if bulletin_id is None:
                draft = req.field("action") == "draft"
                b = await req.services.bulletins.create(req.actor, data, submit=not draft)
            else:
                b = await req.services.bulletins.edit(req.actor, bulletin_id, data)
            raise web.HTTPSeeOther(f"/bulletins/{b.id}")
        except (Invalid, Conflict) as exc:
            field_error(f, exc)
    ctx = await req.run(form_context, req, f, marked=marked)
    return req.render("bulletin_form.html", status=422, title="Viết bản tin", editing=bulletin_id, **ctx)


@page
async def create(req: Req) -> web.StreamResponse:
    return await _save(req, None)


@page
def edit_page(req: Req) -> web.StreamResponse:
    bid = req.request.match_info["id"]
    b = req.services.bulletins.get(req.actor, bid)
    return req.render(
        "bulletin_form.html",
        title="Sửa bản tin",
        editing=bid,
        **form_context(req, BulletinForm.from_bulletin(b, req.services.ctx.tz), marked=b.sensitive),
    )


@page
async def edit(req: Req) -> web.StreamResponse:
    return await _save(req, req.request.match_info["id"])


DETAIL_ROWS = 10  # devices named on the bulletin's page; the rest on /bulletins/<id>/devices
OUTCOME_VI = {"completed": "Phát trọn", "interrupted": "Bị ngắt", "skipped": "Bỏ qua", "failed": "Lỗi",
              "playing": "Đang phát"}  # fmt: skip


def _device_rows(req: Req, b: BulletinDetail) -> list[dict[str, Any]]:
    """Every device the bulletin went to: first play, plays, recall confirmation (hub.services.deliveries)."""
    if not b.approved_at:
        return []
    names = area_names(req.services)
    rows = req.services.deliveries.deliveries(req.actor, b.id)["devices"]
    return [{**r, "area_vi": names.get(r["area"], r["area"])} for r in rows]


def recall_view(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals first, then the first devices that have not confirmed the recall."""
    missing = [r for r in rows if not r["recall_confirmed_at"]]
    return {"total": len(rows), "confirmed": len(rows) - len(missing), "missing": missing[:DETAIL_ROWS],
            "missing_count": len(missing)}  # fmt: skip


def delivery_view(b: BulletinDetail, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Where a scheduled bulletin has played (the play log), commune by commune: for its editor. None before
    approval and for emergencies (their console, /emergency/<id>, follows them live)."""
    if b.priority == "emergency" or not b.approved_at:
        return None
    communes: dict[str, dict[str, Any]] = {}
    for r in rows:
        c = communes.setdefault(
            r["area"], {"area": r["area"], "total": 0, "played": 0, "plays": 0, "failed": 0}
        )
        c["total"] += 1
        c["played"] += 1 if r["first_play_at"] else 0
        c["plays"] += r["plays"]
        c["failed"] += 1 if r["outcome"] in ("failed", "skipped") else 0
    ordered = sorted(communes.values(), key=lambda c: (c["played"] == c["total"], c["area"]))
    return {
        "total": len(rows),
        "played": sum(1 for r in rows if r["first_play_at"]),
        "plays": sum(r["plays"] for r in rows),
        "communes": ordered[: DETAIL_ROWS * 2],
        "more_communes": max(0, len(ordered) - DETAIL_ROWS * 2),
    }


def detail_context(req: Req, bid: str) -> dict[str, Any]:
    b = req.services.bulletins.get(req.actor, bid)
    rows = _device_rows(req, b)
    return {
        "b": b,
        "names": area_names(req.services),
        "recall": recall_view(rows) if b.recalled_at else None,
        "delivery": delivery_view(b, rows),
        "title": b.title,
        "sizes": BOARD_SIZES,
    }


DEVICE_SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "area": lambda r: (r["area_vi"], r["device_id"]),
    "id": lambda r: r["device_id"],
    "played": lambda r: (r["first_play_at"] or "", r["device_id"]),
    "recalled": lambda r: (r["recall_confirmed_at"] or "", r["device_id"]),
}


@page
def bulletin_devices(req: Req) -> web.StreamResponse:
    """Each device a bulletin went to (delivery or recall), totals first, "only the ones missing"."""
    b = req.services.bulletins.get(req.actor, req.request.match_info["id"])
    lq = read_query(req.request.query, DEVICE_SORTS, "area", filters=("view", "missing"))
    view = lq.filters.get("view", "delivery")
    if view not in ("delivery", "recall"):
        raise Invalid("Chỉ xem được kết quả phát (view=delivery) hoặc thu hồi (view=recall).", field="view")
    if view == "recall" and not b.recalled_at:
        raise Conflict("Bản tin này chưa bị thu hồi; chưa có xác nhận thu hồi nào.", field="view")
    rows = _device_rows(req, b)
    key = "recall_confirmed_at" if view == "recall" else "first_play_at"
    done = sum(1 for r in rows if r[key])
    missing = lq.filters.get("missing") == "1"
    shown = [
        r for r in rows if not (missing and r[key]) and lq.matches(r["device_id"], r["name"], r["area_vi"])
    ]
    return req.render(
        "bulletin_devices.html",
        title=f"Thiết bị nhận {b.title}",
        b=b,
        view=view,
        key=key,
        done=done,
        total=len(rows),
        missing=missing,
        outcomes=OUTCOME_VI,
        L=paginate(shown, lq, f"/bulletins/{b.id}/devices", DEVICE_SORTS),
    )


@page
def detail(req: Req) -> web.StreamResponse:
    return req.render("bulletin_detail.html", **detail_context(req, req.request.match_info["id"]))


@urgent_page  # approve, recall, cancel: the publishing path
async def action(req: Req) -> web.StreamResponse:
    """One workflow step from the detail page; a missing reason re-renders with the message by its field."""
    bid, what, reason = req.request.match_info["id"], req.field("action"), req.field("reason")
    s, a = req.services, req.actor
    try:
        if what == "submit":
            await s.bulletins.submit(a, bid)
        elif what in ("approve", "signoff"):
            b = await req.run(s.bulletins.get, a, bid)
            await (s.review(a, bid, "approve") if b.status == "in_review" else s.approve(a, bid))
        elif what == "flag":
            await req.run(s.bulletins.flag, a, bid, reason)
        elif what == "unflag":
            await req.run(s.bulletins.unflag, a, bid, reason)
        elif what == "reject":
            b = await req.run(s.bulletins.get, a, bid)
            if b.status == "in_review":
                await s.review(a, bid, "reject", reason)
            else:
                await req.run(s.bulletins.reject, a, bid, reason)
        elif what == "recall":
            await s.recall(a, bid, reason)
        elif what == "cancel":
            await s.cancel_alert(a, bid)
        else:
            raise Invalid("Thao tác không hợp lệ.", field="action")
    except (Invalid, Conflict) as exc:
        ctx = await req.run(detail_context, req, bid)
        return req.render(
            "bulletin_detail.html",
            status=exc.status,
            action_error=exc.message,
            failed_action=what,
            reason=reason,
            **ctx,
        )
    raise web.HTTPSeeOther(f"/bulletins/{bid}")


@page
def preview(req: Req) -> web.StreamResponse:
    """How the bulletin looks on an LED board of a chosen resolution (the player's layout rules, scaled)."""
    b = req.services.bulletins.get(req.actor, req.request.match_info["id"])
    q = req.request.query
    size = q.get("size") or ""
    if q.get("w") and q.get("h"):
        size = f"{q['w']}x{q['h']}"
    m = SIZE_RE.match(size or "192x96")
    error = ""
    if not m or not (16 <= int(m.group(1)) <= 7680 and 16 <= int(m.group(2)) <= 4320):
        error = "Độ phân giải dạng RộngxCao, mỗi chiều từ 16 đến 7680 điểm, ví dụ 192x96."
        w, h = 192, 96
    else:
        w, h = int(m.group(1)), int(m.group(2))
    return req.render(
        "preview.html",
        status=422 if error else 200,
        title=f"Xem trước {b.title}",
        b=b,
        w=w,
        h=h,
        sizes=BOARD_SIZES,
        size_error=error,
    )


def install(app: web.Application) -> None:
    r = app.router
    r.add_get("/bulletins", list_page)
    r.add_get("/bulletins/new", new_page)
    r.add_post("/bulletins/new", create)
    r.add_get("/bulletins/{id}", detail)
    r.add_get("/bulletins/{id}/edit", edit_page)
    r.add_post("/bulletins/{id}/edit", edit)
    r.add_post("/bulletins/{id}/action", action)
    r.add_get("/bulletins/{id}/preview", preview)
    r.add_get("/bulletins/{id}/devices", bulletin_devices)
