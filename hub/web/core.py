"""What every page shares: the Jinja2 environment, the session/CSRF check, and turning errors into pages."""

from __future__ import annotations

import asyncio
import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast
from urllib.parse import quote

import jinja2
from aiohttp import web
from multidict import MultiDictProxy

from hub.api.framework import SERVICES, client_ip
from hub.errors import Forbidden, NotFound, ServiceError, Unauthorized
from hub.limits import TEXT_MAX, number_vi
from hub.roles import ROLE_NAMES_VI, Actor
from hub.services import Services
from hub.services.accounts import SESSION_COOKIE
from hub.services.bulletin_checks import AUDIO_CAPTION_MAX, SUBJECT_VI
from hub.services.periods import report_due
from hub.workers import in_web
from tts.estimate import WORDS_PER_MINUTE, estimate_duration_ms, spoken_words

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
JINJA = web.AppKey("web_jinja", jinja2.Environment)
LOGIN_CSRF_COOKIE = "nguon_login_csrf"
T = TypeVar("T")
P = ParamSpec("P")

PRIORITY_VI = {"emergency": "Khẩn cấp", "priority": "Ưu tiên", "normal": "Thông thường"}
FORM_VI = {
    "text": "Ký tự",
    "audio": "Âm thanh",
    "image": "Hình ảnh",
    "infographic": "Đồ họa",
    "video": "Video",
}
KIND_VI = {"radio": "Đài truyền thanh", "led": "Bảng tin điện tử"}
LEVEL_VI = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã"}


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        PRIORITY_VI=PRIORITY_VI,
        FORM_VI=FORM_VI,
        SUBJECT_VI=SUBJECT_VI,
        KIND_VI=KIND_VI,
        ROLE_NAMES_VI=ROLE_NAMES_VI,
        LEVEL_VI=LEVEL_VI,
        number_vi=number_vi,
        SPEECH_WPM=WORDS_PER_MINUTE,
        AUDIO_CAPTION_MAX=AUDIO_CAPTION_MAX,
        TEXT_MAX=TEXT_MAX,
        speech_estimate=speech_estimate,
    )
    env.filters["localtime"] = _localtime
    env.filters["vndate"] = _vndate
    return env


def _vndate(iso: str) -> str:
    """An ISO date (YYYY-MM-DD) as Vietnamese write it: 24/11/2026."""
    return f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}" if len(iso) == 10 else iso


def speech_estimate(text: str | None, form: str | None) -> str:
    """The line under a bulletin's text: its spoken duration (text form) or its caption's length (audio).
    hub/web/static/app.js writes the same words while the editor types."""
    text = text or ""
    if form == "audio":
        n = len(text.strip())
        return f"Bản tin âm thanh: phần chữ chỉ là tóm tắt, tối đa {AUDIO_CAPTION_MAX} ký tự (đang có {n})."
    if form not in (None, "", "text"):
        return ""
    words = spoken_words(text)
    total_s = round(estimate_duration_ms(text) / 1000)
    m, s = divmod(total_s, 60)
    took = f"{m} phút {s} giây" if m else f"{s} giây"
    chars = f"{number_vi(len(text))}/{number_vi(TEXT_MAX)} ký tự"
    return f"{chars}: khoảng {words} từ, đọc mất khoảng {took} (ước tính {WORDS_PER_MINUTE} từ/phút)."


def _localtime(value: Any, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """ISO text or datetime -> local wall time (the tz is set per request through the env globals)."""
    if not value:
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    tz = _localtime.tz  # type: ignore[attr-defined]
    return dt.astimezone(tz).strftime(fmt) if dt.tzinfo else dt.strftime(fmt)


@dataclass
class Req:
    """One page request: the aiohttp request, the services, who is acting, the CSRF token and the form."""

    request: web.Request
    services: Services
    actor: Actor
    csrf: str
    form: MultiDictProxy[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    waiting: int | None = None  # read with the session, on a web thread (_fill_menu)
    menu: dict[str, Any] = field(default_factory=dict)
    urgent: bool = False  # an emergency page: its work goes before the web's queue (hub/workers.py)

    def render(self, template: str, status: int = 200, **ctx: Any) -> web.Response:
        # read on a worker thread with the session (_menu): the menu shows a chair how many normal
        # bulletins wait for their choice (Art. 8.3), everyone how many notifications came since they last
        # opened the start page, and the duty editors a central emergency on every page (Art. 8.1)
        ctx.setdefault("waiting", self.waiting)
        ctx.setdefault("report_due", self.menu.get("report_due"))
        if "new_notices" not in ctx:
            ctx["new_notices"] = self.menu.get("new_notices", 0)
        ctx.setdefault("central_alerts", self.menu.get("central_alerts", []))
        ctx.setdefault("counts", self.menu.get("counts", {}))
        return render(self.request, template, status=status, actor=self.actor, csrf=self.csrf, **ctx)

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Blocking work (the services read and write the database) on a web thread, off the loop (an
        urgent page's: on the publishing path's threads)."""
        return await _run(self.urgent, fn, *args, **kwargs)

    def report_due(self) -> date | None:
        """The deadline of the caller's periodic report (Art. 18), from 1 June / 1 December, for whoever
        drafts it; the menu's Thống kê link shows it."""
        if not self.actor.may("report.generate"):
            return None
        own = self.actor.area_path
        level = self.services.areas.get(own).level if own else "province"
        return report_due(level, self.services.ctx.local_now().date())

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name, default) if self.form is not None else default
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        return [
            v for v in (self.form.getall(name, []) if self.form is not None else []) if isinstance(v, str)
        ]


SEEN_COOKIE = "nguon_seen"  # when this browser last showed the start page's notifications (hub.web.home)


def seen_at(req: Req) -> datetime | None:
    raw = req.request.cookies.get(SEEN_COOKIE, "")
    try:
        at = datetime.fromisoformat(raw[:40]) if raw else None
    except ValueError:
        return None  # a cookie someone wrote by hand: everything counts as new
    return at if at is not None and at.tzinfo is not None else None


def new_notices(req: Req) -> int:
    since = seen_at(req)
    return sum(
        1 for n in req.services.notices.for_actor(req.actor, after=since) if since is None or n.at > since
    )


def render(request: web.Request, template: str, *, status: int = 200, **ctx: Any) -> web.Response:
    env = request.app[JINJA]
    services = request.app[SERVICES]
    _localtime.tz = services.ctx.tz  # type: ignore[attr-defined]
    ctx.setdefault("actor", None)
    ctx.setdefault("csrf", "")
    ctx.setdefault("path", request.path)
    ctx.setdefault("waiting", None)
    ctx.setdefault("new_notices", 0)
    ctx.setdefault("central_alerts", [])
    ctx.setdefault("counts", {})
    html = env.get_template(template).render(**ctx)
    resp = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    # Pages carry session data: no caching, no framing, no inline script injection from elsewhere.
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    # media-src blob: the page's own scripts play what they made (Nghe thử, a recording before upload)
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'"
    )
    return resp


