"""Tiếp sóng over the REST API (docs/API.md, "Relays"): list, create, change, delete relays at fixed times."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.api.routes import A, S, _q, api
from hub.api.schemas import RelayIn


def _data(body: RelayIn) -> dict[str, Any]:
    data = body.model_dump()
    data["dates"] = [d.isoformat() for d in body.dates]
    return data


@api.route("GET", "/relays", "relays (tiếp sóng) the caller sees; `area`: those reaching or under it",
           tag="relays", query=[("area", "area path", False)])
def list_relays(request: web.Request, s: S, a: A) -> Any:
    return {"relays": s.relays.listing(a, _q(request, "area"))}


@api.route("GET", "/relays/{id}", "one relay", tag="relays")
def get_relay(request: web.Request, s: S, a: A) -> Any:
    return s.relays.get(a, request.match_info["id"][:40])


@api.route("POST", "/relays", "create a relay (editor: areas it covers; commune chair: own commune); "
           "must lie whole inside a radio window; republishes the communes' programmes",
           body=RelayIn, status=201, tag="relays")
async def post_relay(request: web.Request, s: S, a: A, *, body: RelayIn) -> Any:
    return await s.create_relay(a, _data(body))


@api.route("PUT", "/relays/{id}", "change a relay (all fields again)", body=RelayIn, tag="relays")
async def put_relay(request: web.Request, s: S, a: A, *, body: RelayIn) -> Any:
    return await s.update_relay(a, request.match_info["id"][:40], _data(body))


@api.route("DELETE", "/relays/{id}", "delete a relay", tag="relays")
async def delete_relay(request: web.Request, s: S, a: A) -> Any:
    return await s.delete_relay(a, request.match_info["id"][:40])
