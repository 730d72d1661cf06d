"""The bulletin form in Debian's headless Chromium: while the editor types, the line under the text says
how long it takes to speak (text bulletin) or how long the caption is (audio bulletin), with the words and
count the server writes (hub.web.core.speech_estimate)."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import async_playwright, expect

from hub.app import build_app
from hub.web.core import speech_estimate
from protocol.clock import FrozenClock
from tests.browser import launch

from .conftest import PASSWORD, T0, make_services

pytestmark = pytest.mark.browser

TEXT = "Ủy ban nhân dân phường thông báo: " + "nước lũ đang lên, người dân sơ tán ngay. " * 40


async def test_spoken_duration_shown_while_typing(tmp_path: Path) -> None:
    services = make_services(tmp_path, FrozenClock(T0))
    server = TestServer(build_app(services.ctx.config, services=services))
    await server.start_server()
    try:
        async with async_playwright() as pw:
            browser = await launch(pw)
            try:
                page = await browser.new_page()
                page.set_default_timeout(10_000)
                await page.goto(str(server.make_url("/login")))
                await page.get_by_label("Tên đăng nhập").fill("editor67")
                await page.get_by_label("Mật khẩu").fill(PASSWORD)
                await page.get_by_role("button", name="Đăng nhập").click()
                await page.goto(str(server.make_url("/bulletins/new")))
                line = page.locator("#text-estimate")
                await expect(line).to_have_text(speech_estimate("", "text"))
                await page.get_by_label("Nội dung (bản tin ký tự)").fill(TEXT)
                await expect(line).to_have_text(speech_estimate(TEXT, "text"))
                assert "phút" in speech_estimate(TEXT, "text")  # 367 words: nearly two minutes
                await page.get_by_label("Âm thanh", exact=True).check()
                await expect(line).to_have_text(speech_estimate(TEXT, "audio"))
                await page.get_by_label("Nội dung (bản tin ký tự)").fill("Tóm tắt ngắn")
                await expect(line).to_have_text(speech_estimate("Tóm tắt ngắn", "audio"))
            finally:
                await browser.close()
    finally:
        await server.close()
        services.ctx.db.dispose()
