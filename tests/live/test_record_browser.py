"""A message recorded at the microphone (Chromium's fake microphone) and sent as an audio bulletin: from the
bulletin form and from the emergency console, with a preview before sending."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, async_playwright, expect

from hub.app import build_app
from hub.roles import SYSTEM
from protocol.clock import FrozenClock
from tests.browser import ARGS, CHROMIUM, require_chromium
from tests.live.test_live_browser import fake_microphone
from tests.web.conftest import T0, make_services
from tests.web.site import Site

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("record-browser")
    mic = fake_microphone(tmp / "mic.wav")
    services = make_services(tmp, FrozenClock(T0))
    server = TestServer(build_app(services.ctx.config, services=services))
    await server.start_server()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, timeout=30_000,
                args=[*ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-audio-capture={mic}"],
            )
            try:
                yield Site(services, str(server.make_url("")).rstrip("/"), browser)
            finally:
                await browser.close()
    finally:
        await server.close()
        services.ctx.db.dispose()


async def record(page: Page, seconds: float) -> str:
    """Record, listen (the preview is there), use it: returns the media's sha256 the form now carries."""
    await page.get_by_role("button", name="Ghi âm").click()
    await expect(page.locator("#rec-status")).to_have_text("Đang ghi âm…")
    await page.wait_for_timeout(seconds * 1000)
    await page.get_by_role("button", name="Dừng ghi").click()
    await expect(page.locator("#rec-preview")).to_be_visible()  # the person listens before using it
    assert (await page.locator("#rec-preview").get_attribute("src") or "").startswith("blob:")
    await page.get_by_role("button", name="Dùng bản ghi này").click()
    await expect(page.locator("#rec-status")).to_contain_text("Đã lưu bản ghi")
    return await page.locator("input[name=media]").input_value()


async def test_bulletin_form_records_a_message(site: Site) -> None:
    ctx, page = await site.login("editor67", mobile=True)
    await page.get_by_role("link", name="Viết bản tin").click()
    await page.get_by_label("Tiêu đề").fill("Thông báo họp dân ghi âm")
    sha = await record(page, 2.5)
    assert len(sha) == 64
    assert await page.locator("input[name=form][value=audio]").is_checked()
    await page.get_by_label("Phường Nghĩa Thành").check()
    await page.get_by_role("button", name="Gửi duyệt").click()
    await expect(page.get_by_text("Chờ duyệt", exact=True)).to_be_visible()
    m = site.s.media.get(sha)
    assert m.kind == "audio" and m.duration_ms >= 1500, (m.kind, m.duration_ms)
    await ctx.close()


async def test_emergency_console_records_a_message(site: Site) -> None:
    ctx, page = await site.login("editor67")
    await page.goto(site.url + "/emergency")
    await page.get_by_label("Tiêu đề").fill("Lũ quét: sơ tán ngay")
    sha = await record(page, 2.0)
    await page.get_by_label("Bảng tin điện tử").uncheck()
    await page.get_by_label("Phường Nghĩa Thành").check()
    await page.get_by_role("button", name="Tiếp tục: kiểm tra trước khi phát").click()
    await expect(page.locator(f"audio[src='/media/{sha}']")).to_be_visible()  # the preview before sending
    await page.get_by_role("button", name="PHÁT NGAY").click()
    await expect(page.get_by_role("heading", name="Lũ quét: sơ tán ngay")).to_be_visible()
    rows = site.s.bulletins.list(SYSTEM, priority="emergency", limit=10)
    sent = next(b for b in rows if b["title"] == "Lũ quét: sơ tán ngay")
    assert sent["form"] == "audio" and sent["media"] == sha and sent["status"] in ("approved", "on_air"), sent
    await ctx.close()
