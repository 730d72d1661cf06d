"""Phát khẩn cấp: red console; confirmation naming the areas; exercise mode; one-click cancel; latency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from hub.api.framework import json_response
from hub.errors import Conflict, Invalid
from hub.services import BulletinDetail, BulletinInput, BulletinSummary
from hub.services.base import deny
from hub.web.bulletins import area_names
from hub.web.core import Req, page, urgent_page
from hub.web.forms import BulletinForm, field_error, read_form, to_input
from protocol.vocabulary import DEVICE_KINDS, LIVE_STATUSES


def latency_vi(ms: int | None) -> str:
    """Sending to first play as the console shows it: "180 ms", "1,4 giây" (Vietnamese decimal comma)."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    return f"{ms / 1000:.1f}".replace(".", ",") + " giây"


def _require_emergency(req: Req) -> None:
    if not req.actor.may("bulletin.emergency"):
        raise deny(
            "bulletin.emergency",
            "emergency-console",
            "Chỉ biên tập viên hoặc quản trị hệ thống được phát bản tin khẩn cấp.",
        )


def _ctx(req: Req, f: BulletinForm) -> dict[str, Any]:
    return {
        "f": f,
        "tree": req.services.areas.tree(req.actor.area_path),
        "names": area_names(req.services),
        "emergency": True,
        "title": "Phát khẩn cấp",
    }


def _active(req: Req) -> list[BulletinSummary]:
    rows = req.services.bulletins.list(req.actor, priority="emergency", limit=50)
    return [b for b in rows if b.status in LIVE_STATUSES]


@urgent_page
def console(req: Req) -> web.StreamResponse:
    _require_emergency(req)
    f = BulletinForm.blank(priority="emergency")
    f.kinds = list(DEVICE_KINDS)
    return req.render("emergency.html", active=_active(req), **_ctx(req, f))


def _checked(req: Req) -> tuple[BulletinForm, BulletinInput | None]:
    f = read_form(req)
    # a message recorded at the microphone (or a phone's file) makes it an audio emergency
    f.values["priority"], f.values["form"] = "emergency", "audio" if f.v("media") else "text"
    data = to_input(f, req.services.ctx.tz)
    if data is not None:
        try:
            req.services.bulletins.validate(req.actor, data)  # the service's own checks, before confirming
        except Invalid as exc:
            field_error(f, exc)
            data = None
    return f, data


@urgent_page
def confirm(req: Req) -> web.StreamResponse:
    _require_emergency(req)
    f, data = _checked(req)
    if data is None:
        return req.render("emergency.html", status=422, active=_active(req), **_ctx(req, f))
    return req.render("emergency_confirm.html", reach=_reach(req, f), **_ctx(req, f))


def _reach(req: Req, f: BulletinForm) -> dict[str, int]:
    """What the confirmation counts: communes and devices (of the chosen kinds) the alert goes to."""
    communes = req.services.areas.leaves_under(f.targets)
    inside = set(communes)
    everyone = req.services.devices.list(req.actor)
    devices = [d for d in everyone if d["area"] in inside and d["kind"] in f.kinds]
    return {
        "communes": len(communes),
        "devices": len(devices),
        "online": sum(1 for d in devices if d["online"]),
    }


@urgent_page
async def send(req: Req) -> web.StreamResponse:
    """Create, speak and approve in one go: the confirmation was the second person-check."""
    _require_emergency(req)
    f, data = await req.run(_checked, req)
    if data is not None:
        try:
            b = await req.services.bulletins.create(req.actor, data, submit=True)
            await req.services.approve(req.actor, b.id)
            raise web.HTTPSeeOther(f"/emergency/{b.id}")
        except (Invalid, Conflict) as exc:
            field_error(f, exc)
    active, ctx = await req.run(lambda: (_active(req), _ctx(req, f)))
    return req.render("emergency.html", status=422, active=active, **ctx)


def _emergency(req: Req) -> BulletinDetail:
    b = req.services.bulletins.get(req.actor, req.request.match_info["id"])
    if b.priority != "emergency":
        raise Invalid("Bản tin này không phải bản tin khẩn cấp.", field="id")
    return b


