"""Thống kê and Bản đồ in Debian's headless Chromium, at desktop and phone sizes: a province viewer reads the
figures and charts of a period and downloads the tables; a commune chair sees only their commune; the map
shows the devices by state without any tile server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from docx import Document
from openpyxl import load_workbook
from playwright.async_api import Page, expect

from hub.roles import SYSTEM
from protocol.clock import FrozenClock
from tests.hub.statsdata import seed

from .conftest import T0, make_services
from .site import Site, serve_site
from .test_browser import shot

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]
PERIOD = "2026-11-23", "2026-11-24"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    clock = FrozenClock(T0)
    services = make_services(tmp_path_factory.mktemp("web-stats"), clock)
    seed(services, clock)
    for dev, lat, lon in (("loa-a", 12.004, 107.690), ("bang-b", 12.0, 107.697), ("loa-c", 11.985, 107.705)):
        services.devices.locate(SYSTEM, dev, lat=lat, lon=lon)
    services.devices.ingest_statuses(  # fresh statuses: playing, idle (loa-c's is hours old: attention)
        {"loa-a": {"state": "playing", "now_playing": "N1"}, "bang-b": {"state": "idle"}}
    )
    services.devices.register(
        SYSTEM, device_id="loa-d", kind="radio", area="67/661/24658", lat=12.1, lon=107.6
    )
    async with serve_site(services) as site:
        yield site


async def _no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 1, f"the page scrolls sideways by {width}px"


async def test_province_figures_charts_and_downloads(
    site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ctx, page = await site.login("viewer")
    await page.get_by_role("link", name="Thống kê").click()
    await expect(page.get_by_role("heading", name="Thống kê", exact=True)).to_be_visible()
    form = page.get_by_role("search", name="Chọn địa bàn và kỳ thống kê")
    await form.get_by_label("Kỳ", exact=True).select_option("custom")
    await form.get_by_label("Từ", exact=True).fill(PERIOD[0])
    await form.get_by_label("Đến", exact=True).fill(PERIOD[1])
    await form.get_by_label("Theo cấp").select_option("commune")
    await form.get_by_role("button", name="Xem").click()
    await expect(page.locator("#st-heading")).to_contain_text("từ ngày 23/11/2026 đến ngày 24/11/2026")
    await expect(page.locator("#st-share")).to_have_text("71.4%")  # 5 of 7 plays
    await expect(page.locator("#st-figures")).to_contain_text("50% thiết bị phát trong 60 giây")
    for name in ("share", "outcomes", "air", "problems"):
        img = page.locator(f"#chart-{name}")
        await expect(img).to_be_visible()
        assert await img.evaluate("i => i.complete && i.naturalWidth > 100"), f"chart {name} did not draw"
    ranked = page.locator("#table-communes tbody tr").first
    await expect(ranked).to_contain_text("Phường Nghĩa Đức")
    await shot(page, "stats")
    async with page.expect_download() as dl:
        await page.locator("#st-xlsx").click()
    path = tmp_path_factory.mktemp("dl") / "t.xlsx"
    await (await dl.value).save_as(path)
    assert "communes" in load_workbook(path).sheetnames
    async with page.expect_download() as dl:
        await page.locator("#table-plays").get_by_role("link", name="CSV").click()
    assert (await dl.value).suggested_filename.endswith("-plays.csv")
    await form.get_by_label("Đến", exact=True).fill("2026-11-01")
    await form.get_by_role("button", name="Xem").click()
    await expect(page.get_by_role("alert")).to_contain_text("phải sau ngày bắt đầu")
    await ctx.close()


async def test_editor_drafts_the_half_year_report(
    site: Site, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ctx, page = await site.login("editor67")
    await page.get_by_role("link", name="Thống kê").click()
    report = page.locator("#report-form")
    await report.get_by_label("Ngày trong kỳ báo cáo").fill("2026-11-23")
    await report.get_by_label("Số văn bản").fill("125/BC-STTTT")
    # drawing the charts and the document takes seconds on a busy 2-core machine
    await report.get_by_role("button", name="Lập báo cáo (DOCX)").click(timeout=60_000)
    await expect(page.get_by_role("status")).to_contain_text("Đã lập báo cáo", timeout=60_000)
    await expect(page.locator("#report-list tbody tr")).to_have_count(1)
    async with page.expect_download() as dl:
        await page.locator("#report-list").get_by_role("link", name="Báo cáo (DOCX)").click()
    path = tmp_path_factory.mktemp("dl") / "r.docx"
    await (await dl.value).save_as(path)
    assert "6 tháng cuối năm 2026" in "\n".join(p.text for p in Document(str(path)).paragraphs)
    await shot(page, "stats-report")
    await ctx.close()


async def test_commune_chair_on_a_phone(site: Site) -> None:
    ctx, page = await site.login("chair24613", mobile=True)
    await page.goto(f"{site.url}/stats?period=custom&from={PERIOD[0]}&to={PERIOD[1]}")
    await expect(page.locator("#st-heading")).to_contain_text("Phường Nghĩa Thành")
    await expect(page.locator("#st-share")).to_have_text("100.0%")
    assert await page.locator("#st-area option").count() == 1  # only their own commune
    await _no_sideways_scroll(page)
    await shot(page, "stats-phone")
    await page.goto(f"{site.url}/stats?area=67")
    await expect(page.get_by_role("heading", name="Không có quyền")).to_be_visible()
    await ctx.close()


async def test_map_of_the_terminals(site: Site) -> None:
    ctx, page = await site.login("viewer")
    await page.get_by_role("link", name="Bản đồ").click()
    await expect(page.get_by_role("heading", name="Bản đồ thiết bị")).to_be_visible()
    await expect(page.locator("#map circle[id^=pt-]")).to_have_count(4)
    await expect(page.locator("#pt-loa-d")).to_have_class("pt-offline")  # never connected
    await expect(page.locator("#pt-loa-c")).to_have_class("pt-attention")  # silent for hours, refused one
    await expect(page.locator("#pt-loa-a")).to_have_class("pt-playing")
    await expect(page.locator("#pt-bang-b")).to_have_class("pt-idle")
    await expect(page.locator("#map text")).to_contain_text(["Phường Nghĩa Đức"])
    await shot(page, "map")
    await page.get_by_label("Địa bàn", exact=True).select_option("67/660/24611")
    await page.get_by_role("button", name="Lọc").click()
    await expect(page.locator("#map circle[id^=pt-]")).to_have_count(2)
    await ctx.close()
    ctx, page = await site.login("viewer", mobile=True)
    await page.goto(f"{site.url}/map")
    await expect(page.locator("#map circle[id^=pt-]")).to_have_count(4)
    await _no_sideways_scroll(page)
    await shot(page, "map-phone")
    await ctx.close()
