"""LedBoard over real HTTP and websocket (no browser): page, media, live pushes, proof of display."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from edge_agent.led import LedBoard
from hardware.display import SimDisplayPanel
from protocol.clock import FrozenClock

from .conftest import Media, Settings
from .helpers import alert, local, media_bulletin, programme, text_bulletin

TIMEOUT = 5.0


@dataclass
class Rig:
    board: LedBoard
    url: str
    clock: FrozenClock
    displays: list[dict[str, Any]] = field(default_factory=list)
    panel: SimDisplayPanel | None = None


@pytest.fixture
async def rig(media: Media, tmp_path: Path) -> AsyncIterator[Rig]:
    clock = FrozenClock(local("16:50"))
    displays: list[dict[str, Any]] = []
    panel = SimDisplayPanel(tmp_path, clock=clock)
    board = LedBoard(
        settings=Settings(), media_dir=media.dir, clock=clock, on_display=displays.append, panel=panel
    )
    url = await board.start()
    try:
        yield Rig(board, url, clock, displays, panel)
    finally:
        await board.stop()


async def next_state(ws: aiohttp.ClientWebSocketResponse, want: str) -> dict[str, Any]:
    """Read pushed states until one has mode `want` (bounded)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            state = json.loads((await ws.receive()).data)
            if state["mode"] == want:
                return state


async def test_page_is_sized_to_the_board_and_media_has_its_type(rig: Rig, media: Media) -> None:
    rig.board.set_programme(programme([media_bulletin("img", "image", media.png, "image/png")]))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
        async with http.get(rig.url) as resp:
            page = await resp.text()
        assert "--board-w: 192px; --board-h: 96px;" in page and 'lang="vi"' in page
        async with http.get(f"{rig.url}media/{media.png}") as resp:
            assert resp.status == 200 and resp.content_type == "image/png"
        async with http.get(f"{rig.url}media/{media.webm}") as resp:  # not in the programme: sniffed
            assert resp.content_type == "video/webm"
        async with http.get(f"{rig.url}media/{media.vtt}") as resp:
            assert resp.content_type == "text/vtt"
        async with http.get(f"{rig.url}media/..%2f..%2fetc%2fpasswd") as resp:
            assert resp.status in (400, 404)
        async with http.get(f"{rig.url}media/{'0' * 64}") as resp:
            assert resp.status == 404
        async with http.get(f"{rig.url}font/regular") as resp:
            assert resp.status == 200 and (await resp.read())[:4] == b"\x00\x01\x00\x00"
        async with http.get(f"{rig.url}static/player.js") as resp:
            assert "WebSocket" in await resp.text()
        async with http.get(f"{rig.url}static/..%2fboard.py") as resp:
            assert resp.status == 404


async def test_websocket_pushes_changes_and_acks_count_as_proof(rig: Rig) -> None:
    rig.board.set_clock_trusted(True)
    rig.board.set_programme(programme([text_bulletin("t1", "Lịch tiêm chủng")]))
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{rig.url}ws") as ws:
        first = await next_state(ws, "standby")
        assert first["clock"]["time"] == "16:50" and first["board"] == {"width": 192, "height": 96}
        rig.clock.set(local("17:00"))
        state = await next_state(ws, "slide")
        assert state["slide"]["text"] == "Lịch tiêm chủng"
        await ws.send_str(json.dumps({"shown": state["slide"]["key"]}))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        sent_at = loop.time()
        rig.board.emergency(alert("e1", sent=local("17:00")))
        em = await next_state(ws, "emergency")
        assert (rig.board.mode, rig.board.now_showing) == ("emergency", "e1")
        assert loop.time() - sent_at < 1.0
        assert em["emergency"]["title"] == "Cảnh báo lũ quét"
        rig.clock.advance(30)
        rig.board.cancel("e1")
        assert (await next_state(ws, "slide"))["slide"]["bulletin_id"] == "t1"
    t1, e1 = rig.displays[0], rig.displays[1]
    assert t1["bulletin_id"] == "t1" and t1["outcome"] == "interrupted" and t1["interrupted_by"] == "e1"
    assert t1["detail"] == "emergency"  # acknowledged by the page: no "no player page" note
    assert (
        e1["bulletin_id"] == "e1"
        and e1["emergency"]
        and e1["ended_at"] == local("17:00:30"[:5]).replace(second=30).isoformat()
    )