def error_page(request: web.Request, exc: ServiceError, actor: Actor | None, csrf: str = "") -> web.Response:
    titles = {403: "Không có quyền", 404: "Không tìm thấy", 409: "Không thực hiện được"}
    return render(
        request,
        "error.html",
        status=exc.status,
        actor=actor,
        csrf=csrf,
        title=titles.get(exc.status, "Có lỗi"),
        message=exc.message,
        code=exc.status,
    )


def plain_error_page(request: web.Request, status: int, message: str) -> web.Response:
    """An error page for a request refused before its handler ran (a body over the route's limit)."""
    return render(
        request, "error.html", status=status, title="Không thực hiện được", message=message, code=status
    )


def login_redirect(request: web.Request) -> web.HTTPFound:
    nxt = request.path_qs if request.method == "GET" else "/"
    resp = web.HTTPFound(f"/login?next={quote(nxt, safe='')}")
    resp.del_cookie(SESSION_COOKIE, path="/")
    return resp


PageHandler = Callable[[Req], Awaitable[web.StreamResponse]] | Callable[[Req], web.StreamResponse]


def _session(services: Any, cookie: str, ip: str) -> tuple[Actor, str]:
    actor, csrf = services.accounts.authenticate(cookie, kind="session", ip=ip)
    return actor, csrf or ""


def _fill_menu(req: Req) -> None:
    """What every page's menu shows, read before the page (on a worker thread, like the page)."""
    req.waiting = req.services.choices.waiting_count(req.actor)
    req.menu = {
        "new_notices": new_notices(req),
        "counts": req.services.counters.for_actor(req.actor),
        "central_alerts": req.services.central.attention(req.actor),
        "report_due": req.report_due(),
    }


async def _run(urgent: bool, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    if urgent:
        return await asyncio.to_thread(fn, *args, **kwargs)
    return await in_web(fn, *args, **kwargs)


def page(fn: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A logged-in page: session cookie, CSRF on every POST, and service errors shown as pages.

    Nothing here or in the page blocks the event loop: the session is read on a web thread
    (hub/workers.py); a plain `def` page runs whole on one; an `async def` page (one that awaits the
    services' approve, publish...) sends its own blocking calls there with `req.run`."""
    return _make_page(fn, urgent=False)


def urgent_page(fn: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page that sends an emergency: like `page`, on the publishing path's threads rather than behind
    the web's queue (a hundred browsers must not delay the console's Send)."""
    return _make_page(fn, urgent=True)


def _make_page(fn: PageHandler, *, urgent: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        cookie = request.cookies.get(SESSION_COOKIE, "")
        if not cookie:
            raise login_redirect(request)
        try:
            actor, csrf = await _run(urgent, _session, services, cookie, client_ip(request))
        except Unauthorized:
            raise login_redirect(request) from None
        req = Req(request, services, actor, csrf, urgent=urgent)
        try:
            if request.method == "POST":
                req.form = await request.post()
                given = req.form.get("csrf")
                services.accounts.check_csrf(csrf, given if isinstance(given, str) else None)
            await _run(urgent, _fill_menu, req)
            if inspect.iscoroutinefunction(fn):
                return cast(web.StreamResponse, await fn(req))
            return cast(web.StreamResponse, await _run(urgent, fn, req))
        except Unauthorized as exc:  # a bad CSRF token: refuse, say why, change nothing
            return render(
                request,
                "error.html",
                status=403,
                actor=actor,
                csrf=req.csrf,
                title="Yêu cầu bị từ chối",
                message=exc.message,
                code=403,
            )
        except Forbidden as exc:
            await _run(urgent, services.ctx.audit_denied, actor, exc)
            return error_page(request, exc, actor, req.csrf)
        except (NotFound, ServiceError) as exc:
            return error_page(request, exc, actor, req.csrf)
        except web.HTTPException:
            raise  # redirects and the like
        except Exception:  # a bug: log it whole, show the user a page in their language, not a stack trace
            log.exception("page %s %s failed", request.method, request.path)
            return render(
                request,
                "error.html",
                status=500,
                actor=actor,
                csrf=req.csrf,
                title="Lỗi hệ thống",
                message="Có lỗi trong hệ thống; đã ghi vào nhật ký. Hãy thử lại sau ít phút, "
                "nếu vẫn lỗi hãy báo cho quản trị hệ thống.",
                code=500,
            )

    handler.__name__ = fn.__name__
    return handler


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)
