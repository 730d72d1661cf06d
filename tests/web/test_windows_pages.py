"""Khung giờ phát in the pages a chair and an admin use (Art. 10): the chair's screen shows the windows in
force and where they come from; the forms set a commune's own hours and occasion hours, refuse bad input
with the reason, and refuse another commune."""

from __future__ import annotations

import html as htmllib

from hub.models import AuditEntry, OccasionWindowRow, WindowRuleRow

from .conftest import WebHub
from .pagehelp import count, write

OWN = "67/660/24613"


async def test_chair_sets_own_hours_and_sees_them_on_the_programme_screen(web: WebHub) -> None:
    bid = await write(web, title="Lịch tiêm chủng", targets=(OWN,))
    ed = await web.as_user("editor67")
    assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    chair = await web.as_user("chair24613")
    status, page = await chair.get("/programme?date=2026-11-23")
    assert status == 200
    assert "Khung giờ phát: <strong>05:00-06:30, 17:00-18:30</strong> — Mặc định theo quy định" in page
    assert "Đặt khung giờ riêng của xã" in page and 'href="/windows' in page

    status, page = await chair.get(f"/windows?area={OWN}")
    assert status == 200 and 'id="set-windows"' in page
    r = await chair.post(
        "/windows",
        {"area": OWN, "kind": "radio", "effective_from": "2026-11-23", "windows": "06:00-06:45; 17:30-18:30"},
    )
    assert r.status == 303, await r.text()
    status, page = await chair.get(r.headers["Location"])
    assert "Đã lưu khung giờ phát" in page
    assert "06:00-06:45, 17:30-18:30" in page

    status, page = await chair.get("/programme?date=2026-11-23")
    text = htmllib.unescape(page)
    assert "Khung giờ phát: <strong>06:00-06:45, 17:30-18:30</strong>" in text
    assert "Khung giờ riêng của Phường Nghĩa Thành (từ 23/11/2026)" in text
    assert "Khung giờ 06:00-06:45" in text and "Lịch tiêm chủng" in text
    assert count(web, AuditEntry, AuditEntry.action == "windows.set") == 1

    # and takes them back: the defaults apply again
    with web.s.ctx.db.session() as sess:
        rule_id = sess.query(WindowRuleRow).one().id
    r = await chair.post(f"/windows/{rule_id}/delete", {"area": OWN})
    assert r.status == 303
    status, page = await chair.get("/programme?date=2026-11-23")
    assert "Khung giờ phát: <strong>05:00-06:30, 17:00-18:30</strong>" in page


async def test_bad_hours_keep_what_was_typed_and_say_what_to_fix(web: WebHub) -> None:
    chair = await web.as_user("chair24613")
    await chair.get(f"/windows?area={OWN}")
    for typed, why in (
        ("05:00-06:30, 06:00-07:00", "chồng lên nhau"),
        ("5h-6h30", "không đúng dạng GG:PP-GG:PP"),
        ("06:30-05:00", "kết thúc trước khi bắt đầu"),
        ("", "Cần ít nhất một khung giờ"),
    ):
        r = await chair.post(
            "/windows", {"area": OWN, "kind": "radio", "effective_from": "2026-11-23", "windows": typed}
        )
        page = htmllib.unescape(await r.text())
        assert r.status == 422, (typed, page[:300])
        assert why in page, typed
        assert f'value="{typed}"' in page  # what the chair typed is still there
    r = await chair.post(
        "/windows", {"area": OWN, "kind": "radio", "effective_from": "2026-11-01", "windows": "06:00-07:00"}
    )
    assert r.status == 422 and "đã qua" in htmllib.unescape(await r.text())
    assert count(web, WindowRuleRow) == 0


async def test_another_commune_or_a_district_is_refused(web: WebHub) -> None:
    chair = await web.as_user("chair24611")
    await chair.get("/windows")
    r = await chair.post(
        "/windows", {"area": OWN, "kind": "radio", "effective_from": "2026-11-23", "windows": "06:00-07:00"}
    )
    assert r.status == 403
    status, _ = await chair.get(f"/windows?area={OWN}")
    assert status == 403
    # the district above: visible, not editable
    status, page = await chair.get("/windows?area=67/660")
    assert status == 200 and 'id="set-windows"' not in page
    r = await chair.post(
        "/windows",
        {"area": "67/660", "kind": "radio", "effective_from": "2026-11-23", "windows": "06:00-07:00"},
    )
    assert r.status == 403
    assert count(web, WindowRuleRow) == 0
    viewer = await web.as_user("viewer")
    _, page = await viewer.get("/bulletins")
    assert 'href="/windows"' not in page  # not in the menu of those who cannot set hours


async def test_admin_adds_occasion_hours_for_a_district(web: WebHub) -> None:
    admin = await web.as_user("admin1")
    _, page = await admin.get("/windows?area=67/660")
    assert 'id="add-occasion"' in page
    r = await admin.post(
        "/windows/occasions",
        {
            "area": "67/660",
            "o_name": "Bầu cử đại biểu Quốc hội",
            "o_date_from": "2026-11-23",
            "o_date_to": "2026-11-23",
            "o_windows": "20:00-23:30",
        },
    )
    assert r.status == 303, await r.text()
    chair = await web.as_user("chair24613")
    _, page = await chair.get("/programme?date=2026-11-23&kind=led")
    text = htmllib.unescape(page)
    assert "Khung giờ phát: <strong>05:00-07:00, 17:00-23:30</strong>" in text
    assert "Bầu cử đại biểu Quốc hội" in text
    r = await admin.post(
        "/windows/occasions",
        {
            "area": "67/660",
            "o_name": "Tết",
            "o_date_from": "2026-11-25",
            "o_date_to": "2026-11-24",
            "o_windows": "20:00-23:00",
        },
    )
    assert r.status == 422 and "trước ngày bắt đầu" in htmllib.unescape(await r.text())
    assert count(web, OccasionWindowRow) == 1
