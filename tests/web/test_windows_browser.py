"""Khung giờ phát in Debian's headless Chromium: a commune chair sets the commune's own hours from the
menu and sees them on the programme screen; a mistake is explained next to the form."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect

from protocol.clock import FrozenClock

from .conftest import T0, make_services
from .site import Site, serve_site
from .test_browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    services = make_services(tmp_path_factory.mktemp("web-windows"), FrozenClock(T0))
    async with serve_site(services) as site:
        yield site


async def test_chair_sets_the_communes_own_hours(site: Site) -> None:
    ctx, page = await site.login("chair24613")
    await page.get_by_role("link", name="Khung giờ phát").click()
    await expect(page.get_by_role("heading", name="Khung giờ phát · Phường Nghĩa Thành")).to_be_visible()
    await expect(page.locator("#inforce-radio")).to_contain_text("05:00-06:30, 17:00-18:30")

    form = page.locator("#set-windows")
    await form.get_by_label("Thiết bị").select_option("radio")
    await form.get_by_label("Khung giờ").fill("05:00-06:30, 06:00-07:00")
    await form.get_by_role("button", name="Lưu khung giờ").click()
    await expect(page.get_by_role("alert")).to_contain_text("chồng lên nhau")
    await expect(page.locator("#set-windows").get_by_label("Khung giờ")).to_have_value(
        "05:00-06:30, 06:00-07:00"
    )

    await page.locator("#set-windows").get_by_label("Khung giờ").fill("05:30-06:15, 18:45-19:30")
    await page.locator("#set-windows").get_by_role("button", name="Lưu khung giờ").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã lưu khung giờ phát")
    await expect(page.locator("#inforce-radio")).to_contain_text("05:30-06:15, 18:45-19:30")
    await expect(page.locator("#rules")).to_contain_text("Phường Nghĩa Thành")
    await shot(page, "windows")

    await page.get_by_role("link", name="Chương trình phát").click()
    source = page.locator("#windows-source")
    await expect(source).to_contain_text("05:30-06:15, 18:45-19:30")
    await expect(source).to_contain_text("Khung giờ riêng của Phường Nghĩa Thành")
    await expect(page.get_by_role("heading", name="Khung giờ 18:45-19:30")).to_be_visible()
    await shot(page, "programme-own-windows")
    await ctx.close()
