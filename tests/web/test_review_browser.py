"""Review before air (Art. 14.5) in Debian's headless Chromium: the author of a sensitive province bulletin
finds no way to approve it or untick the mark, the Department's reviewer signs off, a second Department
reviewer has no button, the Propaganda Board's reviewer gives the last sign-off and it is approved."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from hub.config import ReviewConfig
from hub.roles import SYSTEM
from protocol.clock import FrozenClock

from .conftest import PASSWORD, T0, make_services
from .site import Site as BaseSite
from .site import serve_site

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

GROUPS = {"so": "Sở Thông tin và Truyền thông", "btg": "Ban Tuyên giáo Tỉnh ủy"}


class Site(BaseSite):
    async def page(self, username: str) -> Page:
        return (await self.login(username))[1]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    review = {"self_approve": ReviewConfig().self_approve, "signoffs": 2, "groups": GROUPS}
    services = make_services(tmp_path_factory.mktemp("review-browser"), FrozenClock(T0), review=review)
    for name, group in (("so1", "so"), ("so2", "so"), ("btg1", "btg")):
        services.accounts.create_user(SYSTEM, username=name, password=PASSWORD, role="reviewer", area="67")
        services.accounts.set_review_group(SYSTEM, name, group)
    async with serve_site(services, Site) as site:
        yield site


async def test_sensitive_bulletin_needs_both_groups_in_the_browser(site: Site) -> None:
    page = await site.page("editor67")
    await page.get_by_role("link", name="Viết bản tin").click()
    await page.get_by_label("Tiêu đề").fill("Thông tin về dự án thu hồi đất")
    await page.get_by_label("Ưu tiên", exact=True).check()
    await page.get_by_label("Nội dung (bản tin ký tự)").fill("UBND tỉnh thông tin về dự án thu hồi đất.")
    await page.get_by_label("Phường Nghĩa Thành").check()
    await page.get_by_label("Nội dung nhạy cảm (phải qua kiểm duyệt trước khi phát)").check()
    await page.get_by_role("button", name="Gửi duyệt").click()
    await expect(page.locator("#review")).to_contain_text("Cần 2 chữ ký")
    await expect(page.get_by_role("button", name="Duyệt phát")).to_have_count(0)
    await expect(page.get_by_role("button", name="Ký kiểm duyệt: đồng ý phát")).to_have_count(0)
    url = page.url
    await page.get_by_role("link", name="Sửa (tạo phiên bản mới)").click()
    box = page.locator("#sensitive")
    await expect(box).to_be_checked()
    await expect(box).to_be_disabled()
    await page.context.close()

    page = await site.page("so1")
    await page.goto(url)
    await page.get_by_role("button", name="Ký kiểm duyệt: đồng ý phát").click()
    await expect(page.locator("#review")).to_contain_text("so1 (Sở Thông tin và Truyền thông)")
    await expect(page.locator(".badge.st-in_review")).to_be_visible()
    await page.context.close()

    page = await site.page("so2")
    await page.goto(url)
    await expect(page.locator("#review")).to_contain_text("Ban Tuyên giáo Tỉnh ủy chưa ký")
    await expect(page.get_by_role("button", name="Ký kiểm duyệt: đồng ý phát")).to_have_count(0)
    await page.context.close()

    page = await site.page("btg1")
    await page.goto(url)
    await page.get_by_role("button", name="Ký kiểm duyệt: đồng ý phát").click()
    await expect(page.locator(".badge.st-approved")).to_have_text("Đã duyệt")
    await page.context.close()
