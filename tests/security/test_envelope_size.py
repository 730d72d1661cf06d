"""No approval that cannot play (docs/SECURITY.md): the hub refuses to approve a bulletin when a message it
would then send (an emergency's alert, a commune's programme) is over what agents accept
(protocol.envelope.MAX_MESSAGE_BYTES), through the API (422) and the page (a Vietnamese error), nothing
approved and nothing published; an audio bulletin carries only a short caption."""

from __future__ import annotations

import html as htmllib
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from hub.models import AuditEntry, Bulletin, OccasionWindowRow, WindowRuleRow
from hub.services.bulletin_checks import AUDIO_CAPTION_MAX
from hub.services.publishing import RecordingPublisher
from protocol.envelope import MAX_MESSAGE_BYTES
from tests.dbfill import add_approved_led_bulletins
from tests.security.conftest import SecHub

COMMUNE = "67/660/24613"
# 10,000 characters (the longest text a bulletin may have), cut at a word
SENTENCE = "Nước lũ đang lên nhanh ở các thôn ven sông, người dân chuẩn bị sơ tán theo hướng dẫn của xã. "
LONG_TEXT = (SENTENCE * 120)[:10_000].rsplit(" ", 1)[0]
# Letters with two marks are three bytes each in UTF-8: the densest text an editor can type
DENSE_TEXT = ("Khẩn cấp! Sập cầu, lũ quét. Tránh xa bờ suối, lên chỗ cao ngay. " * 200)[:10_000]


def ff(out: Path, *args: str) -> bytes:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(out)], check=True, timeout=60)
    return out.read_bytes()


async def upload(c: TestClient, auth: dict[str, str], data: bytes) -> str:
    r = await c.post("/api/v1/media", data=data, headers={**auth, "Content-Type": "application/octet-stream"})
    body = await r.json()
    assert r.status == 201, body
    return str(body["sha256"])


async def create(c: TestClient, auth: dict[str, str], **fields: Any) -> tuple[int, Any]:
    data = {"title": "Thông báo", "priority": "priority", "targets": [COMMUNE], "kinds": ["led"], **fields}
    r = await c.post("/api/v1/bulletins", json=data, headers=auth)
    return r.status, await r.json()


def published(hub: SecHub) -> list[tuple[str, bytes, bool]]:
    pub = hub.s.publishing.publisher
    assert isinstance(pub, RecordingPublisher)
    return pub.messages


async def fill_until_refused(
    hub: SecHub, c: TestClient, auth: dict[str, str], boss: dict[str, str], image: str
) -> tuple[str, Any]:
    """Long LED bulletins for one commune (written by `auth`, approved by `boss`: a province's bulletin is
    approved by someone else than its author) until an approval is refused: its id, the error."""
    for i in range(150):
        status, b = await create(c, auth, title=f"Thông báo {i}", form="image", media=image, text=LONG_TEXT)
        assert status == 201, b
        r = await c.post(f"/api/v1/bulletins/{b['id']}/approve", headers=boss)
        if r.status != 200:
            return b["id"], (r.status, await r.json())
        await hub.s.publishing.flush()
    raise AssertionError("150 long bulletins were all approved")


