"""Each role's start page and main task in Debian's chromium at 1366x768 and 390x844 (issue 19), on a
province-size data set (tests/dbfill.fill_province: 2,000 devices, 500 bulletins, 10,000 audit entries):
axe-core finds no serious violation on any page visited, a phone never scrolls sideways, its buttons and
fields are at least 44 px high, and the form's error summary takes the focus. One browser for the module.

NGUON_SCREENSHOTS=1 writes docs/screenshots/hub-role-*.png."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from protocol.clock import FrozenClock
from tests.a11y import serious_violations
from tests.browser import screenshot_dir
from tests.dbfill import fill_province

from .conftest import PASSWORD, T0, make_services
from .site import Site, serve_site

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]
SHOTS = screenshot_dir("nguon-web-screenshots")
SIZES = {"desktop": (1366, 768), "phone": (390, 844)}

# who: (their main task's pages, a heading the start page shows for them)
ROLES: dict[str, tuple[tuple[str, ...], str]] = {
    "editor67": (("/bulletins?q=tiem+chung", "/account", "/bulletins/new"), "Bản tin bị trả lại"),
    "reviewer67": (("/bulletins?status=in_review", "/bulletins/b-fill-0001"), "Chờ kiểm duyệt"),
    "chair24613": (("/programme", "/bulletins?status=approved"), "Chờ xã chọn phát"),
    "oper": (
        ("/devices?state=attention", "/devices?q=loa-30007", "/devices/loa-30007-01",
         "/devices/loa-30007-01/remove"),
        "Thiết bị cần chú ý",
    ),
    "admin1": (
        ("/audit?q=duyet", "/users", "/plays?q=tuyen+quan", "/bulletins/b-fill-0007/devices?view=recall"),
        "Tài khoản và hệ thống",
    ),
}  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    clock = FrozenClock(T0)
    services = make_services(tmp_path_factory.mktemp("roles-browser"), clock)
    fill_province(services, clock.now())
    async with serve_site(services) as site:
        yield site


async def open_as(site: Site, who: str, size: str) -> tuple[Any, Page]:
    w, h = SIZES[size]
    ctx = await site.browser.new_context(viewport={"width": w, "height": h}, locale="vi-VN")
    page = await ctx.new_page()
    page.set_default_timeout(20_000)
    await page.goto(site.url + "/login")
    await page.get_by_label("Tên đăng nhập").fill(who)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("heading", name="Trang đầu", exact=True)).to_be_visible()
    return ctx, page


async def check_page(page: Page, size: str, where: str) -> None:
    bad = await serious_violations(page)
    assert not bad, f"{where} ({size}): " + "\n".join(bad)
    if size == "phone":
        wide = await page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 1, f"{where}: the phone scrolls {wide} px sideways"
        small = await page.evaluate(
            """() => [...document.querySelectorAll(`main button, main .button, main select,
                 main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), .pager a`)]
              .filter(e => e.offsetParent !== null)
              .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect().height])
              .filter(([, h]) => h < 43.5)"""
        )
        assert not small, f"{where}: touch targets under 44 px: {small[:3]}"


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("who", list(ROLES))
async def test_start_page_and_main_task(site: Site, who: str, size: str) -> None:
    pages, heading = ROLES[who]
    ctx, page = await open_as(site, who, size)
    try:
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        await check_page(page, size, f"{who} /")
        if size == "phone" or who in ("editor67", "oper"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / f"hub-role-{who}-{size}.png"), full_page=False)
        for path in pages:
            await page.goto(site.url + path)
            await expect(page.locator("main h1")).to_be_visible()
            await check_page(page, size, f"{who} {path}")
            if path == "/account" and size == "phone":
                await page.screenshot(path=str(SHOTS / "hub-account-phone.png"), full_page=False)
        if who == "editor67":  # the empty form: every error at once, the summary takes the focus
            await page.get_by_role("button", name="Gửi duyệt").click()
            summary = page.locator("#error-summary")
            await expect(summary).to_be_focused()
            await expect(summary).to_contain_text("chỗ cần sửa")
            await check_page(page, size, f"{who} form errors")
            if size == "phone":
                await page.screenshot(path=str(SHOTS / "hub-role-form-errors-phone.png"), full_page=False)
    finally:
        await ctx.close()


async def test_every_other_page_has_no_serious_violation(site: Site) -> None:
    """The pages no role's task above visits: login, the emergency console, windows, languages, live
    announcements, a bulletin's preview, the refusal and not-found pages. (Thống kê and Bản đồ: the test
    below.)"""
    ctx = await site.browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = await ctx.new_page()
    try:
        await page.goto(site.url + "/login")
        await check_page(page, "desktop", "/login")
    finally:
        await ctx.close()
    paths = (
        "/emergency", "/windows", "/languages", "/live", "/bulletins/b-fill-0001/preview",
        "/bulletins/b-fill-0002", "/bulletins/khong-co", "/audit?page=x",
    )  # fmt: skip
    ctx, page = await open_as(site, "admin1", "desktop")
    try:
        for path in paths:
            await page.goto(site.url + path)
            await expect(page.locator("main h1").first).to_be_visible()
            await check_page(page, "desktop", path)
    finally:
        await ctx.close()
    ctx, page = await open_as(site, "editor67", "phone")
    try:
        await page.goto(site.url + "/audit")  # refused: a clear page, checked too
        await expect(page.get_by_role("heading", name="Không có quyền")).to_be_visible()
        await check_page(page, "phone", "refused /audit")
    finally:
        await ctx.close()


@pytest.mark.parametrize("size", list(SIZES))
async def test_stats_and_map_at_a_province_size(site: Site, size: str) -> None:
    """Thống kê and Bản đồ with the whole province's 2,000 devices and 20,000 plays, as the province's
    administrator sees them (the largest: a commune's are a part of it): no serious violation, nothing
    sideways on a phone."""
    for who, paths in (("admin1", ("/stats", "/map")),):
        ctx, page = await open_as(site, who, size)
        page.set_default_timeout(60_000)  # /stats reads the province's figures (seconds on a loaded host)
        try:
            for path in paths:
                await page.goto(site.url + path, timeout=60_000)
                await expect(page.locator("main h1").first).to_be_visible()
                await check_page(page, size, f"{who} {path}")
                if who == "admin1" and size == "phone":
                    SHOTS.mkdir(parents=True, exist_ok=True)
                    shot = SHOTS / f"hub-province-{path.strip('/')}-{size}.png"
                    await page.screenshot(path=str(shot), full_page=False)
        finally:
            await ctx.close()
