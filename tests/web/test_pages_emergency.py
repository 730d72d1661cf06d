"""Handler-level tests of the emergency console (confirm, send, live latency, cancel) and of recall."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from hub.models import Bulletin
from hub.roles import SYSTEM

from .conftest import WebHub
from .pagehelp import count, write


async def test_emergency_confirm_send_live_latency_and_cancel(web: WebHub) -> None:
    for n in (1, 2):
        web.s.devices.register(
            SYSTEM, device_id=f"loa-24613-0{n}", kind="radio", area="67/660/24613", name=f"Cụm loa thôn {n}"
        )
    ed = await web.as_user("editor67")
    status, html = await ed.get("/emergency")
    assert status == 200 and 'class="emergency"' in html
    form = [
        ("title", "Lũ quét"),
        ("text", "Nước lũ đang lên, người dân di chuyển lên vùng cao."),
        ("targets", "67/660/24613"),
        ("kinds", "radio"),
        ("exercise", "on"),
        ("repeat_count", "2"),
        ("repeat_interval_s", "30"),
        ("repeat_then_every_s", "0"),
    ]
    r = await ed.post("/emergency/confirm", form)
    html = await r.text()
    assert r.status == 200 and "Phường Nghĩa Thành" in html and "DIỄN TẬP" in html
    # the confirmation counts what the alert reaches: communes and devices, not "1 địa bàn"
    assert "1 xã/phường · 2 thiết bị" in html and "PHÁT NGAY tới 1 xã/phường, 2 thiết bị" in html
    assert "0 đang trực tuyến" in html
    assert count(web, Bulletin) == 0  # nothing is sent before the confirmation
    r = await ed.post("/emergency/send", form)
    assert r.status == 303
    bid = r.headers["Location"].rsplit("/", 1)[1]
    alerts = [json.loads(p) for t, p, _ in web.publisher.messages if t.endswith("/alert")]
    assert alerts and alerts[-1]["envelope"]["body"]["status"] == "Exercise"
    st = json.loads((await ed.get(f"/emergency/{bid}/status.json"))[1])
    assert st["total"] == 2 and st["confirmed"] == 0
    sent = web.s.bulletins.get(SYSTEM, bid).approved_at
    from datetime import datetime  # noqa: PLC0415

    started = datetime.fromisoformat(sent) + timedelta(seconds=2.5)
    web.clock.advance(4)
    # device 2 is still playing: its status says so before any play event
    web.s.devices.ingest_statuses(
        {
            "loa-24613-02": {
                "device_id": "loa-24613-02",
                "kind": "radio",
                "state": "emergency",
                "at": (started - timedelta(seconds=1.3)).isoformat(),
                "area": "67/660/24613",
                "now_playing": bid,
            }
        }
    )
    web.s.devices.ingest_events(
        "loa-24613-01",
        [
            {
                "id": "ev-1",
                "type": "play",
                "data": {
                    "bulletin_id": bid,
                    "outcome": "completed",
                    "started_at": started.isoformat(),
                    "ended_at": (started + timedelta(seconds=9)).isoformat(),
                    "emergency": True,
                    "exercise": True,
                },
            }
        ],
    )
    st = json.loads((await ed.get(f"/emergency/{bid}/status.json"))[1])
    rows = {d["id"]: d for d in st["devices"]}
    assert st["confirmed"] == 2 and rows["loa-24613-01"]["latency_s"] == 2.5
    assert (rows["loa-24613-02"]["latency_s"], rows["loa-24613-02"]["confirmed_by"]) == (1.2, "status")
    _, html = await ed.get(f"/emergency/{bid}")
    assert "2,5 giây" in html and "1,2 giây" in html and "HỦY PHÁT KHẨN CẤP" in html
    r = await ed.post(f"/emergency/{bid}/cancel", {})
    assert r.status == 303
    assert web.s.bulletins.get(SYSTEM, bid).status == "cancelled"
    assert (
        json.loads([p for t, p, _ in web.publisher.messages if t.endswith("/alert")][-1])["envelope"]["body"][
            "msg_type"
        ]
        == "Cancel"
    )
    # after the cancel: which stopped, which did not
    web.clock.advance(3)
    web.s.devices.ingest_statuses({"loa-24613-01": {"state": "idle", "clock": "synced"}})
    _, html = await ed.get(f"/emergency/{bid}")
    stop = html.split('id="em-stop"')[1].split("</section>")[0]
    assert "1/2 thiết bị đã dừng" in stop and "1 vẫn báo đang phát" in stop
    assert "Cụm loa thôn 2" in stop and "Cụm loa thôn 1" not in stop


async def test_emergency_console_puts_devices_that_have_not_played_first(web: WebHub) -> None:
    for n in (1, 2, 3):
        web.s.devices.register(SYSTEM, device_id=f"loa-24613-0{n}", kind="radio", area="67/660/24613")
    ed = await web.as_user("editor67")
    form = [
        ("title", "Sạt lở đất"),
        ("text", "Nguy cơ sạt lở, người dân rời khỏi khu vực chân đồi."),
        ("targets", "67/660/24613"),
        ("kinds", "radio"),
        ("repeat_count", "1"),
        ("repeat_interval_s", "30"),
        ("repeat_then_every_s", "0"),
    ]
    r = await ed.post("/emergency/send", form)
    assert r.status == 303, await r.text()
    bid = r.headers["Location"].rsplit("/", 1)[1]
    at = web.clock.now().isoformat()
    play = {"bulletin_id": bid, "outcome": "completed", "started_at": at, "ended_at": at, "emergency": True}
    web.s.devices.ingest_events("loa-24613-01", [{"id": "e1", "type": "play", "data": play}])
    _, html = await ed.get(f"/emergency/{bid}")
    order = [m.group(1) for m in re.finditer(r'<tr data-device="([^"]+)"', html)]
    assert order == ["loa-24613-02", "loa-24613-03", "loa-24613-01"]  # the one that played goes last
    assert f'href="/emergency/{bid}?pending=1">Chỉ xem 2 thiết bị chưa phát' in html
    _, html = await ed.get(f"/emergency/{bid}?pending=1")
    order = [m.group(1) for m in re.finditer(r'<tr data-device="([^"]+)"', html)]
    assert order == ["loa-24613-02", "loa-24613-03"] and "Xem tất cả thiết bị" in html


async def test_emergency_form_error_keeps_the_text(web: WebHub) -> None:
    ed = await web.as_user("editor67")
    r = await ed.post(
        "/emergency/confirm",
        [
            ("title", "Cháy rừng"),
            ("text", "Cháy rừng tại tiểu khu 1600."),
            ("kinds", "radio"),
            ("repeat_count", "0"),
        ],
    )
    html = await r.text()
    assert r.status == 422 and "Cháy rừng tại tiểu khu 1600." in html and 'id="err-targets"' in html


async def test_recall_shows_which_devices_confirmed(web: WebHub) -> None:
    for dev in ("loa-24613-01", "loa-24613-02"):
        web.s.devices.register(SYSTEM, device_id=dev, kind="radio", area="67/660/24613")
    bid = await write(web, targets=("67/660/24613",))
    ed = await web.as_user("editor67")
    await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})
    r = await ed.post(f"/bulletins/{bid}/action", {"action": "recall", "reason": "Sai ngày tiêm."})
    assert r.status == 303
    web.s.devices.ingest_events(
        "loa-24613-01",
        [
            {
                "id": "rc-1",
                "type": "recall_confirmed",
                "at": web.clock.now().isoformat(),
                "data": {"bulletin_id": bid},
            }
        ],
    )
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Đã thu hồi" in html
    # totals first, then only the devices still to confirm (the full list is a page of its own)
    assert re.search(r"Đã xác nhận thu hồi: <strong[^>]*>1/2</strong> thiết bị", html)
    rows = re.findall(r'<td class="card-title">(loa-24613-0\d)</td>', html)
    assert rows == ["loa-24613-02"]
    assert "Chỉ những thiết bị chưa xác nhận (1)" in html
    status, html = await ed.get(f"/bulletins/{bid}/devices?view=recall")
    assert status == 200 and re.findall(r'<td class="card-title">(loa-24613-0\d)</td>', html) == [
        "loa-24613-01",
        "loa-24613-02",
    ]
    assert html.count(">Chưa xác nhận<") == 1 and "✔" in html
    _, html = await ed.get(f"/bulletins/{bid}/devices?view=recall&missing=1")
    assert re.findall(r'<td class="card-title">(loa-24613-0\d)</td>', html) == ["loa-24613-02"]
