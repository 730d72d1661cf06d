"""Live announcements over the REST API (docs/API.md): start, follow, stop, the speaker's audio websocket,
and the stream server's listener check (Icecast URL authentication, hub/icecast.py)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from hub.api.framework import json_response
from hub.api.routes import A, S, api
from hub.api.schemas import LiveIn
from hub.errors import Forbidden, Unavailable
from hub.icecast import AUTH_HEADER
from hub.livefeed import FeedError

log = logging.getLogger(__name__)
CHUNK_MAX = 256 * 1024  # one MediaRecorder slice is a few kB; a bigger message is not a microphone
AUTH_FORM_MAX = 8192


@api.route("POST", "/live", "start a live announcement; then send its audio on /live/{id}/audio",
           body=LiveIn, status=201, tag="live")
async def start_live(request: web.Request, s: S, a: A, *, body: LiveIn) -> Any:
    if not s.intents.leading:  # a live feed runs in the publishing process (hub roles, docs/OPERATIONS.md)
        raise Unavailable(
            "Máy chủ này đang ở chế độ dự phòng, không phát trực tiếp được. Hãy thử lại: bộ cân bằng tải "
            "sẽ chuyển sang máy chủ đang phát hành."
        )
    return await s.live.start(a, areas=list(body.areas), priority=body.priority, title=body.title)


@api.route("GET", "/live/{id}", "a live announcement's state", tag="live")
def get_live(request: web.Request, s: S, a: A) -> Any:
    return s.live.get(a, request.match_info["id"]).to_dict()


@api.route("POST", "/live/{id}/stop", "end a live announcement everywhere", tag="live")
async def stop_live(request: web.Request, s: S, a: A) -> Any:
    return await s.live.stop(a, request.match_info["id"])


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


@api.route("GET", "/live/{id}/audio",
           "websocket: the speaker's audio, binary messages (WebM/Opus, Ogg)", tag="live")
async def live_audio(request: web.Request, s: S, a: A) -> Any:
    if not _same_origin(request):  # a page of another site must not speak with a logged-in user's cookie
        raise Forbidden("Kết nối micrô phải đến từ chính trang của hệ thống.")
    session = await s.live.connect(a, request.match_info["id"])
    ws = web.WebSocketResponse(max_msg_size=CHUNK_MAX, heartbeat=5.0)
    try:
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                await s.live.feed(session, msg.data)
            elif msg.type == WSMsgType.TEXT and msg.data == "stop":
                session.stop_reason = "người nói kết thúc"
                break
            else:
                break
    except FeedError as exc:
        log.warning("live %s: %s", session.id, exc)
    finally:
        await s.live.disconnect(session)
    if not ws.closed:
        await ws.close()
    return ws


@api.route("POST", "/stream/auth", "the stream server asks whether a listener may hear a mount",
           auth=False, tag="live", media="text/plain")
async def stream_auth(request: web.Request, s: S, _a: None) -> Any:
    if (request.content_length or 0) > AUTH_FORM_MAX:
        return json_response({"error": "too big"}, status=413)
    form = await request.post()
    mount, token = str(form.get("mount", ""))[:200], str(form.get("pass", ""))[:200]
    path = mount.split("?", 1)[0]
    # a relay's mount (tiếp sóng, hub/services/relays.py) or a live session's
    relay = path.startswith("/relay/")
    why = s.relays.listener_allowed(path, token) if relay else s.live.listener_allowed(path, token)
    if why:
        log.info("stream listener refused on %s from %s (user %r, %d chars): %s", mount, form.get("ip", "?"),
                 str(form.get("user", ""))[:40], len(token), why)
        return web.Response(text="no", headers={"icecast-auth-message": why})
    name, value = AUTH_HEADER.split(": ")
    return web.Response(text="ok", headers={name: value})
