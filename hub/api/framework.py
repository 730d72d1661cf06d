"""A small route table over aiohttp: JSON errors, auth, body validation, and the OpenAPI document."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

from hub.errors import Forbidden, Invalid, ServiceError, Unauthorized
from hub.limits import JSON_DEPTH_MAX, json_depth
from hub.roles import Actor
from hub.services import Services
from protocol.vocabulary import DEVICE_KINDS

log = logging.getLogger(__name__)
Handler = Callable[..., Any]  # async def, or def (then run in a worker thread)
SERVICES = web.AppKey("services", Services)
MAX_UPLOAD = web.AppKey("max_upload_bytes", int)
INT_PARAM_MAX = 1_000_000_000

_PYDANTIC_VI = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường này không được phép",
    "string_too_short": "không được để trống",
    "too_short": "cần ít nhất một phần tử",
    "literal_error": "giá trị không hợp lệ",
    "datetime_from_date_parsing": "cần thời điểm ISO 8601 có múi giờ, ví dụ 2026-11-23T05:00:00+07:00",
    "datetime_parsing": "cần thời điểm ISO 8601 có múi giờ, ví dụ 2026-11-23T05:00:00+07:00",
    "date_from_datetime_parsing": "cần ngày dạng YYYY-MM-DD",
    "string_pattern_mismatch": "sai định dạng",
}


@dataclass
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    auth: bool = True
    query: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, description, required)
    status: int = 200
    tag: str = ""
    response: type[BaseModel] | None = None  # what the handler returns: its schema in the OpenAPI document
    media: str = "application/json"  # the success response's Content-Type (a feed, a download: not JSON)


class Api:
    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        body: type[BaseModel] | None = None,
        auth: bool = True,
        query: list[tuple[str, str, bool]] | None = None,
        status: int = 200,
        tag: str = "",
        response: type[BaseModel] | None = None,
        media: str = "application/json",
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            route = Route(method, path, fn, summary, body, auth, query or [], status, tag, response, media)
            self.routes.append(route)
            return fn

        return deco

    def install(self, app: web.Application) -> None:
        for r in self.routes:
            app.router.add_route(r.method, self.prefix + r.path, self._wrap(r))

    def _wrap(self, r: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            services = request.app[SERVICES]
            actor = None
            if r.auth:  # a database read: off the event loop like every other one
                actor = await asyncio.to_thread(authenticate, request, services)
            kwargs: dict[str, Any] = {}
            if r.body is not None:
                kwargs["body"] = await parse_body(request, r.body)
            try:
                if asyncio.iscoroutinefunction(r.handler):
                    result = await r.handler(request, services, actor, **kwargs)
                else:  # plain `def` handlers call blocking services: run them in a worker thread
                    result = await asyncio.to_thread(r.handler, request, services, actor, **kwargs)
            except Forbidden as exc:
                if actor is not None:
                    services.ctx.audit_denied(actor, exc)
                raise
            if isinstance(result, web.StreamResponse):
                return result
            return json_response(result, status=r.status)

        return handler


def json_response(data: Any, status: int = 200) -> web.Response:
    """JSON of plain data and of the services' typed results (pydantic models, also inside lists, dicts)."""
    return web.Response(
        body=json.dumps(to_jsonable_python(data), ensure_ascii=False).encode("utf-8"),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def client_ip(request: web.Request) -> str:
    """The client's address: the peer's, or behind a trusted reverse proxy the right-most address in
    X-Forwarded-For that is not one of the proxies (the ones to its left are the client's to invent)."""
    remote = request.remote or ""
    services = request.app.get(SERVICES)
    trusted = services.ctx.config.http.trusted_proxies if services is not None else ()
    if remote not in trusted:
        return remote
    hops = ",".join(request.headers.getall("X-Forwarded-For", [])).split(",")
    for hop in reversed([h.strip() for h in hops if h.strip()]):
        if hop in trusted:
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            break
    return remote


def authenticate(request: web.Request, services: Services) -> Actor:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        actor, _ = services.accounts.authenticate(header[7:].strip(), kind="api", ip=client_ip(request))
        return actor
    cookie = request.cookies.get("nguon_session")
    if cookie:  # a browser session calling the API: state-changing requests need the CSRF header
        actor, csrf = services.accounts.authenticate(cookie, kind="session", ip=client_ip(request))
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            services.accounts.check_csrf(csrf, request.headers.get("X-CSRF-Token"))
        return actor
    raise Unauthorized(
        "Cần đăng nhập: gửi 'Authorization: Bearer <token>' (lấy token qua POST /api/v1/auth/login)."
    )


async def parse_body(request: web.Request, model: type[BaseModel]) -> BaseModel:
    try:
        raw = await request.read()
        data = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Invalid("Nội dung gửi lên không phải JSON hợp lệ.", code="bad_json") from None
    except RecursionError:  # thousands of nested '[' in a small body
        data = None
        depth = JSON_DEPTH_MAX + 1
    else:
        depth = json_depth(data)
    if depth > JSON_DEPTH_MAX:
        raise Invalid(
            f"JSON lồng nhau quá sâu (tối đa {JSON_DEPTH_MAX} cấp); gửi đúng cấu trúc trong tài liệu API.",
            code="bad_json",
        )
    if not isinstance(data, dict):
        raise Invalid("Nội dung gửi lên phải là một đối tượng JSON {...}.", code="bad_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        msg = _PYDANTIC_VI.get(err["type"], err["msg"])
        if err["type"] == "string_too_long":
            msg = f"dài quá {err.get('ctx', {}).get('max_length')} ký tự"
        elif err["type"] == "value_error":
            msg = str(err.get("ctx", {}).get("error", msg))
        elif err["type"] == "too_long":
            msg = f"quá {err.get('ctx', {}).get('max_length')} phần tử"
        raise Invalid(f"Trường '{where}': {msg}.", field=where) from None


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except ServiceError as exc:
        resp = json_response(exc.to_dict(), status=exc.status)
        if "retry_after_s" in exc.extra:
            resp.headers["Retry-After"] = str(exc.extra["retry_after_s"])
        return resp
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith(("/api/", "/media/")):
            raise
        return json_response(
            {"error": {"code": "http_" + str(exc.status), "message": exc.reason}}, status=exc.status
        )
    except Exception:
        if not request.path.startswith("/api/"):
            raise
        log.exception("internal error on %s %s", request.method, request.path)
        return json_response(
            {"error": {"code": "internal", "message": "Lỗi nội bộ; đã ghi nhật ký."}}, status=500
        )


_STR: dict[str, Any] = {"type": "string"}
# Query parameters by name: the same name means the same thing on every route.
QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "limit": {"type": "integer", "minimum": 0, "maximum": INT_PARAM_MAX},
    "offset": {"type": "integer", "minimum": 0, "maximum": INT_PARAM_MAX},
    "date": {"type": "string", "format": "date"},
    "since": {"type": "string", "format": "date-time"},
    "until": {"type": "string", "format": "date-time"},
    "kind": {"type": "string", "enum": list(DEVICE_KINDS)},
    "for": {"type": "string", "enum": list(DEVICE_KINDS)},
    "outcome": {"type": "string", "enum": ["ok", "denied", "failed"]},
}


def openapi(api: Api, *, title: str, version: str) -> dict[str, Any]:
    """OpenAPI 3.1 from the route table and the pydantic models (so it stays true)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    error_ref = {"$ref": "#/components/schemas/Error"}
    for r in api.routes:
        op: dict[str, Any] = {
            "summary": r.summary,
            "operationId": r.handler.__name__,
            "tags": [r.tag] if r.tag else [],
        }
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in _path_params(r.path)
        ]
        params += [
            {
                "name": n,
                "in": "query",
                "required": req,
                "description": d,
                "schema": QUERY_SCHEMAS.get(n, _STR),
            }
            for n, d, req in r.query
        ]
        if params:
            op["parameters"] = params
        if r.body is not None:
            schema = r.body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[r.body.__name__] = schema
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{r.body.__name__}"}}
                },
            }
        ok: dict[str, Any] = {"type": "object"} if r.media == "application/json" else {"type": "string"}
        if r.response is not None:
            schema = r.response.model_json_schema(
                ref_template="#/components/schemas/{model}", mode="serialization"
            )
            for name, sub in schema.pop("$defs", {}).items():
                schemas[name] = sub
            schemas[r.response.__name__] = schema
            ok = {"$ref": f"#/components/schemas/{r.response.__name__}"}
        op["responses"] = {
            str(r.status): {"description": "OK", "content": {r.media: {"schema": ok}}},
            "4XX": {
                "description": "error; message says what to fix",
                "content": {"application/json": {"schema": error_ref}},
            },
        }
        if r.auth:
            op["security"] = [{"bearer": []}]
        paths.setdefault(api.prefix + r.path, {})[r.method.lower()] = op
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
            }
        },
    }
    paths["/media/{sha256}"] = {
        "get": {
            "summary": "media file by content hash (no auth; Range supported)",
            "parameters": [{"name": "sha256", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {"description": "the file"},
                "206": {"description": "partial content"},
                "4XX": {
                    "description": "not a sha256, no such file, or a range outside it",
                    "content": {"application/json": {"schema": error_ref}},
                },
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _path_params(path: str) -> list[str]:
    return [seg[1:-1] for seg in path.split("/") if seg.startswith("{") and seg.endswith("}")]
