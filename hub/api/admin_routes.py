"""The REST API's plays, users, audit, areas, devices and keys (docs/API.md). Installed with the other routes
(the same `api`, hub/api/routes.py); handlers only translate HTTP <-> services."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from hub.api.routes import A, S, _int, _q, api
from hub.api.schemas import (
    AreaLanguagesIn,
    CommandIn,
    DeviceIn,
    ReorganiseIn,
    UserIn,
    UserPatch,
)
from hub.errors import Invalid
from hub.limits import check_date
from hub.services.languages import catalogue
from protocol.clock import parse_time
from protocol.keys import public_key_b64


# --- plays
@api.route(
    "GET",
    "/plays",
    "proof of play as the hub received it",
    tag="plays",
    query=[
        ("bulletin", "bulletin id", False),
        ("device", "device id", False),
        ("area", "area path: its plays and those of the old units it came from", False),
        ("limit", "max", False),
        ("offset", "skip rows", False),
    ],
)
def get_plays(request: web.Request, s: S, a: A) -> Any:
    return {
        "plays": s.devices.plays(
            a,
            bulletin=_q(request, "bulletin"),
            device=_q(request, "device"),
            area=_q(request, "area"),
            limit=min(_int(request, "limit", 500), 5000),
            offset=_int(request, "offset", 0),
        )
    }


# --- users
@api.route("POST", "/users", "create an account", body=UserIn, status=201, tag="users")
def create_user(request: web.Request, s: S, a: A, *, body: UserIn) -> Any:
    return s.accounts.create_user(
        a,
        username=body.username,
        password=body.password,
        role=body.role,
        area=body.area,
        full_name=body.full_name,
    )


@api.route("GET", "/users", "list accounts", tag="users")
def list_users(request: web.Request, s: S, a: A) -> Any:
    return {"users": s.accounts.list_users(a)}


@api.route(
    "PATCH",
    "/users/{username}",
    "disable/enable an account, set its password or its reviewer group",
    body=UserPatch,
    tag="users",
)
def patch_user(request: web.Request, s: S, a: A, *, body: UserPatch) -> Any:
    name = request.match_info["username"]
    out: dict[str, Any] = {}
    if body.review_group is not None:
        s.accounts.check_review_group(a, name, body.review_group)
    if body.password is not None:
        s.accounts.reset_password(a, name, body.password)
        out["password_changed"] = True
    if body.disabled is not None:
        out.update(s.accounts.set_disabled(a, name, body.disabled))
    if body.review_group is not None:
        out.update(s.accounts.set_review_group(a, name, body.review_group))
    return out


# --- audit
def _when(request: web.Request, name: str) -> datetime | None:
    raw = _q(request, name)
    if raw is None:
        return None
    try:
        return check_date(parse_time(raw), name)
    except (ValueError, OverflowError):
        raise Invalid(
            f"'{name}' cần thời điểm ISO 8601 có múi giờ, ví dụ 2026-11-23T05:00:00+07:00.", field=name
        ) from None


@api.route(
    "GET",
    "/audit",
    "audit log, newest first (administrators)",
    tag="audit",
    query=[
        ("action", "exact, or a prefix ending in '.' (bulletin.)", False),
        ("username", "filter", False),
        ("target", "bulletin/device/user id", False),
        ("outcome", "ok|denied|failed", False),
        ("since", "ISO 8601 with offset", False),
        ("until", "ISO 8601 with offset", False),
        ("limit", "max rows (200, at most 1000)", False),
        ("offset", "skip rows", False),
    ],
)
def get_audit(request: web.Request, s: S, a: A) -> Any:
    return {
        "entries": s.audit(
            a,
            action=_q(request, "action"),
            username=_q(request, "username"),
            target=_q(request, "target"),
            outcome=_q(request, "outcome"),
            since=_when(request, "since"),
            until=_when(request, "until"),
            limit=_int(request, "limit", 200),
            offset=_int(request, "offset", 0),
        )
    }


# --- areas, devices, keys
@api.route("GET", "/areas", "the area tree", tag="areas")
def get_areas(request: web.Request, s: S, a: A) -> Any:
    return {"areas": s.areas.tree()}


@api.route("GET", "/languages", "the languages catalogue (ISO 639-3 code, Vietnamese name)", tag="areas")
def get_languages(request: web.Request, s: S, a: A) -> Any:
    return {"languages": catalogue()}


@api.route("GET", "/areas/languages", "an area's local languages (own, in force, and where from)",
           tag="areas", query=[("area", "area path", True)])
def get_area_languages(request: web.Request, s: S, a: A) -> Any:
    return s.languages.view(_q(request, "area", required=True) or "")


@api.route("PUT", "/areas/languages", "admin: set an area's local languages (null: as the unit above); "
           "republishes the communes under it", body=AreaLanguagesIn, tag="areas")
async def put_area_languages(request: web.Request, s: S, a: A, *, body: AreaLanguagesIn) -> Any:
    raw = None if body.languages is None else [
        x if isinstance(x, str) else x.model_dump() for x in body.languages]
    return await s.set_area_languages(a, body.area, raw)


@api.route("POST", "/areas/reorganise", "apply a reorganisation plan (dry_run: say what would change)",
           body=ReorganiseIn, tag="areas")
async def reorganise_areas(request: web.Request, s: S, a: A, *, body: ReorganiseIn) -> Any:
    return (await s.reorganise(a, body.plan, dry_run=body.dry_run)).to_dict()


@api.route("GET", "/areas/lineage", "what an area came from and became through reorganisations",
           tag="areas", query=[("area", "area path, old or new", True)])
def area_lineage(request: web.Request, s: S, a: A) -> Any:
    return s.area_lineage(a, _q(request, "area", required=True) or "")


@api.route("GET", "/devices", "devices with status", tag="devices", query=[("area", "subtree", False)])
def list_devices(request: web.Request, s: S, a: A) -> Any:
    return {"devices": s.devices.list(a, area=_q(request, "area"))}


@api.route("POST", "/devices", "register a device", body=DeviceIn, status=201, tag="devices")
def add_device(request: web.Request, s: S, a: A, *, body: DeviceIn) -> Any:
    return s.devices.register(
        a, device_id=body.id, kind=body.kind, area=body.area, name=body.name, lat=body.lat, lon=body.lon
    )


@api.route("DELETE", "/devices/{id}", "remove a device from the registry (its broker account goes too)",
           tag="devices")
def remove_device(request: web.Request, s: S, a: A) -> Any:
    return s.broker_secrets.remove(a, request.match_info["id"])


@api.route("POST", "/devices/{id}/broker-secret", "a new broker password for the device (managed broker "
           "files; shown once, the old one stops working)", tag="devices")
def rotate_broker_secret(request: web.Request, s: S, a: A) -> Any:
    return s.broker_secrets.rotate(a, request.match_info["id"])


@api.route(
    "POST",
    "/devices/{id}/commands",
    "send a command (volume/test_tone/resync/stop/report)",
    body=CommandIn,
    status=202,
    tag="devices",
)
async def device_command(request: web.Request, s: S, a: A, *, body: CommandIn) -> Any:
    return await s.command(a, request.match_info["id"], body.command, dict(body.args))


@api.route(
    "GET",
    "/devices/{id}/commands",
    "recent commands with the device's answers",
    tag="devices",
    query=[("limit", "max rows (50)", False)],
)
def device_commands(request: web.Request, s: S, a: A) -> Any:
    return {"commands": s.devices.commands(a, request.match_info["id"], limit=_int(request, "limit", 50))}


@api.route("GET", "/keys", "the hub's public signing key(s), for agent set-up", auth=False, tag="keys")
def get_keys(request: web.Request, s: S, _a: None) -> Any:
    k = s.envelopes.key
    return {"keys": [{"key_id": k.key_id, "public_key": public_key_b64(k.public), "alg": "Ed25519"}]}