async def wait_frames(panel: SimDisplayPanel, count: int, brightness: int | None = None) -> None:
    """Wait (bounded) for `count` frames and, if given, the brightness that follows them.

    The board records a frame before it sets power and brightness, each in a worker thread, so the
    brightness is only there a moment after the frame (under load, long enough for a bare assert to fail).
    """
    async with asyncio.timeout(TIMEOUT):
        while len(panel.frames) < count or (  # noqa: ASYNC110 - the panel is called from a worker thread
            brightness is not None and panel.brightness != brightness
        ):
            await asyncio.sleep(0.02)


async def test_sim_panel_records_frames_power_and_brightness(rig: Rig) -> None:
    assert rig.panel is not None
    await wait_frames(rig.panel, 1, brightness=40)
    assert rig.panel.power is True and rig.panel.brightness == 40  # clock standby by day, dimmed
    rig.board.set_clock_trusted(True)
    rig.board.set_programme(programme([text_bulletin("t1")]))
    rig.clock.set(local("17:00"))
    await wait_frames(rig.panel, 2, brightness=100)
    assert [f["mode"] for f in rig.panel.frames] == ["standby", "slide"]
    assert rig.panel.power is True and rig.panel.brightness == 100
    lines = [json.loads(x) for x in (rig.panel.log_path).read_text(encoding="utf-8").splitlines()]
    assert {x["action"] for x in lines} == {"frame", "power", "brightness"}


async def test_port_in_use_is_explained(rig: Rig, media: Media) -> None:
    port = int(rig.url.rsplit(":", 1)[1].strip("/"))
    other = LedBoard(
        settings=Settings(http_port=port),
        media_dir=media.dir,
        clock=rig.clock,
        on_display=lambda _d: None,
        panel=SimDisplayPanel(media.dir.parent),
    )
    with pytest.raises(RuntimeError, match="http_port"):
        await other.start()


async def test_stop_closes_the_display_in_progress(media: Media, tmp_path: Path) -> None:
    clock = FrozenClock(local("03:00"))
    displays: list[dict[str, Any]] = []
    board = LedBoard(
        settings=Settings(standby="black"),
        media_dir=media.dir,
        clock=clock,
        on_display=displays.append,
        panel=SimDisplayPanel(tmp_path, clock=clock),
    )
    await board.start()
    board.emergency(alert("e1", sent=local("03:00")))
    clock.advance(timedelta(minutes=2).total_seconds())
    await board.stop()
    assert displays[-1]["bulletin_id"] == "e1" and displays[-1]["detail"].startswith("agent stopped")


async def test_stop_command_clears_the_screen_and_says_until_when(rig: Rig) -> None:
    rig.board.set_clock_trusted(True)
    rig.board.set_programme(programme([text_bulletin("t1"), text_bulletin("t2")]))
    assert "không có gì đang hiển thị" in rig.board.stop_playing()
    rig.clock.set(local("17:00"))  # the hold of that stop ends as the window opens
    rig.board.set_clock_trusted(True)
    assert rig.board.now_showing == "t1"
    detail = rig.board.stop_playing()
    assert detail == (
        "đã dừng hiển thị t1; bảng tin để chế độ chờ đến 17:01 (bản tin kế tiếp hoặc hết khung giờ)"
    )
    assert (rig.board.mode, rig.board.now_showing) == ("standby", None)
    assert rig.displays[-1]["detail"].startswith("stopped by command")