async def test_programme_over_the_limit_refused_at_approval(hub: SecHub, tmp_path: Path) -> None:
    c, auth = await hub.api("editor67")
    image = await upload(
        c, auth, ff(tmp_path / "a.png", "-f", "lavfi", "-i", "testsrc=size=192x96:rate=1", "-frames:v", "1")
    )
    _, boss = await hub.api("admin1")
    refused, (status, err) = await fill_until_refused(hub, c, auth, boss, image)
    assert status == 422, err
    e = err["error"]
    assert e["code"] == "too_big_to_send" and e["field"] == "text" and e["area"] == COMMUNE
    assert e["bytes"] > MAX_MESSAGE_BYTES == e["limit"]
    msg = e["message"]
    assert "chương trình phát bảng tin điện tử của Phường Nghĩa Thành" in msg and "1.024 KB" in msg
    assert "rút ngắn phần chữ" in msg and "chưa được duyệt" in msg
    # nothing half-done: still waiting for approval, never published, every message sent fits
    r = await c.get(f"/api/v1/bulletins/{refused}", headers=auth)
    assert (await r.json())["status"] == "submitted"
    with hub.s.ctx.db.session() as sess:
        rows = sess.scalars(select(AuditEntry).where(AuditEntry.target == refused)).all()
        assert [(a.action, a.outcome, a.detail["area"]) for a in rows if a.action == "bulletin.approve"] == [
            ("bulletin.approve", "failed", COMMUNE)
        ]
    await hub.s.publishing.flush()
    sent = published(hub)
    assert sent and all(len(wire) <= MAX_MESSAGE_BYTES for _, wire, _ in sent)
    assert not any(refused.encode() in wire for _, wire, _ in sent)
    assert max(len(w) for _, w, _ in sent) > MAX_MESSAGE_BYTES - 40_000  # it was full, not refused early

    # the page says the same, in Vietnamese, and the bulletin stays unapproved
    page = await hub.browser("admin1")
    await page.get(f"/bulletins/{refused}")
    r = await page.post(f"/bulletins/{refused}/action", {"action": "approve"})
    html = await r.text()
    assert r.status == 422 and "quá giới hạn 1.024 KB mà thiết bị nhận được" in html
    r = await c.get(f"/api/v1/bulletins/{refused}", headers=auth)
    assert (await r.json())["status"] == "submitted"

    # an emergency that would overflow that programme is refused too: no alert goes out
    before = len(published(hub))
    status, em = await create(
        c, auth, title="Lũ quét", priority="emergency", form="image", media=image, text=DENSE_TEXT
    )
    assert status == 201, em
    r = await c.post(f"/api/v1/bulletins/{em['id']}/approve", headers=auth)
    err = await r.json()
    assert r.status == 422 and err["error"]["code"] == "too_big_to_send", err
    await hub.s.publishing.flush()
    assert len(published(hub)) == before
    r = await c.get(f"/api/v1/bulletins/{em['id']}", headers=auth)
    assert (await r.json())["status"] == "submitted"


async def test_check_does_not_compile_programmes_far_below_the_limit(hub: SecHub, monkeypatch: Any) -> None:
    """Approvals stay fast (the emergency path above all): with the programmes already sent and far below the
    limit, the check adds what the bulletin can add to their sizes instead of compiling every commune again;
    one changed since it was sent is compiled."""
    c, auth = await hub.api("editor67")
    _, boss = await hub.api("admin1")
    hub.s.publishing.republish_soon(None)
    await hub.s.publishing.flush()
    compiled: list[str] = []
    real = hub.s.programmes.body

    def counting(*args: Any, **kw: Any) -> Any:
        compiled.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(hub.s.programmes, "body", counting)
    status, em = await create(
        c,
        auth,
        title="Cháy rừng",
        priority="emergency",
        form="text",
        text="Cháy rừng, sơ tán ngay.",
        targets=["67"],
        kinds=["radio", "led"],
    )
    assert status == 201, em
    r = await c.post(f"/api/v1/bulletins/{em['id']}/approve", headers=auth)
    assert r.status == 200, await r.json()
    assert compiled == []  # checked, but from the sizes already known
    assert any(topic.endswith("/alert") for topic, _, _ in published(hub))
    # the emergency changed the programmes of the whole province: until they are sent again, they are compiled
    status, b = await create(
        c, auth, title="Lịch họp", form="text", text="Họp dân lúc 8 giờ.", kinds=["radio"]
    )
    assert status == 201, b
    r = await c.post(f"/api/v1/bulletins/{b['id']}/approve", headers=boss)
    assert r.status == 200, await r.json()
    assert compiled == [COMMUNE]
    await hub.s.publishing.flush()
    compiled.clear()
    status, b = await create(
        c, auth, title="Lịch họp 2", form="text", text="Họp dân lúc 9 giờ.", kinds=["radio"]
    )
    r = await c.post(f"/api/v1/bulletins/{b['id']}/approve", headers=boss)
    assert r.status == 200, await r.json()
    assert compiled == []


