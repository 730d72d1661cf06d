"""Bounds on what a stranger or a staff account can send: body size per route, field lengths, JSON depth,
date ranges, and the cut applied to values written to the audit log (docs/SECURITY.md, Bounded input)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

from aiohttp import web

from hub.errors import Invalid, ServiceError

KIB = 1024
SMALL_BODY = 64 * KIB  # JSON and forms: a login, a reason, an order, a user
TEXT_BODY = 256 * KIB  # a bulletin with its text (10,000 Vietnamese characters, percent- or \u-escaped)

# Field lengths, in characters; the error message names the limit.
USERNAME_MAX = 64
PASSWORD_MAX = 256
TITLE_MAX = 300
TEXT_MAX = 10_000
REASON_MAX = 2_000
NAME_MAX = 200
ID_MAX = 64
PATH_MAX = 64  # an area path: a few codes joined by '/'
LIST_MAX = 500
JSON_DEPTH_MAX = 32
YEAR_MIN, YEAR_MAX = 2000, 2100

AUDIT_VALUE_MAX = 256  # characters of one value kept in the audit log

# Routes that take a file (their body may be up to http.max_upload_mb) and those that take a bulletin's text.
_UPLOAD = [
    ("POST", re.compile(r"^/api/v1/media$")),
    ("POST", re.compile(r"^/bulletins/new$")),
    ("POST", re.compile(r"^/bulletins/[^/]+/edit$")),
    ("POST", re.compile(r"^/api/v1/central/cap$")),  # a CAP alert may carry its audio inline
]
_TEXT = [
    ("POST", re.compile(r"^/api/v1/bulletins$")),
    ("PUT", re.compile(r"^/api/v1/bulletins/[^/]+$")),
    ("POST", re.compile(r"^/emergency/(confirm|send)$")),
    ("POST", re.compile(r"^/api/v1/areas/reorganise$")),  # a province's plan: a few hundred steps
]

PAGE_ERROR = web.AppKey("page_error", object)  # set by hub.web: (request, status, message) -> Response


class PayloadTooLarge(ServiceError):
    status = 413
    code = "too_large"


def body_limit(method: str, path: str, max_upload_bytes: int) -> int:
    """The largest body the route accepts."""
    if any(m == method and rx.match(path) for m, rx in _UPLOAD):
        return max_upload_bytes
    if any(m == method and rx.match(path) for m, rx in _TEXT):
        return TEXT_BODY
    return SMALL_BODY


def _size(n: int) -> str:
    return f"{n // (KIB * KIB)} MiB" if n >= KIB * KIB else f"{n // KIB} KiB"


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"Nội dung gửi lên quá lớn: tối đa {_size(limit)} cho địa chỉ này; hãy rút ngắn nội dung "
        f"(tệp âm thanh, hình ảnh, video gửi qua ô tải tệp).",
        extra={"limit_bytes": limit},
    )


def body_limit_middleware(max_upload_bytes: int) -> Any:
    """Refuse a body bigger than its route's limit: at once from Content-Length, else while it is read."""

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        limit = body_limit(request.method, request.path, max_upload_bytes)
        try:
            if request.content_length is not None and request.content_length > limit:
                raise too_large(limit)
            return await handler(request.clone(client_max_size=limit))
        except web.HTTPRequestEntityTooLarge:
            exc = too_large(limit)
        except PayloadTooLarge as e:
            exc = e
        page_error = request.app.get(PAGE_ERROR)
        resp: web.StreamResponse
        if page_error is not None and not request.path.startswith(("/api/", "/media/")):
            resp = page_error(request, exc.status, exc.message)  # type: ignore[operator]
        else:
            resp = web.Response(
                body=json.dumps(exc.to_dict(), ensure_ascii=False).encode("utf-8"),
                status=exc.status,
                content_type="application/json",
                charset="utf-8",
            )
        resp.force_close()  # the connection may still carry the unread body: do not wait for it
        return resp

    return middleware


async def read_bounded(part: Any, limit: int) -> bytes:
    """Read a multipart part (which aiohttp does not bound) up to `limit` bytes, else PayloadTooLarge."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await part.read_chunk(256 * KIB)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    depth, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            depth = max(depth, d)
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            depth = max(depth, d)
            stack.extend((x, d + 1) for x in v)
    return depth


def check_len(value: str | None, limit: int, field: str, label: str) -> None:
    """Invalid unless `value` has at most `limit` characters."""
    if value is not None and len(value) > limit:
        has = number_vi(len(value))
        raise Invalid(f"{label} dài quá {number_vi(limit)} ký tự (đang có {has}).", field=field)


def number_vi(n: int) -> str:
    """A count as Vietnamese write it: 12.345 (a dot between thousands)."""
    return f"{n:,}".replace(",", ".")


D = TypeVar("D", bound=date)


def check_date(value: D, field: str = "date") -> D:
    """Invalid unless the day lies in the years the hub deals with."""
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise Invalid(
            f"Ngày {value.isoformat()} nằm ngoài khoảng hệ thống xử lý ({YEAR_MIN}–{YEAR_MAX}).", field=field
        )
    return value


def cut(value: str, limit: int = 200) -> str:
    """`value` in at most `limit` characters (the audit log's column widths), marked when cut."""
    if len(value) <= limit:
        return value
    keep = limit - len(f"…[+{len(value)} ký tự]")  # the marker is never longer than with the whole length
    return f"{value[:keep]}…[+{len(value) - keep} ký tự]"


def bounded(value: Any, limit: int = AUDIT_VALUE_MAX, *, depth: int = 0) -> Any:
    """A JSON value with every string cut, lists and dicts kept to 50 entries, nesting to 5 levels."""
    if isinstance(value, str):
        return cut(value, limit)
    if depth >= 5 and isinstance(value, (dict, list)):
        return cut(str(value), limit)
    if isinstance(value, dict):
        items = list(value.items())
        out = {cut(str(k), 64): bounded(v, limit, depth=depth + 1) for k, v in items[:50]}
        if len(items) > 50:
            out["…"] = f"+{len(items) - 50} mục"
        return out
    if isinstance(value, list):
        kept = [bounded(v, limit, depth=depth + 1) for v in value[:50]]
        if len(value) > 50:
            kept.append(f"…[+{len(value) - 50} mục]")
        return kept
    return value
