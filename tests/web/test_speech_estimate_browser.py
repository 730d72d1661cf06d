"""The bulletin form in Debian's headless Chromium: while the editor types, the line under the text says
how long it takes to speak (text bulletin) or how long the caption is (audio bulletin), with the words and
count the server writes (hub.web.core.speech_estimate)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from hub.web.core import speech_estimate
from protocol.clock import FrozenClock

from .conftest import T0, make_services
from .site import serve_site

pytestmark = pytest.mark.browser

TEXT = "Ủy ban nhân dân phường thông báo: " + "nước lũ đang lên, người dân sơ tán ngay. " * 40


async def test_spoken_duration_shown_while_typing(tmp_path: Path) -> None:
    services = make_services(tmp_path, FrozenClock(T0))
    async with serve_site(services) as site:
        _ctx, page = await site.login("editor67")
        await page.goto(site.url + "/bulletins/new")
        line = page.locator("#text-estimate")
        await expect(line).to_have_text(speech_estimate("", "text"))
        await page.get_by_label("Nội dung (bản tin ký tự)").fill(TEXT)
        await expect(line).to_have_text(speech_estimate(TEXT, "text"))
        assert "phút" in speech_estimate(TEXT, "text")  # 367 words: nearly two minutes
        await page.get_by_label("Âm thanh", exact=True).check()
        await expect(line).to_have_text(speech_estimate(TEXT, "audio"))
        await page.get_by_label("Nội dung (bản tin ký tự)").fill("Tóm tắt ngắn")
        await expect(line).to_have_text(speech_estimate("Tóm tắt ngắn", "audio"))
