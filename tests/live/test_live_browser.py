"""A live session from Chromium with a fake microphone (a WAV of a tone): the page asks for the microphone,
streams it to the hub, a real agent plays it through the real stream server, and the stop button ends it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from hub.mosquitto import MosquittoProcess
from tests.agent.harness import wait_until
from tests.browser import ARGS, CHROMIUM, require_chromium
from tests.live.harness import COMMUNE, live_stack, loud_ms
from tests.live.test_live import live_plays, live_wavs, on_air, start_agents
from tests.web.site import Site

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def fake_microphone(path: Path) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=10",
         "-ac", "1", "-ar", "48000", "-c:a", "pcm_s16le", str(path)],
        check=True, timeout=30,
    )
    return path


async def test_live_from_the_browser_microphone(tmp_path: Path, fresh_broker: MosquittoProcess) -> None:
    require_chromium()
    mic = fake_microphone(tmp_path / "mic.wav")
    async with live_stack(tmp_path, fresh_broker) as stack:
        (a1,) = await start_agents(stack, tmp_path, ("loa-1", COMMUNE))
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, timeout=30_000,
                args=[*ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                      f"--use-file-for-fake-audio-capture={mic}"],
            )
            try:
                site = Site(stack.hub.services, stack.hub.url, browser)
                ctx, page = await site.login("editor67", mobile=True)  # a phone
                await page.get_by_role("link", name="Phát trực tiếp").click()
                await page.get_by_label("Khẩn cấp (phát ngay, mọi giờ)").check()
                await page.locator(f"input[name=areas][value='{COMMUNE}']").check()
                await page.get_by_role("button", name="Bắt đầu nói").click()
                await expect(page.get_by_role("status")).to_have_text("Đang phát trực tiếp — hãy nói.")
                sid = str(next(iter(stack.hub.services.live.sessions)))
                await on_air(sid, a1)
                await page.wait_for_timeout(4000)  # the official speaks for a few seconds
                await page.get_by_role("button", name="Kết thúc").click()
                await expect(page.get_by_role("status")).to_contain_text("Đã kết thúc")
                await ctx.close()
            finally:
                await browser.close()
        plays = await wait_until(lambda: live_plays(a1, sid), 15, "the agent's live play report")
        assert plays[0]["outcome"] == "completed", plays
        # the browser's noise suppression softens a steady tone (-26 dBFS here): above -40 dBFS is sound
        heard = sum(loud_ms(w, threshold=300) for w in live_wavs(a1))
        assert heard >= 2000, f"the loudspeaker played {heard} ms of the microphone's tone"
        code, b = await stack.call("GET", f"/api/v1/bulletins/{sid}", "editor67")
        assert code == 200 and b["status"] == "finished" and b["media"] and b["duration_ms"] >= 2000, b
