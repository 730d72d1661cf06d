"""The central system's interface (docs/CENTRAL.md): signed CAP 1.2 in, CAP 1.2 out."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.api.framework import client_ip
from hub.api.routes import api
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
