"""One browser rig for the web UI's browser tests: the hub served on a free port, Debian's chromium, and a
`Site` that logs a person in as they would (the login form, in Vietnamese)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeVar

from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from hub.app import build_app
from hub.services import Services
from tests.browser import launch

from .conftest import PASSWORD


class Site:
    """The running hub (`url`), its services (`s`) and the browser that visits it."""

    def __init__(self, services: Services, url: str, browser: Browser) -> None:
        self.s, self.url, self.browser = services, url, browser

    async def login(
        self, username: str, *, mobile: bool = False, land: str = "/bulletins"
    ) -> tuple[BrowserContext, Page]:
        """A fresh browser context, logged in as `username` through the login page; the person lands on
        their start page (Trang đầu), then the page goes on to `land` (the bulletin list unless said)."""
        ctx = await self.browser.new_context(
            viewport={"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900},
            locale="vi-VN",
        )
        page = await ctx.new_page()
        page.set_default_timeout(10_000)
        await page.goto(self.url + "/login")
        await page.get_by_label("Tên đăng nhập").fill(username)
        await page.get_by_label("Mật khẩu").fill(PASSWORD)
        await page.get_by_role("button", name="Đăng nhập").click()
        await expect(page.get_by_role("heading", name="Trang đầu", exact=True)).to_be_visible()
        if land != "/":
            await page.goto(self.url + land)
        return ctx, page


S = TypeVar("S", bound=Site)


@asynccontextmanager
async def serve_site(services: Services, site: type[S] = Site) -> AsyncIterator[S]:  # type: ignore[assignment]
    """Serve `services` over HTTP and open chromium; all is closed (and the database disposed) after."""
    server = TestServer(build_app(services.ctx.config, services=services))
    await server.start_server()
    try:
        async with async_playwright() as pw:
            browser = await launch(pw)
            try:
                yield site(services, str(server.make_url("")).rstrip("/"), browser)
            finally:
                await browser.close()
    finally:
        await server.close()
        services.ctx.db.dispose()
