"""The web UI: server-rendered Vietnamese pages over the hub's services (no build step, no CDN).

`setup(app, services)` is called by hub.app.build_app; it mounts the pages, the login and /static/web.
"""

from __future__ import annotations

from aiohttp import web

from hub.limits import PAGE_ERROR
from hub.services import Services
from hub.web import (
    account,
    auth,
    bulletins,
    device_admin,
    devices,
    emergency,
    home,
    languages,
    live,
    logs,
    programme,
    relays,
    stats,
    users,
    voices,
    windows,
)
from hub.web.core import HERE, JINJA, make_env, plain_error_page

__all__ = ["setup"]


def setup(app: web.Application, services: Services) -> None:
    """Mount the web pages on the hub's application (services are reached through the app)."""
    del services  # the handlers read them from the app (hub.api.framework.SERVICES), like the API does
    app[JINJA] = make_env()
    app[PAGE_ERROR] = plain_error_page
    pages = (auth, account, home, bulletins, emergency, live, programme, windows, relays, languages, devices,
             device_admin, logs)
    for module in (*pages, stats, users, voices):
        module.install(app)
    app.router.add_static("/static/web", HERE / "static", append_version=False)
