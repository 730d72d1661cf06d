"""Art. 8.3 on the chair's screen in Debian's headless Chromium: a normal bulletin waits (counted in the
menu) until the chair ticks it; chosen for its whole validity on both kinds it is in tomorrow's programme
and on the LED board; the chair's standing rule takes the province's next normal bulletin, audited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import expect
from sqlalchemy import select

from hub.models import AuditEntry
from hub.roles import SYSTEM
from hub.services import BulletinInput
from protocol.clock import FrozenClock

from .conftest import T0, make_services
from .site import Site as BaseSite
from .site import serve_site

pytestmark = [pytest.mark.browser]

COMMUNE = "67/660/24613"


class Site(BaseSite):
    async def province_normal(self, title: str) -> str:
        b = await self.s.bulletins.create(
            SYSTEM,
            BulletinInput(
                title=title,
                priority="normal",
                form="text",
                targets=["67"],
                kinds=["radio", "led"],
                text="Người dân có thể đăng ký khai sinh trực tuyến trên Cổng dịch vụ công quốc gia.",
            ),
        )
        await self.s.approve(SYSTEM, b.id)
        return str(b.id)


@pytest_asyncio.fixture
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    services = make_services(tmp_path_factory.mktemp("web-choices"), FrozenClock(T0))
    async with serve_site(services, Site) as site:
        yield site


async def test_chair_chooses_normal_bulletins_and_sets_a_standing_rule(site: Site) -> None:
    first = await site.province_normal("Hướng dẫn khai sinh trực tuyến")
    ctx, page = await site.login("chair24613")
    nav = page.get_by_role("navigation", name="Chức năng chính")
    await expect(nav.locator("#nav-waiting")).to_contain_text("1")
    await nav.get_by_role("link", name="Chương trình phát").click()
    slots = page.locator("ol.slots")
    normal = page.locator("#normal")
    # not on air: nobody chose it
    await expect(normal.get_by_text("Chờ chọn", exact=True)).to_be_visible()
    await expect(page.locator("#waiting-count")).to_have_text("1 chờ chọn")
    await expect(slots).to_have_count(0)

    # ticked for its whole validity, on the radio and the LED board
    await normal.get_by_label("Hướng dẫn khai sinh trực tuyến").check()
    await normal.get_by_label("Suốt thời gian hiệu lực của bản tin").check()
    await normal.get_by_label("Bảng tin điện tử").check()
    await normal.get_by_role("button", name="Lưu lựa chọn").click()
    await expect(page.get_by_text("Đã lưu lựa chọn")).to_be_visible()
    await expect(slots.first).to_contain_text("Hướng dẫn khai sinh trực tuyến")
    await expect(normal.get_by_text("Đã chọn suốt thời gian hiệu lực")).to_be_visible()
    await expect(page.locator("#nav-waiting")).to_have_count(0)
    # tomorrow, and on the LED board
    filters = page.get_by_role("form", name="Chọn xã, ngày và loại thiết bị")
    await filters.get_by_label("Ngày").select_option(index=1)
    await filters.get_by_role("button", name="Xem").click()
    await expect(
        page.get_by_role("heading", name="Chương trình ngày 24/11/2026 (Đài truyền thanh)")
    ).to_be_visible()
    await expect(slots.first).to_contain_text("Hướng dẫn khai sinh trực tuyến")
    await filters.get_by_label("Thiết bị").select_option("led")
    await filters.get_by_role("button", name="Xem").click()
    await expect(
        page.get_by_role("heading", name="Chương trình ngày 24/11/2026 (Bảng tin điện tử)")
    ).to_be_visible()
    await expect(slots.first).to_contain_text("Hướng dẫn khai sinh trực tuyến")

    # the standing rule: the province's normal bulletins on the radio, without choosing each
    standing = page.locator("#standing")
    await standing.get_by_label("tỉnh").check()
    await standing.get_by_label("Đài truyền thanh").check()
    await standing.get_by_role("button", name="Lưu quy tắc").click()
    await expect(page.get_by_text("Đã lưu quy tắc tự động nhận bản tin thông thường")).to_be_visible()
    await expect(page.locator("#standing").get_by_label("tỉnh")).to_be_checked()
    second = await site.province_normal("Lịch thu gom rác thải mới")
    await page.goto(f"{site.url}/programme?area={COMMUNE}&kind=radio")
    await expect(slots.first).to_contain_text("Lịch thu gom rác thải mới")
    await expect(normal.get_by_text("Tự động nhận theo quy tắc của xã")).to_be_visible()
    await ctx.close()

    with site.s.ctx.db.session() as sess:
        entries = sess.scalars(select(AuditEntry).where(AuditEntry.action.startswith("programme."))).all()
        got = [(e.action, e.username) for e in entries]
    assert ("programme.choose", "chair24613") in got and ("programme.standing", "chair24613") in got
    day = site.s.ctx.local_now().date()
    assert {first, second} <= set(site.s.programmes.view(SYSTEM, COMMUNE, "radio", day)["selection"])
    # another commune saw none of this
    assert site.s.programmes.view(SYSTEM, "67/660/24611", "radio", day)["selection"] == []