def live_status(req: Req, b: BulletinDetail) -> dict[str, Any]:
    """Per target device: first confirmed play (status or play event) and the seconds from sending to it."""
    dl = req.services.deliveries.deliveries(req.actor, b.id)
    names = area_names(req.services)
    tz = req.services.ctx.tz
    rows = []
    for d in dl["devices"]:
        at = datetime.fromisoformat(d["first_play_at"]) if d["first_play_at"] else None
        rows.append(
            {
                "id": d["device_id"],
                "name": d["name"] or d["device_id"],
                "kind": d["kind"],
                "area": names.get(d["area"], d["area"]),
                "online": d["online"],
                "played_at": at.astimezone(tz).strftime("%H:%M:%S") if at else None,
                "latency_s": round(d["latency_ms"] / 1000, 1) if d["latency_ms"] is not None else None,
                "latency_vi": latency_vi(d["latency_ms"]),
                "confirmed_by": d["confirmed_by"],
                "recall_confirmed": d["recall_confirmed_at"] is not None,
            }
        )
    stop = stop_view(req, b, rows, b.cancelled_at) if b.cancelled_at else None
    return {
        "id": b.id,
        "stop": stop,
        "status": dl["status"],
        "status_label": dl["status_label"],
        "exercise": dl["exercise"],
        "sent_at": dl["sent_at"],
        "devices": rows,
        "confirmed": dl["confirmed"],
        "total": dl["total"],
    }


def stop_view(req: Req, b: BulletinDetail, rows: list[dict[str, Any]], cancelled_at: str) -> dict[str, Any]:
    """After a cancel: which devices said they stopped (a status since the cancel that no longer plays
    it), which still play it, and which have said nothing since (offline ones among them)."""
    since = datetime.fromisoformat(cancelled_at)
    now = {d["id"]: d for d in req.services.devices.list(req.actor)}
    stopped, playing, silent = 0, [], []
    for r in rows:
        d = now.get(r["id"])
        seen = datetime.fromisoformat(d["last_seen"]) if d and d["last_seen"] else None
        if d and d["now_playing"] == b.id and d["state"] == "emergency":
            playing.append({**r, "why": "vẫn báo đang phát"})
        elif d and seen is not None and seen > since and d["online"]:
            stopped += 1
        else:
            why = "mất kết nối" if d and not d["online"] else "chưa báo lại từ lúc hủy"
            silent.append({**r, "why": why})
    at = since.astimezone(req.services.ctx.tz).strftime("%H:%M:%S")
    return {"at": at, "stopped": stopped, "total": len(rows), "not_stopped": playing + silent,
            "playing": len(playing), "silent": len(silent)}  # fmt: skip


@page
def live(req: Req) -> web.StreamResponse:
    """The live console: devices that have not played yet come first (in a province, the few that need
    a phone call are not lost among a thousand that played); `?pending=1` shows only those."""
    b = _emergency(req)
    st = live_status(req, b)
    st["devices"].sort(key=lambda d: d["played_at"] is not None)  # stable: area order within each group
    pending_only = req.request.query.get("pending") == "1"
    if pending_only:
        st["devices"] = [d for d in st["devices"] if d["played_at"] is None]
    return req.render(
        "emergency_live.html",
        title=f"Khẩn cấp: {b.title}",
        b=b,
        st=st,
        pending=st["total"] - st["confirmed"],
        pending_only=pending_only,
        names=area_names(req.services),
    )


@page
def status_json(req: Req) -> web.StreamResponse:
    return json_response(live_status(req, _emergency(req)))


@urgent_page
async def cancel(req: Req) -> web.StreamResponse:
    b = await req.run(_emergency, req)
    try:
        await req.services.cancel_alert(req.actor, b.id)
    except Conflict as exc:
        st, names = await req.run(lambda: (live_status(req, b), area_names(req.services)))
        return req.render(
            "emergency_live.html",
            status=409,
            title=f"Khẩn cấp: {b.title}",
            b=b,
            st=st,
            names=names,
            cancel_error=exc.message,
        )
    raise web.HTTPSeeOther(f"/emergency/{b.id}")


def install(app: web.Application) -> None:
    r = app.router
    r.add_get("/emergency", console)
    r.add_post("/emergency/confirm", confirm)
    r.add_post("/emergency/send", send)
    r.add_get("/emergency/{id}", live)
    r.add_get("/emergency/{id}/status.json", status_json)
    r.add_post("/emergency/{id}/cancel", cancel)
