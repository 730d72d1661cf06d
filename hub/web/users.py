"""Người dùng (administrators): add, disable/enable, reset password."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from hub.errors import Conflict, Invalid, NotFound
from hub.roles import ROLE_NAMES_VI, ROLES
from hub.services.base import require
from hub.web.core import Req, page
from hub.web.listing import paginate, read_query

USER_SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "username": lambda u: u["username"],
    "role": lambda u: (ROLE_NAMES_VI.get(u["role"], u["role"]), u["username"]),
    "area": lambda u: (u["area_vi"], u["username"]),
}


def _ctx(req: Req, **extra: Any) -> dict[str, Any]:
    areas = sorted(req.services.areas.all().values(), key=lambda a: a.path)
    names = {a.path: a.name for a in areas}
    lq = read_query(req.request.query, USER_SORTS, "username", filters=("role",))
    users = [
        {**u, "area_vi": names.get(u["area"], u["area"]) if u["area"] else "Toàn tỉnh"}
        for u in req.services.accounts.list_users(req.actor)
    ]
    shown = [
        u
        for u in users
        if lq.matches(u["username"], u["full_name"], u["area_vi"], ROLE_NAMES_VI.get(u["role"]))
        and lq.filters.get("role", u["role"]) == u["role"]
    ]
    return {
        "title": "Người dùng",
        "L": paginate(shown, lq, "/users", USER_SORTS),
        "roles": ROLES,
        "review_groups": dict(req.services.ctx.config.review.groups),
        "areas": [a for a in areas if req.actor.covers(a.path)],
        "errors": {},
        "values": {},
        "flash": "",
        "new_password": "",
        **extra,
    }


@page
def users_page(req: Req) -> web.StreamResponse:
    require(req.actor, "user.manage", "users-page")
    return req.render("users.html", **_ctx(req))


@page
def add_user(req: Req) -> web.StreamResponse:
    values = {k: req.field(k) for k in ("username", "full_name", "role", "area")}
    try:
        req.services.accounts.create_user(
            req.actor,
            username=values["username"],
            password=req.field("password"),
            role=values["role"],
            area=values["area"] or None,
            full_name=values["full_name"],
        )
    except (Invalid, Conflict) as exc:
        return req.render(
            "users.html",
            status=exc.status,
            **_ctx(req, errors={exc.field or "username": exc.message}, values=values),
        )
    return req.render("users.html", **_ctx(req, flash=f"Đã tạo tài khoản {values['username']}."))


@page
def user_action(req: Req) -> web.StreamResponse:
    name, what = req.request.match_info["username"], req.field("action")
    try:
        if what in ("disable", "enable"):
            req.services.accounts.set_disabled(req.actor, name, what == "disable")
            flash = f"Đã {'khóa' if what == 'disable' else 'mở lại'} tài khoản {name}."
            return req.render("users.html", **_ctx(req, flash=flash))
        if what == "group":
            out = req.services.accounts.set_review_group(req.actor, name, req.field("review_group"))
            groups = req.services.ctx.config.review.groups
            label = groups.get(out["review_group"] or "", "không thuộc nhóm nào")
            return req.render("users.html", **_ctx(req, flash=f"{name}: nhóm kiểm duyệt {label}."))
        if what == "reset":
            new = req.services.accounts.reset_password(req.actor, name)
            return req.render(
                "users.html",
                **_ctx(req, flash=f"Đã đặt lại mật khẩu cho {name}.", new_password=new, reset_user=name),
            )
        raise Invalid("Thao tác không hợp lệ.", field="action")
    except (Invalid, NotFound) as exc:
        return req.render("users.html", status=exc.status, **_ctx(req, errors={"_top": exc.message}))


def install(app: web.Application) -> None:
    app.router.add_get("/users", users_page)
    app.router.add_post("/users", add_user)
    app.router.add_post("/users/{username}/action", user_action)
