"""Handler-level tests: forms, CSRF, sessions, role-based visibility, the bulletin workflow's pages, users
and audit (the emergency console: test_pages_emergency.py; devices and logs: test_pages_devices.py)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from hub.models import AuditEntry, Bulletin
from hub.roles import SYSTEM

from .conftest import PASSWORD, WebHub
from .pagehelp import bulletin_form, count, write


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

    monkeypatch.setattr(web.s.devices, "page", broken)
    oper = await web.as_user("oper")
    status, html = await oper.get("/devices")
    assert status == 500 and "Lỗi hệ thống" in html and "đã ghi vào nhật ký" in html
    assert "RuntimeError" not in html and "Traceback" not in html  # no internals shown
    assert any("page GET /devices failed" in r.message for r in caplog.records)
