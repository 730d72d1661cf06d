"""Thống kê's reminder (Art. 18): from 1 June and 1 December the menu and the page remind whoever drafts the
unit's report of its deadline (20th for communes and districts, 30th for the Department); a form post with
bad input is refused with a page saying what to fix."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.hub.statsdata import seed

from .conftest import WebHub


async def test_reminder_from_the_first_of_june(web: WebHub) -> None:
    web.clock.set(datetime(2026, 6, 5, 3, 0, tzinfo=UTC))
    editor, chair, viewer = [await web.as_user(u) for u in ("editor67", "chair24613", "viewer")]
    status, html = await editor.get("/stats")
    assert status == 200 and 'id="nav-report"' in html and "gửi trước ngày 30/06/2026" in html
    status, html = await chair.get("/bulletins")
    assert status == 200 and 'id="nav-report"' in html and "20/06/2026" in html
    status, html = await viewer.get("/stats")
    assert status == 200 and 'id="nav-report"' not in html  # a reader drafts no report
    web.clock.set(datetime(2026, 7, 1, 3, 0, tzinfo=UTC))
    status, html = await (await web.as_user("editor67")).get("/stats")
    assert 'id="nav-report"' not in html and "Đến hạn báo cáo" not in html


async def test_report_form_refuses_bad_input(web: WebHub) -> None:
    b = await web.as_user("editor67")
    await b.get("/stats")
    for data in ({"day": "2026-13-01"}, {"number": "x" * 61}, {"area": "99"}):
        r = await b.post("/stats/report", data)
        assert r.status == 422, data
    r = await b.post("/stats/report", {"day": "2026-03-01"}, csrf="wrong")
    assert r.status == 403
    r = await b.post("/stats/report", {"day": "2026-03-01", "number": "7/BC-STTTT"})
    assert r.status == 303 and "saved=" in r.headers["Location"]


async def test_days_not_rolled_up_yet_are_named_not_waited_for(web: WebHub) -> None:
    seed(web.s, web.clock, rolled_up=False)  # no roll-up stored: the background catch-up has not run
    viewer = await web.as_user("viewer")
    status, html = await viewer.get("/stats?period=custom&from=2026-11-22&to=2026-11-24&level=commune")
    assert status == 200
    assert "Số liệu đang được tổng hợp đến ngày 24/11/2026: 3 ngày (22/11/2026 – 24/11/2026)" in html
    web.s.stats_catchup.catch_up()
    status, html = await viewer.get("/stats?period=custom&from=2026-11-22&to=2026-11-24&level=commune")
    assert status == 200 and 'id="st-pending"' not in html
