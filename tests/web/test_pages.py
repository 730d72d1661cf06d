"""Handler-level tests: forms, CSRF, sessions, role-based visibility, and each page's workflow."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.models import AuditEntry, Bulletin, Command
from hub.roles import SYSTEM

from .conftest import PASSWORD, WebHub

TEXT = "UBND xã thông báo: từ ngày 25/11, người dân mang theo căn cước khi đến trạm y tế để tiêm vắc-xin."


def count(web: WebHub, model: object, *where: object) -> int:
    with web.s.ctx.db.session() as sess:
        return int(sess.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def bulletin_form(
    title: str = "Thông báo tiêm chủng",
    *,
    priority: str = "priority",
    targets: tuple[str, ...] = ("67/660",),
    action: str = "submit",
    text: str = TEXT,
    plays_per_day: int = 1,
) -> list[tuple[str, str]]:
    return [
        ("title", title),
        ("priority", priority),
        ("form", "text"),
        ("text", text),
        ("kinds", "radio"),
        *[("targets", t) for t in targets],
        ("plays_per_day", str(plays_per_day)),
        ("action", action),
    ]


async def write(web: WebHub, who: str = "editor67", **kw: object) -> str:
    ed = await web.as_user(who)
    r = await ed.post("/bulletins/new", bulletin_form(**kw))  # type: ignore[arg-type]
    assert r.status == 303, await r.text()
    return r.headers["Location"].rsplit("/", 1)[1]


async def test_pages_need_a_session(web: WebHub) -> None:
    anon = await web.as_user(None)
    r = await anon.client.get("/programme?date=2026-11-23", allow_redirects=False)
    assert (
        r.status == 302
        and r.headers["Location"].startswith("/login?next=")
        and "programme" in r.headers["Location"]
    )


async def test_login_sets_a_strict_httponly_cookie_and_logout_revokes_it(web: WebHub) -> None:
    b = await web.as_user(None)
    r = await b.login("editor67")
    assert r.status == 303
    cookie = r.headers["Set-Cookie"]
    assert "nguon_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, html = await b.get("/bulletins")
    assert status == 200 and 'lang="vi"' in html and "editor67" in html
    r = await b.post("/logout", {})
    assert r.status == 303
    r2 = await b.client.get("/bulletins", allow_redirects=False)
    assert r2.status == 302


async def test_wrong_password_keeps_the_username_and_lockout_says_how_long(web: WebHub) -> None:
    b = await web.as_user(None)
    r = await b.login("editor67", "sai-mat-khau-123")
    html = await r.text()
    assert r.status == 401 and "không đúng" in html and 'value="editor67"' in html
    for _ in range(5):
        r = await b.login("editor67", "sai-mat-khau-123")
    html = await r.text()
    assert r.status == 429 and "tạm khóa" in html
    assert re.search(r"thử lại sau \d+ giây", html) and int(r.headers["Retry-After"]) > 0
    web.clock.advance(7200)  # the lock expires with time, not with retries
    assert (await b.login("editor67")).status == 303


async def test_login_form_without_its_csrf_cookie_is_refused(web: WebHub) -> None:
    anon = await web.as_user(None)
    r = await anon.client.post(
        "/login", data={"username": "editor67", "password": PASSWORD, "csrf": "x"}, allow_redirects=False
    )
    assert r.status == 403 and "nguon_session" not in r.headers.get("Set-Cookie", "")


async def test_disabled_account_cannot_log_in(web: WebHub) -> None:
    web.s.accounts.set_disabled(SYSTEM, "viewer", True)
    r = await (await web.as_user(None)).login("viewer")
    assert r.status == 401 and "vô hiệu hóa" in await r.text()


async def test_post_without_the_right_csrf_token_changes_nothing(web: WebHub) -> None:
    ed = await web.as_user("editor67")
    before = count(web, Bulletin)
    for token in ("", "not-the-token"):
        r = await ed.post("/bulletins/new", bulletin_form(), csrf=token)
        assert r.status == 403 and "CSRF" in await r.text()
    assert count(web, Bulletin) == before


async def test_navigation_follows_the_role(web: WebHub) -> None:
    viewer = await web.as_user("viewer")
    _, html = await viewer.get("/bulletins")
    assert "Viết bản tin" not in html and "Phát khẩn cấp" not in html and "Người dùng" not in html
    _, html = await (await web.as_user("editor67")).get("/bulletins")
    assert "Viết bản tin" in html and "Phát khẩn cấp" in html and "Nhật ký hệ thống" not in html
    _, html = await (await web.as_user("admin1")).get("/bulletins")
    assert "Nhật ký hệ thống" in html and "Người dùng" in html


async def test_acting_outside_the_role_gets_the_403_page_and_an_audit_entry(web: WebHub) -> None:
    chair = await web.as_user("chair24613")
    for path in ("/emergency", "/audit", "/users"):
        status, html = await chair.get(path)
        assert status == 403 and "Không có quyền" in html and "nhật ký" in html
    status, _ = await chair.get("/programme?area=67/660/24611")  # another commune
    assert status == 403
    assert count(web, AuditEntry, AuditEntry.username == "chair24613", AuditEntry.outcome == "denied") >= 4


async def test_form_error_keeps_what_was_typed_and_says_which_field(web: WebHub) -> None:
    ed = await web.as_user("editor67")
    r = await ed.post("/bulletins/new", bulletin_form(title="Lịch cắt điện", targets=()))
    html = await r.text()
    assert r.status == 422
    assert 'value="Lịch cắt điện"' in html and "căn cước" in html  # title and text kept
    assert 'id="err-targets"' in html and "ít nhất một địa bàn" in html
    r = await ed.post("/bulletins/new", [*bulletin_form(), ("valid_from", "ngày mai")])
    assert r.status == 422 and 'id="err-valid_from"' in await r.text()
    assert count(web, Bulletin) == 0


async def test_write_approve_and_see_it_in_the_chairs_programme(web: WebHub) -> None:
    bid = await write(web, title="Tiêm vắc-xin sởi")
    ed = await web.as_user("editor67")
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Chờ duyệt" in html and "<audio" in html  # spoken at submit by espeak-ng
    r = await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})
    assert r.status == 303
    chair = await web.as_user("chair24613")
    status, html = await chair.get("/programme?date=2026-11-23")
    assert status == 200 and "Tiêm vắc-xin sởi" in html and "Khung giờ 05:00-06:30" in html
    status, html = await chair.get("/bulletins?status=approved")
    assert "Tiêm vắc-xin sởi" in html


async def test_chair_sees_why_a_bulletin_plays_fewer_times_than_asked(web: WebHub) -> None:
    bid = await write(web, title="Lịch tiêm ba lần", plays_per_day=2)
    # 3 plays on a 2-window day: refused at submit now (test_review_pages.py), kept by older bulletins
    with web.s.ctx.db.session() as sess:
        sess.get(Bulletin, bid).plays_per_day = 3  # type: ignore[union-attr]
    ed = await web.as_user("editor67")
    assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    chair = await web.as_user("chair24613")
    _, html = await chair.get("/programme?date=2026-11-23")
    assert html.count("Lịch tiêm ba lần") >= 2  # on air in both windows
    assert "Hôm nay phát 2/3 lần: mỗi khung giờ phát một lần, hôm nay có 2 khung giờ" in html


async def test_reject_needs_a_reason_and_sensitive_goes_to_review(web: WebHub) -> None:
    ed = await web.as_user("editor67")
    r = await ed.post("/bulletins/new", [*bulletin_form(title="Tin nhạy cảm"), ("sensitive", "on")])
    bid = r.headers["Location"].rsplit("/", 1)[1]
    r = await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})
    assert r.status == 403  # an editor cannot approve a sensitive bulletin without review
    rev = await web.as_user("reviewer67")
    r = await rev.post(f"/bulletins/{bid}/action", {"action": "reject", "reason": ""})
    html = await r.text()
    assert r.status == 422 and "lý do" in html and 'aria-invalid="true"' in html
    r = await rev.post(f"/bulletins/{bid}/action", {"action": "reject", "reason": "Cần dẫn nguồn văn bản."})
    assert r.status == 303
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Bị từ chối" in html and "Cần dẫn nguồn văn bản." in html


async def test_edit_keeps_versions(web: WebHub) -> None:
    bid = await write(web, action="draft", title="Bản đầu")
    ed = await web.as_user("editor67")
    status, html = await ed.get(f"/bulletins/{bid}/edit")
    assert status == 200 and 'value="Bản đầu"' in html
    r = await ed.post(f"/bulletins/{bid}/edit", bulletin_form(title="Bản sửa"))
    assert r.status == 303
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Phiên bản 2" in html and "Phiên bản 1" in html and "Bản đầu" in html and "Bản sửa" in html


async def test_chair_reorders_with_buttons_and_chooses_normal_bulletins(web: WebHub) -> None:
    a = await write(web, title="Ưu tiên A")
    b = await write(web, title="Ưu tiên B")
    n1 = await write(web, title="Thường 1", priority="normal")
    n2 = await write(web, title="Thường 2", priority="normal")
    ed = await web.as_user("editor67")
    for bid in (a, b, n1, n2):
        assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    day = web.s.ctx.local_now().date()
    first = next(
        p
        for p in web.s.programmes.view(SYSTEM, "67/660/24613", "radio", day)["programme"]
        if p["priority"] == "priority"
    )["bulletin_id"]
    other = b if first == a else a
    chair = await web.as_user("chair24613")
    await chair.get("/programme")
    form = [
        ("area", "67/660/24613"),
        ("date", day.isoformat()),
        ("kind", "radio"),
        ("order", first),
        ("order", other),
        ("move", first),
    ]
    r = await chair.post("/programme/order?dir=down", form)
    assert r.status == 303 and f"#prio-{first}" in r.headers["Location"]
    view = web.s.programmes.view(SYSTEM, "67/660/24613", "radio", day)
    assert view["order"] == [other, first]
    assert next(p["bulletin_id"] for p in view["programme"] if p["priority"] == "priority") == other
    _, html = await chair.get("/programme")
    assert 'id="nav-waiting"' in html and 'id="waiting-count">2 chờ chọn' in html  # n1, n2: nobody chose
    r = await chair.post(
        "/programme/selection",
        [
            ("area", "67/660/24613"),
            ("date", day.isoformat()),
            ("kind", "radio"),
            ("shown", n1),
            ("shown", n2),
            ("selection", n2),
            ("scope", "day"),
            ("kinds", "radio"),
        ],
    )
    assert r.status == 303
    _, html = await chair.get(r.headers["Location"])
    assert "Đã lưu lựa chọn" in html and "Không chọn cho ngày này" in html  # n1, in Vietnamese
    assert "Chủ tịch UBND xã không chọn bản tin này cho ngày này." in html
    assert 'id="nav-waiting"' not in html and "chờ chọn</span>" not in html
    view = web.s.programmes.view(SYSTEM, "67/660/24613", "radio", day)
    assert view["selection"] == [n2] and n2 in {p["bulletin_id"] for p in view["programme"]}
    # another commune's chair may not arrange this one: 403, audited, nothing saved
    other_chair = await web.as_user("chair24611")
    await other_chair.get("/programme")
    r = await other_chair.post(
        "/programme/order",
        [
            ("area", "67/660/24613"),
            ("date", day.isoformat()),
            ("kind", "radio"),
            ("order", first),
            ("order", other),
        ],
    )
    assert r.status == 403
    assert web.s.programmes.view(SYSTEM, "67/660/24613", "radio", day)["order"] == [other, first]


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
    assert count(web, Bulletin) == 0  # nothing is sent before the confirmation
    r = await ed.post("/emergency/send", form)
    assert r.status == 303
    bid = r.headers["Location"].rsplit("/", 1)[1]
    alerts = [json.loads(p) for t, p, _ in web.publisher.messages if t.endswith("/alert")]
    assert alerts and alerts[-1]["envelope"]["body"]["status"] == "Exercise"
    st = json.loads((await ed.get(f"/emergency/{bid}/status.json"))[1])
    assert st["total"] == 2 and st["confirmed"] == 0
    sent = web.s.bulletins.get(SYSTEM, bid)["approved_at"]
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
    assert web.s.bulletins.get(SYSTEM, bid)["status"] == "cancelled"
    assert (
        json.loads([p for t, p, _ in web.publisher.messages if t.endswith("/alert")][-1])["envelope"]["body"][
            "msg_type"
        ]
        == "Cancel"
    )


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


async def test_admin_manages_users(web: WebHub) -> None:
    admin = await web.as_user("admin1")
    r = await admin.post(
        "/users",
        {
            "username": "chutich2",
            "full_name": "Nguyễn Văn A",
            "password": "ngan",
            "role": "commune_chair",
            "area": "67/660/24631",
        },
    )
    html = await r.text()
    assert r.status == 422 and 'id="err-password"' in html and 'value="chutich2"' in html
    r = await admin.post(
        "/users",
        {
            "username": "chutich2",
            "full_name": "Nguyễn Văn A",
            "password": PASSWORD,
            "role": "commune_chair",
            "area": "67/660/24631",
        },
    )
    assert r.status == 200 and "Đã tạo tài khoản chutich2" in await r.text()
    assert (await (await web.as_user(None)).login("chutich2")).status == 303
    r = await admin.post("/users/chutich2/action", {"action": "reset"})
    new = re.search(r'id="new-password">([^<]+)<', await r.text())
    assert new and (await (await web.as_user(None)).login("chutich2", new.group(1))).status == 303
    await admin.post("/users/chutich2/action", {"action": "disable"})
    assert (await (await web.as_user(None)).login("chutich2", new.group(1))).status == 401


async def test_audit_page_lists_changes_for_admins(web: WebHub) -> None:
    await write(web, title="Một bản tin")
    status, html = await (await web.as_user("admin1")).get("/audit?action=bulletin.create")
    assert status == 200 and "<td data-label=\"Thao tác\">Tạo bản tin</td>" in html and "editor67" in html


def _png(tmp: Path, w: int, h: int) -> bytes:
    out = tmp / f"img-{w}x{h}.png"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=c=red:s={w}x{h}",
            "-frames:v",
            "1",
            str(out),
        ],
        check=True,
        timeout=30,
    )
    return out.read_bytes()


async def test_led_image_bulletin_upload_and_preview(web: WebHub, tmp_path: Path) -> None:
    ed = await web.as_user("editor67")
    await ed.get("/bulletins/new")
    from aiohttp import FormData  # noqa: PLC0415

    def form(data: bytes, name: str) -> FormData:
        fd = FormData()
        for k, v in [
            ("title", "Áp phích phòng cháy"),
            ("priority", "normal"),
            ("form", "image"),
            ("kinds", "led"),
            ("targets", "67/660"),
            ("plays_per_day", "3"),
            ("action", "submit"),
            ("csrf", ed.csrf),
        ]:
            fd.add_field(k, v)
        fd.add_field("file", data, filename=name, content_type="application/octet-stream")
        return fd

    r = await ed.client.post("/bulletins/new", data=form(b"khong phai anh", "a.png"), allow_redirects=False)
    html = await r.text()
    assert r.status == 422 and 'id="err-media"' in html and 'value="Áp phích phòng cháy"' in html
    r = await ed.client.post(
        "/bulletins/new", data=form(_png(tmp_path, 640, 320), "poster.png"), allow_redirects=False
    )
    assert r.status == 303, await r.text()
    bid = r.headers["Location"].rsplit("/", 1)[1]
    status, html = await ed.get(f"/bulletins/{bid}/preview?size=1920x384")
    assert status == 200 and 'data-w="1920" data-h="384"' in html and "/media/" in html
    status, html = await ed.get(f"/bulletins/{bid}/preview?w=5&h=9000")
    assert status == 422 and "Độ phân giải" in html


def test_every_device_problem_code_reads_in_vietnamese() -> None:
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    from hub.web.devices import _problem_vi  # noqa: PLC0415

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    seen = "2026-11-23T00:05:00+00:00"
    cases = {
        ("offline", seen): "Mất kết nối từ 07:05 23/11",
        ("offline", None): "Chưa từng kết nối",
        ("silent", seen): "Không có tín hiệu từ 07:05 23/11",
        ("rejected", 2): "Đã từ chối 2 tin trong 24 giờ qua (không rõ lý do)",
        ("anomaly", 3): "3 báo cáo bất thường trong 24 giờ qua, không được ghi nhận",
        ("programme", 3): "Chưa nhận chương trình mới (đang có phiên bản 3, mới nhất 5)",
        ("clock", "unsynced"): "Đồng hồ chưa đồng bộ",
        ("outbox", 80): "Còn 80 báo cáo chưa gửi về",
        ("disk", 120): "Thẻ nhớ sắp đầy (còn 120 MB)",
        ("hot", 80): "Nhiệt độ cao (80 °C)",
    }
    for (code, value), text in cases.items():
        assert text in _problem_vi({"code": code, "value": value, "latest": 5}, tz), code


def test_latency_reads_in_milliseconds_below_a_second_with_a_decimal_comma_above() -> None:
    from hub.web.emergency import latency_vi  # noqa: PLC0415

    assert [latency_vi(v) for v in (None, 0, 17, 999, 1000, 1450, 12340)] == [
        "—",
        "0 ms",
        "17 ms",
        "999 ms",
        "1,0 giây",
        "1,4 giây",
        "12,3 giây",
    ]


async def test_a_bug_behind_a_page_shows_a_vietnamese_error_page_and_is_logged(
    web: WebHub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_a: object, **_k: object) -> object:
        raise RuntimeError("lỗi thử")

    monkeypatch.setattr(web.s.devices, "list", broken)
    oper = await web.as_user("oper")
    status, html = await oper.get("/devices")
    assert status == 500 and "Lỗi hệ thống" in html and "đã ghi vào nhật ký" in html
    assert "RuntimeError" not in html and "Traceback" not in html  # no internals shown
    assert any("page GET /devices failed" in r.message for r in caplog.records)
