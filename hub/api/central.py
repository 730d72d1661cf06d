"""The central system's interface (docs/CENTRAL.md): signed CAP 1.2 in, CAP 1.2 out."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from hub.api.framework import client_ip
from hub.api.routes import api
from hub.central.reports import KINDS
from hub.central.signature import sign_headers
from hub.errors import Invalid
from hub.limits import check_date
from hub.services import Services


@api.route(
    "POST",
    "/central/cap",
    "the central system sends a CAP 1.2 alert (Alert, Update, Cancel), signed with its pinned Ed25519 key "
    "(headers X-Nguon-Timestamp, X-Nguon-Nonce, X-Nguon-Signature); no login",
    auth=False,
    tag="central",
)
async def central_cap(request: web.Request, s: Services, _a: None) -> Any:
    body = await request.read()  # bounded by the body limit middleware (hub.limits: an upload's limit)
    out = await s.central.receive(request.headers, body, client_ip(request))
    return out.to_dict()


def _signed(s: Services, request: web.Request, body: bytes, content_type: str) -> web.Response:
    """The exact bytes, signed by the hub's key (hub/central/signature.py; the key is at /api/v1/keys)."""
    headers = sign_headers(s.envelopes.key.private, "GET", request.path, body, s.ctx.now())
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


def _base(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


@api.route(
    "GET",
    "/cap/alerts.atom",
    "Atom feed of the province's current emergencies, each linking to its CAP 1.2 document; signed",
    auth=False,
    tag="central",
    media="application/atom+xml",
)
def cap_feed(request: web.Request, s: Services, _a: None) -> Any:
    return _signed(s, request, s.central_out.feed(_base(request)), "application/atom+xml")


@api.route(
    "GET",
    "/cap/alerts/{id}.xml",
    "one emergency of the province as CAP 1.2 (msgType Cancel once cancelled or recalled); signed",
    auth=False,
    tag="central",
    media="application/cap+xml",
)
def cap_alert(request: web.Request, s: Services, _a: None) -> Any:
    body = s.central_out.xml(request.match_info["id"], _base(request))
    return _signed(s, request, body, "application/cap+xml")


@api.route(
    "GET",
    "/central/reports/{kind}",
    "the central system pulls a report (bulletins, terminals, plays) of a local day; signed like its "
    "requests (the path with its query is what is signed)",
    auth=False,
    query=[("date", "YYYY-MM-DD, the local day (default yesterday)", False)],
    tag="central",
)
async def central_report(request: web.Request, s: Services, _a: None) -> Any:
    await s.central.authenticate(request.headers, "GET", request.path_qs, b"", client_ip(request))
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise Invalid(f"Báo cáo '{kind[:40]}' không có; dùng {', '.join(KINDS)}.", field="kind")
    raw = request.query.get("date")
    try:
        day = date.fromisoformat(raw) if raw else s.ctx.local_now().date() - timedelta(days=1)
    except ValueError:
        raise Invalid("date là ngày dạng YYYY-MM-DD.", field="date") from None
    return await asyncio.to_thread(s.central_outbox.reports.build, kind, check_date(day, "date"))
