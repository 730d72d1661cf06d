"""Đăng nhập / đăng xuất: a browser session in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from hub.api.framework import SERVICES, client_ip
from hub.errors import Invalid, Locked, Unauthorized
from hub.services.accounts import SESSION_COOKIE
from hub.web.core import LOGIN_CSRF_COOKIE, Req, new_login_csrf, page, render
from hub.workers import in_web


def _safe_next(value: str) -> str:
    """Only a path on this hub: an open redirect after login would be a phishing aid. Browsers drop tabs
    and newlines and read '\\' as '/', so '/<TAB>/evil' and '/\\evil' are other sites: those go to '/'."""
    if (
        not value.startswith("/")
        or value.startswith("//")
        or len(value) > 2000
        or any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        return "/"
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else "/"


def _login_form(
    request: web.Request, *, status: int = 200, username: str = "", error: str = "", field: str = ""
) -> web.Response:
    token = new_login_csrf()
    resp = render(
        request,
        "login.html",
        status=status,
        login_csrf=token,
        username=username,
        error=error,
        error_field=field,
        next=_safe_next(request.query.get("next", "/")),
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        path="/login",
        secure=request.app[SERVICES].ctx.config.cookies_secure,
    )
    return resp


async def login_get(request: web.Request) -> web.StreamResponse:
    return _login_form(request)


async def login_post(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    form = await request.post()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    try:
        services.accounts.check_csrf(expected, str(form.get("csrf", "")))
    except Unauthorized:
        return _login_form(
            request,
            status=403,
            username=username,
            error="Phiên của trang đăng nhập đã hết; hãy nhập lại và gửi lần nữa.",
        )
    try:
        # argon2id and the session's rows: off the loop (hub/workers.py)
        sess = await in_web(services.accounts.login_session, username, password, ip=client_ip(request))
    except Locked as exc:
        resp = _login_form(request, status=429, username=username, error=exc.message, field="password")
        resp.headers["Retry-After"] = str(exc.extra.get("retry_after_s", 60))
        return resp
    except (Unauthorized, Invalid) as exc:
        return _login_form(
            request,
            status=401 if isinstance(exc, Unauthorized) else 422,
            username=username,
            error=exc.message,
            field=getattr(exc, "field", None) or "password",
        )
    target = _safe_next(str(form.get("next", "/")))
    resp = web.HTTPSeeOther(target)
    resp.set_cookie(
        SESSION_COOKIE,
        sess.cookie,
        httponly=True,
        samesite="Strict",
        path="/",
        max_age=services.ctx.config.security.session_ttl_s,
        secure=services.ctx.config.cookies_secure,
    )
    resp.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    raise resp


@page
def logout(req: Req) -> web.StreamResponse:
    req.services.accounts.logout(req.request.cookies.get(SESSION_COOKIE, ""))
    resp = web.HTTPSeeOther("/login")
    resp.del_cookie(SESSION_COOKIE, path="/")
    raise resp


def install(app: web.Application) -> None:
    app.router.add_get("/login", login_get)
    app.router.add_post("/login", login_post)
    app.router.add_post("/logout", logout)
