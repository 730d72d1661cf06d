"""The REST API under /api/v1 (docs/API.md). Handlers only translate HTTP <-> services.

A plain `def` handler runs in a worker thread (its services block on the database); `async def`
handlers await services that do their blocking parts in threads themselves.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from aiohttp import BodyPartReader, web

from hub.api.framework import INT_PARAM_MAX, MAX_UPLOAD, Api, client_ip, openapi
from hub.api.schemas import (
    BulletinIn,
    FlagIn,
    LoginIn,
    OccasionIn,
    OrderIn,
    ReasonIn,
    ReviewIn,
    SelectionIn,
    StandingIn,
    UnflagIn,
    WindowsIn,
)
from hub.errors import Invalid
from hub.limits import check_date, read_bounded
from hub.roles import Actor
from hub.services import BulletinDetail, BulletinInput, BulletinView, Services
from hub.services.bulletin_views import BulletinList
from hub.workers import in_web
from protocol.vocabulary import DEVICE_KINDS

api = Api()
S = Services
A = Actor


def _q(request: web.Request, name: str, *, required: bool = False) -> str | None:
    value = request.query.get(name)
    if required and not value:
        raise Invalid(f"Thiếu tham số '{name}' trên URL.", field=name)
    return value or None


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise Invalid(f"Tham số '{name}' phải là số nguyên.", field=name) from None
    if not 0 <= value <= INT_PARAM_MAX:
        raise Invalid(f"Tham số '{name}' phải từ 0 đến {INT_PARAM_MAX}.", field=name)
    return value


def _date(value: str | None, field: str = "date") -> date:
    if not value:
        raise Invalid(f"Thiếu '{field}' (YYYY-MM-DD).", field=field)
    try:
        return check_date(date.fromisoformat(value), field)
    except ValueError:
        raise Invalid(f"'{value}' không phải ngày dạng YYYY-MM-DD.", field=field) from None


def _bulletin_input(body: BulletinIn) -> BulletinInput:
    return BulletinInput(
        title=body.title,
        priority=body.priority,
        form=body.form,
        targets=body.targets,
        kinds=list(body.kinds),
        text=body.text,
        media=body.media,
        subtitles=body.subtitles,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        plays_per_day=body.plays_per_day,
        sensitive=body.sensitive,
        exercise=body.exercise,
        repeat=body.repeat.model_dump() if body.repeat else None,
        after_interrupt=body.after_interrupt,
        origin=body.origin,
        subject=body.subject,
        voice=body.voice,
        language_versions=tuple((v.language, v.media or "") for v in body.language_versions),
    )


def _aware(body: BulletinIn) -> None:
    for name in ("valid_from", "valid_until"):
        v = getattr(body, name)
        if v is not None and v.tzinfo is None:
            raise Invalid(f"'{name}' cần có múi giờ, ví dụ 2026-11-23T05:00:00+07:00.", field=name)


# --- auth
@api.route("POST", "/auth/login", "log in; returns a bearer token", body=LoginIn, auth=False, tag="auth")
async def login(request: web.Request, s: S, _a: None, *, body: LoginIn) -> Any:
    # with the web pages' logins (hub/workers.py): a burst of them never holds the publishing path's threads
    return await in_web(s.accounts.login, body.username, body.password, ip=client_ip(request))


@api.route("POST", "/auth/logout", "revoke the bearer token used", tag="auth")
def logout(request: web.Request, s: S, a: A) -> Any:
    s.accounts.logout(request.headers.get("Authorization", "")[7:].strip())
    return {"ok": True}


@api.route("GET", "/me", "who am I", tag="auth")
def me(request: web.Request, s: S, a: A) -> Any:
    return {"username": a.username, "role": a.role, "area": a.area_path}


# --- bulletins
@api.route(
    "POST",
    "/bulletins",
    "create a bulletin (submitted unless draft=true; text is spoken now)",
    body=BulletinIn,
    status=201,
    tag="bulletins",
    response=BulletinView,
)
async def create_bulletin(request: web.Request, s: S, a: A, *, body: BulletinIn) -> BulletinView:
    _aware(body)
    return await s.bulletins.create(a, _bulletin_input(body), submit=not body.draft)


@api.route(
    "GET",
    "/bulletins",
    "list bulletins visible to me",
    tag="bulletins",
    query=[
        ("status", "filter by status", False),
        ("priority", "filter", False),
        ("area", "filter", False),
        ("limit", "max rows (100)", False),
        ("offset", "skip rows", False),
    ],
    response=BulletinList,
)
def list_bulletins(request: web.Request, s: S, a: A) -> BulletinList:
    return BulletinList(
        bulletins=s.bulletins.list(
            a,
            status=_q(request, "status"),
            priority=_q(request, "priority"),
            area=_q(request, "area"),
            limit=min(_int(request, "limit", 100), 1000),
            offset=_int(request, "offset", 0),
        )
    )


@api.route(
    "GET",
    "/bulletins/{id}",
    "one bulletin with versions and recall confirmations",
    tag="bulletins",
    response=BulletinDetail,
)
def get_bulletin(request: web.Request, s: S, a: A) -> BulletinDetail:
    return s.bulletins.get(a, request.match_info["id"])


@api.route(
    "GET",
    "/bulletins/{id}/deliveries",
    "per target device: first confirmed play, latency from sending, recall confirmation",
    tag="bulletins",
)
def get_deliveries(request: web.Request, s: S, a: A) -> Any:
    return s.deliveries.deliveries(a, request.match_info["id"])


@api.route(
    "PUT",
    "/bulletins/{id}",
    "edit before approval (a new version)",
    body=BulletinIn,
    tag="bulletins",
    response=BulletinView,
)
async def edit_bulletin(request: web.Request, s: S, a: A, *, body: BulletinIn) -> BulletinView:
    _aware(body)
    return await s.bulletins.edit(a, request.match_info["id"], _bulletin_input(body))


@api.route(
    "POST",
    "/bulletins/{id}/submit",
    "submit a draft for approval (text is spoken now)",
    tag="bulletins",
    response=BulletinView,
)
async def submit_bulletin(request: web.Request, s: S, a: A) -> BulletinView:
    return await s.bulletins.submit(a, request.match_info["id"])


@api.route("POST", "/bulletins/{id}/approve", "approve and publish", tag="bulletins", response=BulletinView)
async def approve_bulletin(request: web.Request, s: S, a: A) -> BulletinView:
    return await s.approve(a, request.match_info["id"])


@api.route(
    "POST",
    "/bulletins/{id}/review",
    "reviewer's decision on a sensitive bulletin",
    body=ReviewIn,
    tag="bulletins",
    response=BulletinView,
)
async def review_bulletin(request: web.Request, s: S, a: A, *, body: ReviewIn) -> BulletinView:
    return await s.review(a, request.match_info["id"], body.decision, body.reason)


@api.route(
    "POST",
    "/bulletins/{id}/flag",
    "mark sensitive (editors, reviewers): a bulletin waiting for approval goes to review",
    body=FlagIn,
    tag="bulletins",
    response=BulletinView,
)
def flag_bulletin(request: web.Request, s: S, a: A, *, body: FlagIn) -> BulletinView:
    return s.bulletins.flag(a, request.match_info["id"], body.reason)


@api.route(
    "POST",
    "/bulletins/{id}/unflag",
    "clear the sensitive mark (reviewers only; audited with the reason)",
    body=UnflagIn,
    tag="bulletins",
    response=BulletinView,
)
def unflag_bulletin(request: web.Request, s: S, a: A, *, body: UnflagIn) -> BulletinView:
    return s.bulletins.unflag(a, request.match_info["id"], body.reason)


@api.route(
    "POST",
    "/bulletins/{id}/reject",
    "reject with a reason",
    body=ReasonIn,
    tag="bulletins",
    response=BulletinView,
)
def reject_bulletin(request: web.Request, s: S, a: A, *, body: ReasonIn) -> BulletinView:
    return s.bulletins.reject(a, request.match_info["id"], body.reason)


@api.route(
    "POST",
    "/bulletins/{id}/recall",
    "recall (thu hồi): devices remove it and confirm",
    body=ReasonIn,
    tag="bulletins",
    response=BulletinView,
)
async def recall_bulletin(request: web.Request, s: S, a: A, *, body: ReasonIn) -> BulletinView:
    return await s.recall(a, request.match_info["id"], body.reason)


@api.route(
    "POST",
    "/alerts/{id}/cancel",
    "cancel an emergency at once",
    tag="bulletins",
    response=BulletinView,
)
async def cancel_alert(request: web.Request, s: S, a: A) -> BulletinView:
    return await s.cancel_alert(a, request.match_info["id"])


# --- media
@api.route(
    "POST",
    "/media",
    "upload a file (multipart field 'file' or a raw body with Content-Type)",
    status=201,
    tag="media",
    query=[("for", "radio (audio only) | led (image, video, WebVTT or audio)", False)],
)
async def upload_media(request: web.Request, s: S, a: A) -> Any:
    name, mime = "", request.content_type
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        data = b""
        while True:
            part = await reader.next()
            if part is None:
                break
            if isinstance(part, BodyPartReader) and part.name == "file":
                name = part.filename or ""
                mime = part.headers.get("Content-Type", "")
                data = await read_bounded(part, request.app[MAX_UPLOAD])
        if not data:
            raise Invalid("Không thấy tệp: gửi dạng multipart với trường 'file'.", field="file")
    else:
        data = await request.read()
    # ffprobe and the database: in a worker thread
    return await asyncio.to_thread(
        s.media.upload, a, data, filename=name, declared_mime=mime, purpose=_q(request, "for")
    )


# --- programme
@api.route(
    "GET",
    "/programme",
    "a commune's compiled programme for a day (`programme`: plays with title, priority), with reasons",
    tag="programme",
    query=[("area", "commune path", True), ("kind", "radio|led", True), ("date", "YYYY-MM-DD", False)],
)
def get_programme(request: web.Request, s: S, a: A) -> Any:
    area = _q(request, "area", required=True)
    kind = _q(request, "kind") or "radio"
    day = _date(_q(request, "date")) if _q(request, "date") else s.ctx.local_now().date()
    assert area is not None
    return s.programmes.view(a, area, kind, day)


@api.route(
    "PUT", "/programme/order", "commune chair: order of priority bulletins", body=OrderIn, tag="programme"
)
async def put_order(request: web.Request, s: S, a: A, *, body: OrderIn) -> Any:
    return await s.set_order(a, area=body.area, day=body.date, order=body.order, kind=body.kind)


@api.route(
    "PUT",
    "/programme/selection",
    "commune chair: choose normal bulletins (Art. 8.3) for a day or their whole validity, on one kind or "
    "both; bulletins not listed keep their decision; nothing airs unless chosen",
    body=SelectionIn,
    tag="programme",
)
async def put_selection(request: web.Request, s: S, a: A, *, body: SelectionIn) -> Any:
    day = body.date or s.ctx.local_now().date()
    return await s.choose_normal(
        a,
        area=body.area,
        kinds=DEVICE_KINDS if body.kind == "*" else (body.kind,),
        scope=body.scope,
        day=day if body.scope == "day" else None,
        selection=body.selection,
        declined=body.declined,
    )


@api.route(
    "GET",
    "/programme/standing",
    "a commune's standing rule: normal bulletins of which levels air on which kinds without a choice",
    tag="programme",
    query=[("area", "commune path", True)],
)
def get_standing(request: web.Request, s: S, a: A) -> Any:
    area = _q(request, "area", required=True)
    assert area is not None
    return s.choices.standing(a, area)


@api.route(
    "PUT",
    "/programme/standing",
    "commune chair: set the commune's standing rule (replaces it; empty lists = no rule); audited",
    body=StandingIn,
    tag="programme",
)
async def put_standing(request: web.Request, s: S, a: A, *, body: StandingIn) -> Any:
    return await s.set_standing(a, area=body.area, origins=list(body.origins), kinds=list(body.kinds))


@api.route(
    "GET",
    "/programme/waiting",
    "normal bulletins for a commune, still valid, waiting for the chair's choice",
    tag="programme",
    query=[("area", "commune path", True)],
)
def get_waiting(request: web.Request, s: S, a: A) -> Any:
    area = _q(request, "area", required=True)
    assert area is not None
    waiting = s.choices.waiting(a, area)
    return {"area": area, "count": len(waiting), "bulletins": waiting}


# --- broadcast windows (Art. 10)
def _id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not raw.isdigit() or len(raw) > 12:
        raise Invalid(f"'{raw[:20]}' không phải số hiệu hợp lệ.", field="id")
    return int(raw)


@api.route(
    "GET",
    "/windows",
    "khung giờ phát: the windows in force for an area on a date (per kind, and where they come from), "
    "with the rules and occasions on it, its ancestors and descendants",
    tag="windows",
    query=[("area", "area path", True), ("date", "YYYY-MM-DD (default today)", False)],
)
def get_windows(request: web.Request, s: S, a: A) -> Any:
    area = _q(request, "area", required=True)
    assert area is not None
    day = _date(_q(request, "date")) if _q(request, "date") else None
    return s.windows.overview(a, area, day)


@api.route(
    "PUT",
    "/windows",
    "admin (any area) or commune chair (own commune): an area's windows for a kind from a date on; "
    "on the province they are its defaults; republishes the communes under the area",
    body=WindowsIn,
    tag="windows",
)
async def put_windows(request: web.Request, s: S, a: A, *, body: WindowsIn) -> Any:
    return await s.set_windows(
        a, area=body.area, kind=body.kind, effective_from=body.effective_from, windows=body.windows
    )


@api.route(
    "DELETE", "/windows/{id}", "remove an area's windows rule (the level above applies again)", tag="windows"
)
async def delete_windows(request: web.Request, s: S, a: A) -> Any:
    return await s.delete_windows(a, _id(request))


@api.route(
    "POST",
    "/windows/occasions",
    "extra LED-board hours for an area on some days (Art. 10.2)",
    body=OccasionIn,
    status=201,
    tag="windows",
)
async def post_occasion(request: web.Request, s: S, a: A, *, body: OccasionIn) -> Any:
    return await s.add_occasion(
        a,
        area=body.area,
        name=body.name,
        date_from=body.date_from,
        date_to=body.date_to,
        windows=body.windows,
    )


@api.route("DELETE", "/windows/occasions/{id}", "remove an occasion's LED hours", tag="windows")
async def delete_occasion(request: web.Request, s: S, a: A) -> Any:
    return await s.delete_occasion(a, _id(request))


@api.route("GET", "/openapi.json", "this document", auth=False, tag="meta")
def get_openapi(request: web.Request, s: S, _a: None) -> Any:
    return openapi(api, title="nguon hub API", version="1")