async def test_audio_bulletin_carries_only_a_caption(hub: SecHub, tmp_path: Path) -> None:
    """The issue's attack (an audio emergency carrying a 1.2 M-character text) starts with a long text on
    an audio bulletin: only a short caption is taken, through the API and the form."""
    c, auth = await hub.api("editor67")
    audio = await upload(
        c, auth, ff(tmp_path / "a.wav", "-f", "lavfi", "-i", "sine=frequency=440:duration=1")
    )
    with hub.s.ctx.db.session() as sess:
        count = sess.scalar(select(func.count()).select_from(Bulletin))
    for priority in ("emergency", "normal"):
        status, err = await create(
            c,
            auth,
            priority=priority,
            form="audio",
            media=audio,
            kinds=["radio"],
            text="Lũ đang lên. " * 50,  # 650 characters
        )
        assert status == 422 and err["error"]["field"] == "text", err
        assert f"tối đa {AUDIO_CAPTION_MAX} ký tự (hiện 649)" in err["error"]["message"]
    status, ok = await create(
        c, auth, form="audio", media=audio, kinds=["radio"], text="Tóm tắt: lịch tiêm chủng tháng 12."
    )
    assert status == 201, ok
    with hub.s.ctx.db.session() as sess:
        assert sess.scalar(select(func.count()).select_from(Bulletin)) == count + 1
    # the form shows the rule, and a text bulletin's spoken duration, before anything is sent
    page = await hub.browser("editor67")
    status, html = await page.get("/bulletins/new")
    assert status == 200 and 'id="text-estimate"' in html and "từ/phút" in html


def fill_led_programme(hub: SecHub, count: int = 100) -> list[str]:
    """`count` approved priority LED bulletins for COMMUNE, written straight to the database (cheap): each a
    10,000-character text shown 10 minutes once a day. The LED board's default hours (7 h) hold 42 of them
    (about half of the 1 MiB); hours long enough for all of them would take its programme over the limit."""
    now = hub.clock.now()
    ids = [f"b-khung{i:04d}" for i in range(count)]
    return add_approved_led_bulletins(
        hub.s.ctx.db, ids, priority="priority", target=COMMUNE, text=LONG_TEXT, duration_ms=600_000, now=now
    )


def led_programme(hub: SecHub) -> bytes:
    topic = hub.s.publishing.topics.program(COMMUNE, "led")
    return [wire for t, wire, _ in published(hub) if t == topic][-1]


def failed_audits(hub: SecHub, action: str) -> list[tuple[str, str, Any]]:
    with hub.s.ctx.db.session() as sess:
        rows = sess.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [(a.outcome, a.target, a.detail.get("area")) for a in rows]


async def test_window_change_that_overfills_a_programme_is_refused(hub: SecHub) -> None:
    """Khung giờ phát (Art. 10): longer or more windows let more bulletins in. A window rule or an LED
    occasion that would take a commune's programme over what devices accept is refused through the API
    (422 too_big_to_send), by a commune chair or an admin on the province, nothing saved, nothing
    republished, the refusal audited; hours that keep it within the limit are accepted."""
    fill_led_programme(hub)
    hub.s.publishing.republish_soon([COMMUNE])
    await hub.s.publishing.flush()
    default_size = len(led_programme(hub))
    assert MAX_MESSAGE_BYTES // 3 < default_size < MAX_MESSAGE_BYTES
    before = len(published(hub))
    today = hub.s.ctx.local_now().date()
    c, chair = await hub.api("chair24613")
    _, admin = await hub.api("admin1")
    long_hours = ["03:00-21:00", "21:30-23:30"]  # 20 h: room for all of them

    rule = {"area": COMMUNE, "kind": "led", "effective_from": today.isoformat(), "windows": long_hours}
    for who, body in ((chair, rule), (admin, {**rule, "area": "67"})):
        r = await c.put("/api/v1/windows", json=body, headers=who)
        err = await r.json()
        assert r.status == 422, err
        e = err["error"]
        assert e["code"] == "too_big_to_send" and e["field"] == "windows", e
        assert e["area"] == COMMUNE and e["kind"] == "led" and e["bytes"] > MAX_MESSAGE_BYTES == e["limit"]
        assert "chương trình phát bảng tin điện tử của Phường Nghĩa Thành" in e["message"]
        assert "quá giới hạn 1.024 KB" in e["message"] and "Khung giờ chưa được lưu" in e["message"]
    occasion = {
        "area": COMMUNE,
        "name": "Tết Nguyên đán",
        "date_from": today.isoformat(),
        "date_to": (today + timedelta(days=1)).isoformat(),
        "windows": ["07:00-17:00"],  # 10 h added to the default 7 h
    }
    r = await c.post("/api/v1/windows/occasions", json=occasion, headers=chair)
    err = await r.json()
    assert r.status == 422 and err["error"]["code"] == "too_big_to_send", err
    # nothing saved, nothing sent, every refusal audited as failed (none as done)
    assert hub.count(WindowRuleRow) == 0 and hub.count(OccasionWindowRow) == 0
    await hub.s.publishing.flush()
    assert len(published(hub)) == before
    assert failed_audits(hub, "windows.set") == [("failed", COMMUNE, COMMUNE), ("failed", "67", COMMUNE)]
    assert failed_audits(hub, "windows.occasion") == [("failed", COMMUNE, COMMUNE)]

    # hours that keep it within the limit are accepted and sent (10 h: 60 of them)
    r = await c.put(
        "/api/v1/windows", json={**rule, "windows": ["05:00-07:00", "13:00-21:00"]}, headers=chair
    )
    assert r.status == 200, await r.json()
    await hub.s.publishing.flush()
    assert default_size + 150_000 < len(led_programme(hub)) <= MAX_MESSAGE_BYTES


