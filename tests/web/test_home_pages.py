"""Trang đầu (issue 19): each role lands on its work, with notifications counted in the menu until seen."""

from __future__ import annotations

import re

from hub.roles import SYSTEM

from .conftest import WebHub
from .pagehelp import write


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"')[1].split("</section>", maxsplit=1)[0]


async def test_editor_sees_a_rejection_with_its_reason_and_a_new_notification(web: WebHub) -> None:
    bid = await write(web, "editor660", title="Thông báo họp dân")  # the district's editor writes
    draft = await write(web, "editor660", title="Bản nháp lịch tiêm", action="draft")
    ed67 = await web.as_user("editor67")
    r = await ed67.post(f"/bulletins/{bid}/action", {"action": "reject", "reason": "Thiếu giờ họp."})
    assert r.status == 303
    ed = await web.as_user("editor660")
    status, html = await ed.get("/bulletins")
    assert status == 200 and re.search(r'id="nav-notices"[^>]*>1<', html)  # the menu counts it
    status, html = await ed.get("/")
    assert status == 200 and "<h1>Trang đầu</h1>" in html
    rejected = section(html, "h-rejected")
    assert "Thông báo họp dân" in rejected and "Lý do: Thiếu giờ họp." in rejected
    assert "Bản nháp lịch tiêm" in section(html, "h-drafts") and f"/bulletins/{draft}" in html
    notices = section(html, "h-notices")
    assert "Bản tin của bạn bị trả lại" in notices and "Mới" in notices and "editor67" in notices
    # seen: the counter goes, the notice stays without its "Mới"
    _, html = await ed.get("/bulletins")
    assert 'id="nav-notices"' not in html
    _, html = await ed.get("/")
    assert "Bản tin của bạn bị trả lại" in html and ">Mới<" not in section(html, "h-notices")
    # someone else's start page does not carry it
    _, html = await (await web.as_user("chair24613")).get("/")
    assert "Bản tin của bạn bị trả lại" not in html


async def test_approver_and_reviewer_see_their_queues_and_no_editor_cards(web: WebHub) -> None:
    await write(web, "editor660", title="Lịch cắt điện")
    _, html = await (await web.as_user("editor67")).get("/")
    assert "Lịch cắt điện" in section(html, "h-approve")
    assert "Bản tin mới chờ duyệt" in section(html, "h-notices")
    _, html = await (await web.as_user("reviewer67")).get("/")
    assert 'id="h-review"' in html and 'id="h-approve"' not in html and 'id="h-drafts"' not in html
    assert "Không có bản tin nào chờ kiểm duyệt." in html
    _, html = await (await web.as_user("viewer")).get("/")
    assert 'id="h-notices"' in html and 'id="h-devices"' not in html and "Viết bản tin" not in html


async def test_operator_lands_on_devices_needing_attention_and_device_down(web: WebHub) -> None:
    for n in (1, 2):
        web.s.devices.register(SYSTEM, device_id=f"loa-24613-0{n}", kind="radio", area="67/660/24613")
    web.s.devices.ingest_statuses(
        {"loa-24613-01": {"state": "idle", "clock": "synced"}, "loa-24613-02": {"state": "offline"}}
    )
    _, html = await (await web.as_user("oper")).get("/")
    devices = section(html, "h-devices")
    assert "2 thiết bị · 1 trực tuyến" in devices and "loa-24613-02" in devices
    assert "loa-24613-01" not in devices and "Mất kết nối từ" in devices
    assert "Thiết bị mất kết nối" in section(html, "h-notices")


async def test_admin_sees_accounts_and_refusals_and_a_hand_written_cookie_is_harmless(web: WebHub) -> None:
    await (await web.as_user("editor67")).get("/audit")  # refused and audited
    admin = await web.as_user("admin1")
    _, html = await admin.get("/")
    accounts = section(html, "h-accounts")
    assert "8 tài khoản" in accounts and "1 thao tác bị từ chối hôm nay" in accounts
    for cookie in ("hom-qua", "2026-11-23", "x" * 5000):
        admin.client.session.cookie_jar.update_cookies({"nguon_seen": cookie})
        status, _ = await admin.get("/")
        assert status == 200


async def test_chair_sees_choices_waiting_and_todays_programme(web: WebHub) -> None:
    bid = await write(web, title="Tin thông thường chờ chọn", priority="normal")
    ed = await web.as_user("editor67")
    assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    _, html = await (await web.as_user("chair24613")).get("/")
    assert "Tin thông thường chờ chọn" in section(html, "h-choose")
    assert "Chương trình phát hôm nay (23/11/2026)" in html
