"""Handler-level tests of the devices page, the device commands, the play log and what the pages say devices
reported."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from hub.models import Command
from hub.roles import SYSTEM

from .conftest import WebHub
from .pagehelp import count, write


async def test_device_commands_validate_and_publish(web: WebHub) -> None:
    web.s.devices.register(
        SYSTEM, device_id="loa-24613-01", kind="radio", area="67/660/24613", name="Cụm loa 1"
    )
    web.s.devices.ingest_status("loa-24613-01", {"state": "idle", "volume": 60, "clock": "synced"})
    oper = await web.as_user("oper")
    status, html = await oper.get("/devices")
    assert status == 200 and "Cụm loa 1" in html and "Trực tuyến" in html and "Đã đồng bộ" in html
    r = await oper.post("/devices/loa-24613-01/command", {"command": "volume", "level": "150"})
    assert r.status == 422 and "0 đến 100" in await r.text()
    r = await oper.post("/devices/loa-24613-01/command", {"command": "volume", "level": "40"})
    assert r.status == 303
    assert count(web, Command) == 1 and any(t.endswith("/cmd") for t, _, _ in web.publisher.messages)
    viewer = await web.as_user("viewer")
    _, html = await viewer.get("/devices")
    assert "Đặt âm lượng" not in html


async def test_devices_page_counts_and_filters_the_devices_that_need_attention(web: WebHub) -> None:
    for n in range(1, 5):
        web.s.devices.register(SYSTEM, device_id=f"loa-24613-0{n}", kind="radio", area="67/660/24613")
    good = {"state": "idle", "clock": "synced", "outbox": 0, "rejected": 0, "disk_free_mb": 5000}
    web.s.devices.ingest_statuses(
        {
            "loa-24613-01": good,
            "loa-24613-02": {**good, "clock": "unsynced", "rejected": 3},  # since start: not a problem alone
            "loa-24613-03": {**good, "state": "offline"},
            "loa-24613-04": {**good, "disk_free_mb": 120, "outbox": 400},
        }
    )
    refused = [
        {"id": f"r{n}", "type": "rejected", "at": web.clock.now().isoformat(), "data": {"reason": reason}}
        for n, reason in enumerate(("bad_signature", "bad_signature", "expired"))
    ]
    web.s.devices.ingest_events("loa-24613-02", refused)
    oper = await web.as_user("oper")
    _, html = await oper.get("/devices")
    assert "4 thiết bị" in html and "3 trực tuyến" in html and "3 cần chú ý" in html
    assert "Đồng hồ chưa đồng bộ: tạm dừng lịch phát" in html
    assert "Đã từ chối 3 tin trong 24 giờ qua (sai chữ ký, quá hạn)" in html
    assert "Thẻ nhớ sắp đầy (còn 120 MB)" in html and "Còn 400 báo cáo chưa gửi về" in html
    assert "Mất kết nối từ" in html
    _, html = await oper.get("/devices?attention=1")
    assert "loa-24613-01" not in html and all(f"loa-24613-0{n}" in html for n in (2, 3, 4))
    assert "Xem tất cả thiết bị" in html
    # a device that has said nothing for longer than SILENT_AFTER, without a last will: silent
    web.clock.advance(6 * 60)
    _, html = await oper.get("/devices?attention=1")
    assert "loa-24613-01" in html and "Không có tín hiệu từ" in html


async def test_devices_page_folds_quiet_communes_of_a_large_province(web: WebHub) -> None:
    for n in range(40):
        for area in ("67/660/24611", "67/660/24613"):
            dev = f"loa-{area[-5:]}-{n:02d}"
            web.s.devices.register(SYSTEM, device_id=dev, kind="radio", area=area)
            web.s.devices.ingest_status(dev, {"state": "idle", "clock": "synced"})
    web.s.devices.ingest_status("loa-24613-07", {"state": "idle", "clock": "unsynced"})
    oper = await web.as_user("oper")
    _, html = await oper.get("/devices")
    assert "80 thiết bị" in html and "1 cần chú ý" in html
    assert '<details class="area" id="area-67-660-24611" >' in html  # quiet: folded
    assert '<details class="area" id="area-67-660-24613" open>' in html  # one device needs attention
    assert '<details class="area" id="area-67-660" open>' in html  # districts stay open


async def test_devices_page_names_what_plays(web: WebHub) -> None:
    bid = await write(web, title="Lịch tiêm chủng tháng 12")
    ed = await web.as_user("editor67")
    assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    web.s.devices.register(SYSTEM, device_id="loa-24613-01", kind="radio", area="67/660/24613")
    web.s.devices.ingest_status("loa-24613-01", {"state": "playing", "clock": "synced", "now_playing": bid})
    oper = await web.as_user("oper")
    _, html = await oper.get("/devices")
    assert f'<a href="/bulletins/{bid}">Lịch tiêm chủng tháng 12</a>' in html  # approved, not yet on_air
    # a board has no speaker: no test tone button on its row (the agent would refuse it)
    web.s.devices.register(SYSTEM, device_id="bang-24613-01", kind="led", area="67/660/24613")
    _, html = await oper.get("/devices")
    radio_row = html.split('id="dev-loa-24613-01"')[1].split("</tr>")[0]
    board_row = html.split('id="dev-bang-24613-01"')[1].split("</tr>")[0]
    assert "Phát âm thử" in radio_row and "Phát âm thử" not in board_row and "Đồng bộ lại" in board_row


async def test_bulletin_page_shows_where_it_has_played(web: WebHub) -> None:
    bid = await write(web, title="Lịch cắt điện tuần này")  # targets 67/660: communes 24611 and 24613
    ed = await web.as_user("editor67")
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Kết quả phát" not in html  # not approved yet
    assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    for dev, area in (("loa-a", "67/660/24613"), ("loa-b", "67/660/24613"), ("loa-c", "67/660/24611")):
        web.s.devices.register(SYSTEM, device_id=dev, kind="radio", area=area)
    started = web.clock.now()

    def play(dev: str, n: int, outcome: str) -> dict[str, object]:
        data = {"bulletin_id": bid, "outcome": outcome, "started_at": started.isoformat(), "emergency": False}
        return {"id": f"{dev}:{n}", "type": "play", "at": started.isoformat(), "data": data}

    web.s.devices.ingest_events("loa-a", [play("loa-a", 1, "completed"), play("loa-a", 2, "completed")])
    web.s.devices.ingest_events("loa-c", [play("loa-c", 1, "failed")])
    _, html = await ed.get(f"/bulletins/{bid}")
    section = html.split('id="delivery"')[1].split("</section>")[0]
    assert "1/3</strong> thiết bị" in section and "3 lượt phát" in section
    assert f'href="/plays?bulletin={bid}"' in section
    rows = section.split("<tbody>")[1].split("</tr>")
    # the commune still short comes first; one device failed there
    assert "0/1" in rows[0] and ">1</span>" in rows[0] and "1/2" in rows[1]


async def test_chairs_programme_shows_what_the_communes_devices_reported(web: WebHub) -> None:
    heard = await write(web, title="Tin đã phát")
    silent = await write(web, title="Tin chưa báo")
    ed = await web.as_user("editor67")
    for bid in (heard, silent):
        assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    web.s.devices.register(SYSTEM, device_id="loa-a", kind="radio", area="67/660/24613")
    day = web.s.ctx.local_now().date()
    items = web.s.programmes.view(SYSTEM, "67/660/24613", "radio", day)["programme"]
    start = next(i["start"] for i in items if i["bulletin_id"] == heard)
    data = {"bulletin_id": heard, "outcome": "completed", "scheduled_at": start, "started_at": start}
    web.s.devices.ingest_events("loa-a", [{"id": "e1", "type": "play", "at": start, "data": data}])
    chair = await web.as_user("chair24613")
    _, html = await chair.get("/programme")
    row = html.split("Tin đã phát</a>")[1].split("</li>")[0]
    assert "✔ Đã phát" in row
    assert "Chưa có báo cáo phát" not in html  # 04:00: the other one's time has not come
    web.s.devices.register(SYSTEM, device_id="loa-b", kind="radio", area="67/660/24613")
    web.clock.advance(4 * 3600)  # 08:00, after the morning window
    _, html = await chair.get("/programme")
    assert "Đã phát 1/2" in html.split("Tin đã phát</a>")[1].split("</li>")[0]
    assert "Chưa có báo cáo phát" in html.split("Tin chưa báo</a>")[1].split("</li>")[0]


async def test_play_log_searches_by_day_and_device(web: WebHub) -> None:
    web.s.devices.register(SYSTEM, device_id="loa-24613-01", kind="radio", area="67/660/24613")
    bid = await write(web, title="Tin phát thử")
    ed = await web.as_user("editor67")
    assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303  # a play is
    at = web.clock.now() + timedelta(hours=1)  # believed only for a bulletin that was sent
    web.s.devices.ingest_events(
        "loa-24613-01",
        [
            {
                "id": "p-1",
                "type": "play",
                "data": {
                    "bulletin_id": bid,
                    "outcome": "completed",
                    "started_at": at.isoformat(),
                    "ended_at": at.isoformat(),
                },
            }
        ],
    )
    ed = await web.as_user("editor67")
    _, html = await ed.get("/plays?date=2026-11-23")
    assert "Tin phát thử" in html and "Phát trọn" in html
    _, html = await ed.get("/plays?date=2026-11-24")
    assert "Tin phát thử" not in html
    _, html = await ed.get("/plays?device=loa-24613-01")
    assert "Tin phát thử" in html
    status, html = await ed.get("/plays?date=hom-qua")
    assert status == 422 and "YYYY-MM-DD" in html


async def test_play_log_downloads_as_csv_for_a_spreadsheet(web: WebHub) -> None:
    web.s.devices.register(SYSTEM, device_id="loa-24613-01", kind="radio", area="67/660/24613")
    bid = await write(web, title='=HYPERLINK("x") lịch tiêm')  # an editor's title must not run in Excel
    ed = await web.as_user("editor67")
    assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    at = web.clock.now() + timedelta(hours=1)
    data = {
        "bulletin_id": bid,
        "outcome": "interrupted",
        "started_at": at.isoformat(),
        "ended_at": at.isoformat(),
    }
    web.s.devices.ingest_events(
        "loa-24613-01", [{"id": "p-1", "type": "play", "data": {**data, "detail": "tin khẩn cấp cắt ngang"}}]
    )
    ed = await web.as_user("editor67")
    _, html = await ed.get("/plays?date=2026-11-23")
    assert 'href="/plays.csv?date=2026-11-23"' in html
    r = await ed.client.get("/plays.csv?date=2026-11-23")
    assert r.status == 200 and r.content_type == "text/csv"
    assert 'filename="nhat-ky-phat-2026-11-23.csv"' in r.headers["Content-Disposition"]
    raw = await r.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Bắt đầu", "Kết thúc", "Lịch phát"] and len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Thiết bị"] == "loa-24613-01" and row["Địa bàn"] == "67/660/24613"
    assert row["Kết quả"] == "Bị ngắt" and row["Ghi chú"] == "tin khẩn cấp cắt ngang"
    assert row["Bản tin"] == '\'=HYPERLINK("x") lịch tiêm' and row["Bắt đầu"] == "2026-11-23 05:00:00"
    status, html = await ed.get("/plays.csv?date=hom-qua")
    assert status == 422 and "YYYY-MM-DD" in html
