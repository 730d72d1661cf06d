"""The player page in Debian's headless Chromium: layout at two board sizes, emergency takeover, windows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from edge_agent.led import LedBoard
from hardware.display import SimDisplayPanel
from protocol.clock import FrozenClock
from tests.browser import launch, screenshot_dir

from .conftest import Media, Settings
from .helpers import alert, local, media_bulletin, programme, text_bulletin

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

SHOTS = screenshot_dir("nguon-screenshots")
SIZES = [(192, 96), (1920, 384)]
TEXT = (
    "UBND xã thông báo: từ ngày 25/11, người dân mang theo căn cước khi đến trạm y tế để tiêm "
    "vắc-xin phòng bệnh sởi cho trẻ dưới 5 tuổi."
)
LONG = " ".join([TEXT] * 12)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await launch(pw)
        yield browser
        await browser.close()


@dataclass
class Player:
    board: LedBoard
    page: Page
    clock: FrozenClock
    width: int
    height: int
    displays: list[dict[str, Any]] = field(default_factory=list)

    async def rendered(self, mode: str, timeout_ms: int = 5_000) -> dict[str, Any]:
        """Wait until the page drew (and acknowledged) a screen of `mode`; return its state."""
        await self.page.wait_for_function(
            """mode => { const b = window.nguonBoard;
                 if (!b || !b.state || b.state.mode !== mode) return false;
                 const s = b.state;
                 const item = mode === 'slide' ? s.slide : mode === 'emergency' ? s.emergency : null;
                 return b.rendered === (item ? item.key : 'standby'); }""",
            arg=mode,
            timeout=timeout_ms,
        )
        return await self.page.evaluate("window.nguonBoard.state")  # type: ignore[no-any-return]

    async def rect(self, selector: str) -> dict[str, float]:
        return await self.page.eval_on_selector(  # type: ignore[no-any-return]
            selector,
            "e => { const r = e.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; }",
        )

    def inside(self, r: dict[str, float]) -> bool:
        return (
            r["x"] >= -0.5
            and r["y"] >= -0.5
            and r["x"] + r["w"] <= self.width + 0.5
            and r["y"] + r["h"] <= self.height + 0.5
        )

    async def shot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.locator("#board").screenshot(
            path=str(SHOTS / f"led-{name}-{self.width}x{self.height}.png"),
            animations="disabled",
            timeout=10_000,
        )


@pytest_asyncio.fixture(loop_scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def player(
    request: pytest.FixtureRequest, browser: Browser, media: Media, tmp_path: Path
) -> AsyncIterator[Player]:
    width, height = request.param
    clock = FrozenClock(local("16:00"))
    displays: list[dict[str, Any]] = []
    board = LedBoard(
        settings=Settings(width=width, height=height),
        media_dir=media.dir,
        clock=clock,
        on_display=displays.append,
        panel=SimDisplayPanel(tmp_path, clock=clock),
    )
    url = await board.start()
    board.set_clock_trusted(True)
    # a window larger than the board: the page must still be exactly the board
    page = await browser.new_page(viewport={"width": width + 300, "height": height + 200})
    page.set_default_timeout(10_000)
    await page.goto(url)
    try:
        yield Player(board, page, clock, width, height, displays)
    finally:
        await page.close()
        await board.stop()


async def test_text_fits_the_board_with_vietnamese_font(player: Player) -> None:
    player.board.set_programme(programme([text_bulletin("t1", TEXT, title="Tiêm chủng sởi")]))
    player.clock.set(local("17:00"))
    state = await player.rendered("slide")
    assert state["slide"]["bulletin_id"] == "t1"
    board = await player.rect("#board")
    assert (board["x"], board["y"], board["w"], board["h"]) == (0, 0, player.width, player.height)
    assert await player.page.evaluate("document.fonts.check('20px NguonBoard', 'Tiêm chủng sởi')")
    assert "NguonBoard" in await player.page.eval_on_selector(
        ".fit-inner", "e => getComputedStyle(e).fontFamily"
    )
    body, title = await player.rect(".fit-inner"), await player.rect(".title")
    assert player.inside(body) and player.inside(title)
    fit = await player.page.evaluate("window.nguonBoard.fit")
    assert fit["overflow"] == 0  # this text fits without scrolling at both sizes
    assert fit["size"] >= max(9, round(player.height * 0.09))
    assert body["h"] >= player.height * 0.4  # auto-fit grew it to use the board, not a fixed small size
    assert await player.page.inner_text(".fit-inner") == TEXT
    await player.shot("text")


async def test_long_text_scrolls(player: Player) -> None:
    player.board.set_programme(programme([text_bulletin("t2", LONG, duration_ms=60_000)]))
    player.clock.set(local("17:00"))
    await player.rendered("slide")
    assert await player.page.get_attribute(".fit-inner", "data-scrolling") == "true"
    fit = await player.page.evaluate("window.nguonBoard.fit")
    assert fit["overflow"] > 0 and fit["size"] == max(9, round(player.height * 0.09))


async def test_image_is_contained(player: Player, media: Media) -> None:
    player.board.set_programme(
        programme([media_bulletin("img", "infographic", media.png, "image/png")], window="05:00-07:00")
    )
    player.clock.set(local("05:00"))
    await player.rendered("slide")
    img = await player.page.eval_on_selector(
        "img.media",
        """e => ({nw: e.naturalWidth, nh: e.naturalHeight,
        fit: getComputedStyle(e).objectFit, w: e.clientWidth, h: e.clientHeight})""",
    )
    assert (img["nw"], img["nh"], img["fit"]) == (800, 600, "contain")
    assert (img["w"], img["h"]) == (player.width, player.height)
    scale = min(player.width / 800, player.height / 600)
    assert 800 * scale <= player.width and 600 * scale == player.height  # 4:3 into a wide board: full height
    await player.shot("image")
    # the image is really drawn: the board's centre is not the black letterbox
    png = await player.page.locator("#board").screenshot(animations="disabled")
    assert len(png) > 2_000


async def test_video_plays_with_subtitles(player: Player, media: Media) -> None:
    video = media_bulletin("vid", "video", media.webm, "video/webm", duration_ms=20_000, subtitles=media.vtt)
    player.board.set_programme(programme([video]))
    player.clock.set(local("17:30"))
    await player.rendered("slide")
    await player.page.wait_for_function(
        "(document.querySelector('.subs') || {}).textContent?.includes('Đường ngập')"
    )
    v = await player.page.eval_on_selector(
        "video.media",
        """e => ({t: e.currentTime, vw: e.videoWidth,
        fit: getComputedStyle(e).objectFit, w: e.clientWidth, h: e.clientHeight, paused: e.paused})""",
    )
    assert v["vw"] == 320 and v["fit"] == "contain" and not v["paused"]
    assert (v["w"], v["h"]) == (player.width, player.height)
    assert player.inside(await player.rect(".subs"))
    await player.shot("video")


async def test_emergency_takes_over_within_a_second_and_rotation_returns(player: Player) -> None:
    player.board.set_programme(programme([text_bulletin("t1", TEXT), text_bulletin("t2", "Bản tin thứ hai")]))
    player.clock.set(local("17:05"))
    await player.rendered("slide")
    loop = asyncio.get_running_loop()
    started = loop.time()
    player.board.emergency(alert("e1", sent=local("17:05")))
    await player.page.wait_for_function(
        "document.querySelector('#board').dataset.mode === 'emergency' && "
        "document.querySelector('.em-kind') && document.querySelector('.em-kind').textContent === 'KHẨN CẤP'",
        timeout=1_000,
    )
    took = loop.time() - started
    print(f"emergency shown {took * 1000:.0f} ms after board.emergency() ({player.width}x{player.height})")
    assert took < 1.0
    state = await player.rendered("emergency")
    assert await player.page.inner_text(".em-title") == "Cảnh báo lũ quét"
    assert "Khu vực: 67/660/24613" in await player.page.inner_text(".em-meta")
    assert "17:05 ngày 23/11/2026" in await player.page.inner_text(".em-meta")
    layer = await player.rect("#emergency")
    assert (layer["w"], layer["h"]) == (player.width, player.height)
    bg = await player.page.eval_on_selector("#emergency", "e => getComputedStyle(e).backgroundColor")
    assert bg == "rgb(176, 0, 0)"
    for sel in (".em-label", ".em-title", ".em-meta"):
        assert player.inside(await player.rect(sel)), sel
    await player.shot("emergency")
    player.clock.advance(20)
    player.board.cancel(state["emergency"]["id"])
    back = await player.rendered("slide")
    assert back["slide"]["bulletin_id"] == "t1"  # the interrupted item starts again
    assert [d["bulletin_id"] for d in player.displays[:2]] == ["t1", "e1"]
    assert player.displays[0]["interrupted_by"] == "e1" and player.displays[0]["detail"] == "emergency"


async def test_outside_windows_only_emergencies_show(player: Player) -> None:
    player.board.set_programme(programme([text_bulletin("t1", TEXT)]))
    player.clock.set(local("23:10"))
    await player.rendered("standby")
    assert await player.page.eval_on_selector("#slide", "e => e.children.length") == 0
    assert await player.page.is_visible(".clock-time")
    assert await player.page.inner_text(".clock-time") == "23:10"
    assert player.inside(await player.rect(".clock-date"))
    await player.shot("standby")
    player.board.emergency(alert("x1", sent=local("23:10"), exercise=True, title="Diễn tập phòng cháy"))
    await player.rendered("emergency")
    assert await player.page.inner_text(".em-exercise") == "DIỄN TẬP"
    await player.shot("exercise")
    player.board.cancel("x1")
    await player.rendered("standby")
    assert await player.page.eval_on_selector("#slide", "e => e.children.length") == 0
    # after a power cut with no time sync the board must not show a (wrong) clock
    player.board.set_clock_trusted(False)
    await player.page.wait_for_function("document.querySelector('#board').dataset.clockTrusted === 'false'")
    assert not await player.page.is_visible(".clock-time")


async def test_page_reconnects_by_itself(player: Player) -> None:
    player.board.set_programme(programme([text_bulletin("t1", TEXT)]))
    player.clock.set(local("17:00"))
    await player.rendered("slide")
    assert player.board.viewers == 1
    for ws in list(player.board._clients):  # the server side drops the page (agent restart, network blip)
        await ws.close()
    await player.page.wait_for_function("window.nguonBoard.connected === false", timeout=2_000)
    player.board.emergency(alert("e7", sent=local("17:00")))
    await player.rendered("emergency", timeout_ms=5_000)  # pushed after the page came back
    assert await player.page.evaluate("window.nguonBoard.connected")
