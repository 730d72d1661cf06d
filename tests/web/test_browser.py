"""The web UI in Debian's headless Chromium: log in, write and approve a bulletin, see it in the commune's
programme, reorder it as the chair with the keyboard, send and cancel an exercise emergency."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from hub.roles import SYSTEM
from hub.services import BulletinInput
from protocol.clock import FrozenClock
from tests.browser import screenshot_dir

from .conftest import T0, make_services
from .site import Site, serve_site

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

SHOTS = screenshot_dir("nguon-web-screenshots")
COMMUNE = "67/660/24613"


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"hub-{name}.png"), full_page=True)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    services = make_services(tmp_path_factory.mktemp("web-browser"), FrozenClock(T0))
    for i, (dev, kind) in enumerate(
        (("loa-24613-01", "radio"), ("loa-24613-02", "radio"), ("led-24613-01", "led"))
    ):
        services.devices.register(SYSTEM, device_id=dev, kind=kind, area=COMMUNE, name=f"Thiết bị {i + 1}")
        if i < 2:
            services.devices.ingest_status(dev, {"state": "idle", "volume": 70, "clock": "synced"})
    async with serve_site(services) as site:
        yield site


async def test_write_approve_and_chair_reorders(site: Site) -> None:
    ctx, page = await site.login("editor67")
    await shot(page, "bulletins-empty")
    # a second priority bulletin from the district, so the chair has something to order
    other = await site.s.bulletins.create(
        SYSTEM,
        BulletinInput(
            title="Lịch tiêm phòng dại cho chó mèo",
            priority="priority",
            form="text",
            targets=["67/660"],
            kinds=["radio"],
            text="Trạm thú y thông báo lịch tiêm phòng dại ngày 26/11.",
        ),
    )
    await site.s.approve(SYSTEM, other.id)

    await page.get_by_role("link", name="Viết bản tin").click()
    await page.get_by_label("Tiêu đề").fill("Tiêm vắc-xin sởi cho trẻ dưới 5 tuổi")
    await page.get_by_label("Ưu tiên", exact=True).check()
    await page.get_by_label("Nội dung (bản tin ký tự)").fill(
        "UBND phường thông báo: ngày 25/11, trạm y tế tiêm vắc-xin sởi cho trẻ dưới 5 tuổi."
    )
    await page.get_by_label("Bảng tin điện tử").check()
    await page.get_by_label("Phường Nghĩa Thành").check()
    await shot(page, "bulletin-form")
    await page.get_by_role("button", name="Gửi duyệt").click()
    await expect(page.get_by_text("Chờ duyệt", exact=True)).to_be_visible()
    await page.get_by_role("button", name="Duyệt phát").click()
    await expect(page.locator(".badge.st-approved")).to_have_text("Đã duyệt")
    await shot(page, "bulletin-detail")
    await page.get_by_label("Xem trước trên bảng tin cỡ").select_option("1920x384")
    await page.get_by_role("button", name="Xem trước").click()
    board = page.locator("#board")
    await expect(board).to_have_attribute("data-font-px", re.compile(r"^\d+$"))
    box = await board.evaluate("b => ({w: b.offsetWidth, h: b.offsetHeight})")
    assert box == {"w": 1920, "h": 384}
    await shot(page, "led-preview")
    await ctx.close()

    ctx, page = await site.login("chair24613")
    await page.get_by_role("link", name="Chương trình phát").click()
    await expect(page.get_by_role("heading", name="Chương trình phát · Phường Nghĩa Thành")).to_be_visible()
    rows = page.locator("#prio-list li")
    await expect(rows).to_have_count(2)
    first = (await rows.nth(0).get_attribute("data-id")) or ""
    second = (await rows.nth(1).get_attribute("data-id")) or ""
    await shot(page, "programme")
    # keyboard only: focus the first row's "down" button and press Enter
    await rows.nth(0).locator("button[data-dir=down]").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#prio-list li").nth(0)).to_have_attribute("data-id", second)
    await page.wait_for_load_state("load")
    await expect(rows.nth(1).locator("button[data-dir=up]")).to_be_focused()
    focused = await page.evaluate("document.activeElement.closest('li')?.dataset.id")
    assert focused == first  # the focus follows the moved row
    day = site.s.ctx.local_now().date()
    assert site.s.programmes.view(SYSTEM, COMMUNE, "radio", day)["order"] == [second, first]
    await expect(page.locator("ol.slots").first).to_contain_text("Tiêm vắc-xin sởi")
    await ctx.close()

    ctx, page = await site.login("chair24613", mobile=True)
    await page.goto(site.url + "/programme")
    await shot(page, "programme-mobile")
    await ctx.close()


async def test_exercise_emergency_send_live_and_cancel(site: Site) -> None:
    ctx, page = await site.login("editor67")
    await page.get_by_role("link", name="Phát khẩn cấp").click()
    await expect(page.get_by_role("heading", name="PHÁT KHẨN CẤP")).to_be_visible()
    await page.get_by_label("Diễn tập").check()
    await page.get_by_label("Tiêu đề").fill("Diễn tập ứng phó lũ quét")
    await page.get_by_label("Nội dung (bản tin ký tự)").fill(
        "Đây là diễn tập. Người dân thôn 3 di chuyển lên nhà văn hóa."
    )
    await page.get_by_label("Phường Nghĩa Thành").check()
    await shot(page, "emergency")
    await page.get_by_role("button", name="Tiếp tục: kiểm tra trước khi phát").click()
    await expect(page.locator(".em-areas")).to_have_text("Phường Nghĩa Thành")
    await expect(page.locator(".exercise-note")).to_be_visible()
    await shot(page, "emergency-confirm")
    await expect(page.locator("#em-reach")).to_contain_text("1 xã/phường · 3 thiết bị")
    await page.get_by_role("button", name="PHÁT NGAY tới 1 xã/phường, 3 thiết bị").click()
    await expect(page.locator("#em-count")).to_have_text("0/3")
    bid = page.url.rsplit("/", 1)[1]
    sent = datetime.fromisoformat(site.s.bulletins.get(SYSTEM, bid).approved_at)
    started = sent + timedelta(seconds=1.8)
    site.s.devices.ingest_events(
        "loa-24613-01",
        [
            {
                "id": "em-play-1",
                "type": "play",
                "data": {
                    "bulletin_id": bid,
                    "outcome": "completed",
                    "started_at": started.isoformat(),
                    "ended_at": (started + timedelta(seconds=8)).isoformat(),
                    "emergency": True,
                    "exercise": True,
                },
            }
        ],
    )
    # the page polls status.json: the row updates without a reload
    await expect(page.locator('tr[data-device="loa-24613-01"] .latency')).to_have_text(
        "1,8 giây", timeout=5_000
    )
    await expect(page.locator("#em-count")).to_have_text("1/3")
    await shot(page, "emergency-live")
    await page.get_by_role("button", name="HỦY PHÁT KHẨN CẤP").click()
    await expect(page.locator("#em-status")).to_have_text("Đã hủy")
    assert site.s.bulletins.get(SYSTEM, bid).status == "cancelled"
    # no device has reported since the cancel: none counted as stopped, each named with why
    await expect(page.locator("#em-stop")).to_contain_text("0/3 thiết bị đã dừng")
    await expect(page.locator("#em-stop")).to_contain_text("chưa báo lại từ lúc hủy")
    await expect(page.locator("#em-stop")).to_contain_text("mất kết nối")
    await ctx.close()


async def test_devices_and_admin_pages_render(site: Site) -> None:
    ctx, page = await site.login("admin1")
    await page.get_by_role("link", name="Thiết bị").click()
    await expect(page.get_by_text("2/3 trực tuyến").first).to_be_visible()
    await shot(page, "devices")
    await page.get_by_role("link", name="Nhật ký hệ thống").click()
    await expect(page.get_by_role("cell", name="Hủy phát khẩn cấp")).to_be_visible()
    await shot(page, "audit")
    await page.get_by_role("link", name="Nhật ký phát").click()
    await page.get_by_label("Ngày").fill("2026-11-23")
    await page.get_by_role("button", name="Tìm").click()
    await expect(page.get_by_role("cell", name="Phát trọn")).to_be_visible()
    await shot(page, "plays")
    await page.get_by_role("link", name="Người dùng").click()
    await expect(page.get_by_role("cell", name="chair24613")).to_be_visible()
    await shot(page, "users")
    await page.get_by_role("button", name="Đăng xuất").click()
    await expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    await shot(page, "login")
    await ctx.close()