async def test_only_the_communes_whose_windows_change_are_checked(hub: SecHub) -> None:
    """A commune with its own short hours is not affected by the province's long ones (accepted); removing
    its own hours would give it the province's, which is refused (nothing deleted)."""
    fill_led_programme(hub)
    today = hub.s.ctx.local_now().date()
    c, chair = await hub.api("chair24613")
    _, admin = await hub.api("admin1")
    own = {"area": COMMUNE, "kind": "led", "effective_from": today.isoformat(), "windows": ["05:00-07:00"]}
    r = await c.put("/api/v1/windows", json=own, headers=chair)
    own_rule = await r.json()
    assert r.status == 200, own_rule
    province = {**own, "area": "67", "windows": ["03:00-21:00", "21:30-23:30"]}
    r = await c.put("/api/v1/windows", json=province, headers=admin)
    assert r.status == 200, await r.json()
    await hub.s.publishing.flush()
    before = len(published(hub))
    r = await c.delete(f"/api/v1/windows/{own_rule['id']}", headers=chair)
    err = await r.json()
    assert r.status == 422 and err["error"]["code"] == "too_big_to_send", err
    assert err["error"]["area"] == COMMUNE and "Chưa xoá gì" in err["error"]["message"]
    assert hub.count(WindowRuleRow) == 2
    assert failed_audits(hub, "windows.delete") == [("failed", str(own_rule["id"]), COMMUNE)]
    await hub.s.publishing.flush()
    assert len(published(hub)) == before
    # hours set for days the hub does not publish yet are not compiled now (see docs/SECURITY.md)
    later = {
        **own,
        "windows": province["windows"],
        "effective_from": (today + timedelta(days=10)).isoformat(),
    }
    r = await c.put("/api/v1/windows", json=later, headers=chair)
    assert r.status == 200, await r.json()


async def test_window_page_refuses_hours_that_overfill_a_programme(hub: SecHub) -> None:
    """The "Khung giờ phát" page says it in Vietnamese, keeps what was typed, and saves nothing."""
    fill_led_programme(hub)
    today = hub.s.ctx.local_now().date()
    page = await hub.browser("chair24613")
    status, _ = await page.get(f"/windows?area={COMMUNE}")
    assert status == 200
    r = await page.post(
        "/windows",
        {
            "area": COMMUNE,
            "kind": "led",
            "effective_from": today.isoformat(),
            "windows": "03:00-21:00; 21:30-23:30",
        },
    )
    html = htmllib.unescape(await r.text())
    assert r.status == 422, html
    assert "chương trình phát bảng tin điện tử của Phường Nghĩa Thành" in html
    assert "quá giới hạn 1.024 KB mà thiết bị nhận được" in html and "Khung giờ chưa được lưu" in html
    assert "03:00-21:00; 21:30-23:30" in html  # what was typed stays in the form
    r = await page.post(
        "/windows/occasions",
        {
            "area": COMMUNE,
            "o_name": "Ngày bầu cử",
            "o_date_from": today.isoformat(),
            "o_date_to": "",
            "o_windows": "07:00-17:00",
        },
    )
    html = htmllib.unescape(await r.text())
    assert r.status == 422 and "quá giới hạn 1.024 KB mà thiết bị nhận được" in html, html
    assert hub.count(WindowRuleRow) == 0 and hub.count(OccasionWindowRow) == 0
