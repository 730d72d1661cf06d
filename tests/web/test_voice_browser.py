"""The bulletin form's Nghe thử in Debian's headless Chromium (issue 20): the editor picks an installed voice,
presses the button, and the page plays the first sentence of the text spoken in that voice."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from protocol.clock import FrozenClock
from tests.tts import tiny_voice
from tts.voices import VoiceStore

from .conftest import T0, make_services
from .site import serve_site

pytestmark = pytest.mark.browser


async def test_preview_plays_the_chosen_voice_in_the_page(tmp_path: Path) -> None:
    services = make_services(tmp_path, FrozenClock(T0))
    VoiceStore(services.ctx.config.voices_dir).add(tiny_voice.write(tmp_path / "src"), name="Giọng thử",
                                                   region="south")
    async with serve_site(services) as site:
        _ctx, page = await site.login("editor67")
        await page.goto(site.url + "/bulletins/new")
        await page.get_by_label("Nội dung (bản tin ký tự)").fill("Thôn ba họp lúc tám giờ. Câu thứ hai.")
        await page.get_by_label("Giọng đọc (bản tin ký tự)").select_option(label="Giọng thử (miền Nam)")
        await page.get_by_role("button", name="Nghe thử").click()
        await expect(page.locator("#voice-status")).to_have_text("Đang phát câu thử (vi_VN-tiny-x_low).")
        audio = page.locator("#voice-audio")
        await expect(audio).to_be_visible()
        # the page got real audio of the first sentence and plays it
        await page.wait_for_function("() => { const a = document.getElementById('voice-audio');"
                                     " return a.duration > 0.5 && a.currentTime > 0; }")
        await page.get_by_label("Giọng đọc (bản tin ký tự)").select_option(value="espeak-ng")
        await page.get_by_role("button", name="Nghe thử").click()
        await expect(page.locator("#voice-status")).to_have_text("Đang phát câu thử (vi).")
