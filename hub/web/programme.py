"""Chương trình phát: the commune chair's screen (order of priority bulletins, choice of normal ones)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid
from hub.limits import check_date
from hub.services.base import deny
from hub.web.core import Req, page
from protocol.vocabulary import DEVICE_KINDS


def _communes(req: Req) -> list[tuple[str, str]]:
    areas = req.services.areas.all()
    leaves = req.services.areas.leaves()
    return [(p, areas[p].name) for p in leaves if req.actor.sees(p)]


def _params(req: Req, source: Any) -> tuple[str, date, str, list[tuple[str, str]]]:
    communes = _communes(req)
    if not communes:
        raise Invalid("Tài khoản này không gắn với xã nào để xem chương trình phát.", field="area")
    default = req.actor.area_path if req.actor.area_path in dict(communes) else communes[0][0]
    area = source.get("area") or default
    if area not in req.services.areas.leaves():
        raise Invalid(f"'{area}' không phải một xã trong danh mục địa bàn.", field="area")
    if area not in dict(communes):  # another commune's screen: refused and audited like the API
        raise deny(
            "programme.arrange", area, f"Xã {area} nằm ngoài địa bàn được giao ({req.actor.area_path})."
        )
    today = req.services.ctx.local_now().date()
    raw = source.get("date") or today.isoformat()
    try:
        day = check_date(date.fromisoformat(raw))
    except ValueError:
        raise Invalid(f"'{raw}' không phải ngày dạng YYYY-MM-DD.", field="date") from None
    kind = source.get("kind") or "radio"
    if kind not in DEVICE_KINDS:
        raise Invalid("Loại thiết bị là đài truyền thanh (radio) hoặc bảng tin (led).", field="kind")
    return area, day, kind, communes


def arrange(view: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, str]]:
    """The priority bulletins in their current order, the normal ones to choose from, and reasons by id."""
    seen: dict[str, dict[str, Any]] = {}
    for it in view["programme"]:
        seen.setdefault(
            it["bulletin_id"],
            {"id": it["bulletin_id"], "title": it["title"], "priority": it["priority"], "on_air": True},
        )
    # why not on air; for one on air: why fewer plays than asked for
    reasons = {u["bulletin_id"]: u["detail"] for u in view["unscheduled"]}
    reasons.update({s["bulletin_id"]: s["detail"] for s in view.get("short", [])})
    for u in view["unscheduled"]:
        seen.setdefault(
            u["bulletin_id"],
            {"id": u["bulletin_id"], "title": u["title"], "priority": u["priority"], "on_air": False},
        )
    prio = [b for b in seen.values() if b["priority"] == "priority"]
    rank = {bid: i for i, bid in enumerate(view["order"])}
    prio.sort(key=lambda b: rank.get(b["id"], len(rank)))  # stable: unordered ones keep the engine's order
    new = set(view.get("new", ()))
    for b in prio:
        b["new"] = b["id"] in new
    normal = [b for b in seen.values() if b["priority"] == "normal"]
    choices = view.get("choices", {})
    for b in normal:
        d = choices.get(b["id"], {"chosen": False, "by": "waiting"})
        b["chosen"], b["by"] = d["chosen"], d["by"]
        b["state"] = CHOICE_VI[(d["by"], d["chosen"])]
    return prio, normal, reasons


# what decided a normal bulletin, as the chair reads it (decided by, airs?)
CHOICE_VI = {
    ("day", True): "Đã chọn cho ngày này",
    ("day", False): "Không chọn cho ngày này",
    ("validity", True): "Đã chọn suốt thời gian hiệu lực",
    ("validity", False): "Không chọn (suốt thời gian hiệu lực)",
    ("standing", True): "Tự động nhận theo quy tắc của xã",
    ("waiting", False): "Chờ chọn",
}
ORIGIN_VI = {"central": "Trung ương", "province": "tỉnh", "district": "huyện", "commune": "xã"}


OUTCOME_VI = {"interrupted": "Bị ngắt", "skipped": "Bỏ qua", "failed": "Lỗi"}


def report_label(item: dict[str, Any], now: datetime) -> tuple[str, str] | None:
    """What the commune's devices reported for one programme item, as (text, css class); None when there
    is nothing to say yet (no device, or a play still to come with no report)."""
    r = item.get("reports") or {}
    devices, done = r.get("devices", 0), r.get("completed", 0)
    if not devices:
        return None
    reported = done + sum(r.get(o, 0) for o in OUTCOME_VI)
    if not reported:
        if datetime.fromisoformat(item["end"]) < now:
            return "Chưa có báo cáo phát", "warn"
        return None
    if done >= devices:
        return ("✔ Đã phát" if devices == 1 else f"✔ Đã phát ({done}/{devices} thiết bị)"), "ok"
    parts = [f"Đã phát {done}/{devices}"] + [f"{v} {r[o]}" for o, v in OUTCOME_VI.items() if r.get(o)]
    return " · ".join(parts), "warn"


@page
def screen(req: Req) -> web.StreamResponse:
    area, day, kind, communes = _params(req, req.request.query)
    saved = {
        "order": "Đã lưu thứ tự; chương trình đã được lập lại và gửi xuống thiết bị.",
        "selection": "Đã lưu lựa chọn; chương trình đã được lập lại và gửi xuống thiết bị.",
        "standing": "Đã lưu quy tắc tự động nhận bản tin thông thường; chương trình đã được lập lại.",
    }
    return _render(req, area, day, kind, communes, flash=saved.get(req.request.query.get("saved", ""), ""))


def _render(
    req: Req,
    area: str,
    day: date,
    kind: str,
    communes: list[tuple[str, str]],
    *,
    status: int = 200,
    error: str = "",
    flash: str = "",
) -> web.Response:
    view = req.services.programmes.view(req.actor, area, kind, day)
    prio, normal, reasons = arrange(view)
    today = req.services.ctx.local_now().date()
    windows: dict[str, list[dict[str, Any]]] = {w: [] for w in view["windows"]}
    now = req.services.ctx.now()
    for it in view["programme"]:
        windows.setdefault(it["window"], []).append({**it, "relay": False, "report": report_label(it, now)})
    for r in view.get("relays", []):  # tiếp sóng at its fixed time, among the bulletins
        windows.setdefault(r["window"], []).append({**r, "relay": True})
    for items in windows.values():
        items.sort(key=lambda x: x["start"])
    can = req.actor.may("programme.arrange") and req.actor.covers(area)
    return req.render(
        "programme.html",
        status=status,
        title="Chương trình phát",
        area=area,
        day=day,
        kind=kind,
        communes=communes,
        view=view,
        windows=windows,
        prio=prio,
        normal=normal,
        reasons=reasons,
        days=[(today, "Hôm nay"), (today + timedelta(days=1), "Ngày mai")],
        can_arrange=can,
        error=error,
        flash=flash,
        area_name=dict(communes)[area],
        standing={(r["origin"], r["kind"]) for r in view["standing"]},
        standing_origins={r["origin"] for r in view["standing"]},
        standing_kinds={r["kind"] for r in view["standing"]},
        ORIGIN_VI=ORIGIN_VI,
    )


def _back(area: str, day: date, kind: str, anchor: str = "", **extra: str) -> web.HTTPSeeOther:
    query = {"area": area, "date": day.isoformat(), "kind": kind, **extra}
    return web.HTTPSeeOther("/programme?" + urlencode(query) + anchor)


@page
async def save_order(req: Req) -> web.StreamResponse:
    area, day, kind, communes = await req.run(_params, req, req.form)
    order = req.fields("order")
    move, direction = req.field("move"), req.request.query.get("dir", "")
    if move in order:  # the up/down buttons: each is a submit carrying the row and the direction
        i = order.index(move)
        j = i - 1 if direction == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
    try:
        await req.services.set_order(req.actor, area=area, day=day, order=order, kind=kind)
    except Invalid as exc:
        return await req.run(_render, req, area, day, kind, communes, status=422, error=exc.message)
    if move:  # keep the keyboard focus on the row just moved (app.js reads dir and the anchor)
        raise _back(area, day, kind, f"#prio-{move}", dir=direction)
    raise _back(area, day, kind, "#priority", saved="order")


@page
async def save_selection(req: Req) -> web.StreamResponse:
    """The chair's choice of normal bulletins: ticked ones air, unticked ones shown on the screen do not,
    for the day or their whole validity, on the kinds ticked."""
    area, day, kind, communes = await req.run(_params, req, req.form)
    chosen = req.fields("selection")
    shown = req.fields("shown")
    declined = [b for b in dict.fromkeys(shown) if b not in chosen]
    kinds = tuple(k for k in DEVICE_KINDS if k in req.fields("kinds"))
    try:
        if not kinds:
            raise Invalid(
                "Chọn ít nhất một loại thiết bị (đài truyền thanh, bảng tin điện tử).", field="kinds"
            )
        await req.services.choose_normal(
            req.actor,
            area=area,
            kinds=kinds,
            scope=req.field("scope") or "day",
            day=day,
            selection=chosen,
            declined=declined,
        )
    except Invalid as exc:
        return await req.run(_render, req, area, day, kind, communes, status=422, error=exc.message)
    raise _back(area, day, kind, "#normal", saved="selection")


@page
async def save_standing(req: Req) -> web.StreamResponse:
    """The commune's standing rule: normal bulletins of the levels ticked air on the kinds ticked."""
    area, day, kind, communes = await req.run(_params, req, req.form)
    try:
        await req.services.set_standing(
            req.actor, area=area, origins=req.fields("origins"), kinds=req.fields("kinds")
        )
    except Invalid as exc:
        return await req.run(_render, req, area, day, kind, communes, status=422, error=exc.message)
    raise _back(area, day, kind, "#standing", saved="standing")


def install(app: web.Application) -> None:
    app.router.add_get("/programme", screen)
    app.router.add_post("/programme/order", save_order)
    app.router.add_post("/programme/selection", save_selection)
    app.router.add_post("/programme/standing", save_standing)
