"""HTTP side of the board: the player page, its static files, the font, media by sha256, and the websocket."""

from __future__ import annotations

import json
import logging
import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Protocol

from aiohttp import WSMsgType, web

log = logging.getLogger(__name__)
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
STATIC_FILES = {"player.js": "text/javascript", "player.css": "text/css"}
# Debian/Raspberry Pi OS package fonts-noto-core; Vietnamese diacritics are complete in Noto Sans.
FONT_DIRS = (Path("/usr/share/fonts/truetype/noto"), Path("/usr/share/fonts/truetype/noto-sans"))
FONT_FILES = {"regular": "NotoSans-Regular.ttf", "bold": "NotoSans-Bold.ttf"}
NO_CACHE = {"Cache-Control": "no-store"}
BOARD_KEY = web.AppKey("board", object)


class BoardView(Protocol):
    """What the page and the websocket need of the board (LedBoard is one); the board imports this module,
    not the other way round."""

    width: int
    height: int
    media_dir: Path

    def current_screen(self) -> dict[str, Any]: ...
    def mime_for(self, sha256: str) -> str | None: ...
    def acknowledge(self, key: str) -> None: ...
    def attach(self, ws: web.WebSocketResponse) -> None: ...
    def detach(self, ws: web.WebSocketResponse) -> None: ...


def _static(name: str) -> str:
    return resources.files("edge_agent.led").joinpath("static", name).read_text(encoding="utf-8")


def sniff_mime(head: bytes) -> str:  # noqa: PLR0911 - one return per magic number reads best
    """Content type from a file's first bytes (media files carry no extension)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
        return "text/vtt; charset=utf-8"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.lstrip().startswith(b"<svg") or b"<svg" in head[:256]:
        return "image/svg+xml"
    return "application/octet-stream"


def find_font(weight: str) -> Path | None:
    name = FONT_FILES.get(weight)
    if name is None:
        return None
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def build_app(board: BoardView) -> web.Application:
    app = web.Application()
    app[BOARD_KEY] = board
    app.router.add_get("/", _page)
    app.router.add_get("/state", _state)
    app.router.add_get("/static/{name}", _static_file)
    app.router.add_get("/font/{weight}", _font)
    app.router.add_get("/media/{sha256}", _media)
    app.router.add_get("/ws", _websocket)
    return app


def _board(request: web.Request) -> BoardView:
    return request.app[BOARD_KEY]  # type: ignore[return-value]


async def _page(request: web.Request) -> web.Response:
    board = _board(request)
    html = Template(_static("player.html")).substitute(width=board.width, height=board.height)
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers=NO_CACHE)


async def _state(request: web.Request) -> web.Response:
    return web.json_response(_board(request).current_screen(), headers=NO_CACHE)


async def _static_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound(text=f"no static file {name!r}")
    return web.Response(
        text=_static(name), content_type=STATIC_FILES[name], charset="utf-8", headers=NO_CACHE
    )


async def _font(request: web.Request) -> web.StreamResponse:
    path = find_font(request.match_info["weight"])
    if path is None:  # the page's CSS falls back to the kiosk's own fonts
        raise web.HTTPNotFound(text="Noto Sans is not installed (apt install fonts-noto-core)")
    return web.FileResponse(path, headers={"Content-Type": "font/ttf", "Cache-Control": "max-age=86400"})


async def _media(request: web.Request) -> web.StreamResponse:
    sha = request.match_info["sha256"].lower()
    if not SHA256_RE.match(sha):
        raise web.HTTPBadRequest(text="media is addressed by its sha256: 64 hex digits")
    board = _board(request)
    path = board.media_dir / sha
    if not path.is_file():
        raise web.HTTPNotFound(text=f"media {sha} is not in the cache")
    mime = board.mime_for(sha)
    if mime is None:
        with path.open("rb") as fh:
            mime = sniff_mime(fh.read(512))
    # content-addressed: the bytes behind a name never change
    return web.FileResponse(
        path, headers={"Content-Type": mime, "Cache-Control": "max-age=31536000, immutable"}
    )


async def _websocket(request: web.Request) -> web.WebSocketResponse:
    board = _board(request)
    ws = web.WebSocketResponse(heartbeat=15.0)
    await ws.prepare(request)
    board.attach(ws)
    try:
        await ws.send_str(json.dumps(board.current_screen(), ensure_ascii=False))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                log.warning("player page sent something that is not JSON: %.80r", msg.data)
                continue
            if isinstance(data, dict) and isinstance(data.get("shown"), str):
                board.acknowledge(data["shown"])
    finally:
        board.detach(ws)
    return ws
