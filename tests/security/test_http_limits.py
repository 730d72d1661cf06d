"""A stranger or a staff account sending too much: each body, field, depth and date has a bound, answered
with a clear 4xx, never a 500, and nothing is stored (docs/SECURITY.md, Bounded input)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.models import AuditEntry, Bulletin, User
from tests.security.conftest import SecHub, start_hub, stop_hub

MB = 1024 * 1024


async def test_login_refuses_a_big_body_before_reading_it(hub: SecHub) -> None:
    c = await hub.client()
    before = hub.count(AuditEntry)
    body = json.dumps({"username": "a" * (5 * MB), "password": "x"})
    r = await c.post("/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"})
    assert r.status == 413
    err = (await r.json())["error"]
    assert err["code"] == "too_large" and "64 KiB" in err["message"]
    assert hub.count(AuditEntry) == before


async def test_a_body_without_length_is_cut_off_at_the_limit(hub: SecHub) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "'
        for _ in range(40):  # 40 x 8 KiB: above 64 KiB, sent chunked (no Content-Length)
            yield b"a" * 8192
        yield b'", "password": "x"}'

    c = await hub.client()
    before = hub.count(AuditEntry)
    r = await c.post("/api/v1/auth/login", data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status == 413
    assert hub.count(AuditEntry) == before


async def test_the_login_page_refuses_a_big_form_with_a_page(hub: SecHub) -> None:
    c = await hub.client()
    r = await c.post("/login", data={"username": "a" * MB, "password": "x", "csrf": "x"})
    assert r.status == 413
    text = await r.text()
    assert "quá lớn" in text and "64 KiB" in text and r.content_type == "text/html"


async def test_a_long_username_is_refused_and_not_written_to_the_audit_log(hub: SecHub) -> None:
    c = await hub.client()
    before, size = hub.count(AuditEntry), hub.audit_bytes()
    r = await c.post("/api/v1/auth/login", json={"username": "a" * 60_000, "password": "x"})
    assert r.status == 422
    assert (await r.json())["error"]["field"] == "username"
    # the same through the login form
    b = await hub.browser()
    r = await b.login("b" * 60_000, "x")
    assert r.status == 422 and "64 ký tự" in await r.text()
    assert hub.count(AuditEntry) == before and hub.audit_bytes() == size


async def test_audit_entries_keep_bounded_values(hub: SecHub) -> None:
    c, auth = await hub.api("editor67")
    created = await c.post(
        "/api/v1/bulletins",
        headers=auth,
        json={"title": "Lịch tiêm chủng", "priority": "normal", "text": "Tiêm chủng.", "targets": ["67"]},
    )
    assert created.status == 201, await created.text()
    bid = (await created.json())["id"]
    c2, auth2 = await hub.api("admin1")
    reason = "Sai nội dung. " * 140  # 1,960 characters: accepted, but the audit keeps a cut copy
    r = await c2.post(f"/api/v1/bulletins/{bid}/reject", headers=auth2, json={"reason": reason})
    assert r.status == 200, await r.text()
    with hub.s.ctx.db.session() as sess:
        entry = sess.query(AuditEntry).filter_by(action="bulletin.reject").one()
        kept = entry.detail["reason"]
    assert len(kept) <= 256 and kept.endswith("ký tự]") and kept.startswith("Sai nội dung.")


async def test_deeply_nested_json_is_a_4xx(hub: SecHub) -> None:
    c, auth = await hub.api("editor67")
    before = hub.count(Bulletin)
    for body in ("[" * 100_000, "[" * 60_000, '{"title": ' + "[" * 40 + "]" * 40 + "}"):
        r = await c.post("/api/v1/bulletins", data=body, headers={**auth, "Content-Type": "application/json"})
        assert r.status in (413, 422), (len(body), r.status)
        assert (await r.json())["error"]["code"] in ("too_large", "bad_json")
    r = await c.post(
        "/api/v1/bulletins", data="[" * 60_000, headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status == 422 and "32" in (await r.json())["error"]["message"]
    assert hub.count(Bulletin) == before


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1900-01-01"])
async def test_a_date_out_of_range_is_a_4xx(hub: SecHub, day: str) -> None:
    c, auth = await hub.api("chair24613")
    r = await c.get(f"/api/v1/programme?area=67/660/24613&kind=radio&date={day}", headers=auth)
    assert r.status == 422, await r.text()
    assert (await r.json())["error"]["field"] == "date"
    r = await c.put(
        "/api/v1/programme/order",
        headers=auth,
        json={"area": "67/660/24613", "date": day, "order": []},
    )
    assert r.status == 422 and "2000" in (await r.json())["error"]["message"]
    c2, auth2 = await hub.api("admin1")
    r = await c2.get(f"/api/v1/audit?since={day}T00:00:00%2B07:00", headers=auth2)
    assert r.status == 422, await r.text()


async def test_field_lengths_are_named_in_the_error_and_nothing_is_stored(hub: SecHub) -> None:
    c, auth = await hub.api("editor67")
    before = hub.count(Bulletin)
    r = await c.post(
        "/api/v1/bulletins",
        headers=auth,
        json={"title": "Thông báo", "priority": "normal", "text": "a" * 10_001, "targets": ["67"]},
    )
    assert r.status == 422
    err = (await r.json())["error"]
    assert err["field"] == "text" and "10000" in err["message"]
    assert hub.count(Bulletin) == before
    admin, aauth = await hub.api("admin1")
    users = hub.count(User)
    r = await admin.post(
        "/api/v1/users",
        headers=aauth,
        json={"username": "nv1", "password": "x" * 300, "role": "viewer", "area": "67"},
    )
    assert r.status == 422 and (await r.json())["error"]["field"] == "password"
    r = await admin.post(
        "/api/v1/users",
        headers=aauth,
        json={
            "username": "nv1",
            "password": "Mat-khau-an-toan-2026",
            "role": "viewer",
            "full_name": "a" * 201,
        },
    )
    assert r.status == 422 and (await r.json())["error"]["field"] == "full_name"
    assert hub.count(User) == users


async def test_web_forms_check_lengths_too(hub: SecHub) -> None:
    b = await hub.browser("admin1")
    users = hub.count(User)
    r = await b.post(
        "/users",
        {
            "username": "nv2",
            "password": "Mat-khau-an-toan-2026",
            "role": "viewer",
            "area": "67",
            "full_name": "a" * 5000,
        },
    )
    assert r.status in (200, 422), r.status
    assert "200 ký tự" in await r.text()
    assert hub.count(User) == users


async def test_uploads_keep_their_larger_limit_and_are_bounded_too(tmp_path: Path) -> None:
    h = await start_hub(tmp_path, http={"max_upload_mb": 1})
    try:
        c, auth = await h.api("editor67")
        # a 200 KiB body on the upload route is read (and judged on its content), not refused for its size
        r = await c.post(
            "/api/v1/media", data=b"\x00" * (200 * 1024), headers={**auth, "Content-Type": "audio/mpeg"}
        )
        assert r.status == 422, await r.text()
        assert (await r.json())["error"]["code"] != "too_large"
        # above http.max_upload_mb, raw or multipart: refused
        r = await c.post(
            "/api/v1/media", data=b"\x00" * (2 * MB), headers={**auth, "Content-Type": "audio/mpeg"}
        )
        assert r.status == 413 and "1 MiB" in (await r.json())["error"]["message"]

        async def multipart() -> AsyncIterator[bytes]:
            yield b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.mp3"\r\n'
            yield b"Content-Type: audio/mpeg\r\n\r\n"
            for _ in range(24):
                yield b"\x00" * 100_000
            yield b"\r\n--xx--\r\n"

        r = await c.post(
            "/api/v1/media",
            data=multipart(),
            headers={**auth, "Content-Type": "multipart/form-data; boundary=xx"},
        )
        assert r.status == 413, await r.text()
    finally:
        await stop_hub(h)


async def test_the_pages_check_dates_too(hub: SecHub) -> None:
    b = await hub.browser("chair24613")
    for path in ("/programme?area=67/660/24613&date=0001-01-01", "/plays?date=0001-01-01"):
        status, html = await b.get(path)
        assert status == 422 and "2000" in html, (path, status)
    ed = await hub.browser("editor67")
    await ed.get("/bulletins/new")
    before = hub.count(Bulletin)
    r = await ed.post(
        "/bulletins/new",
        [
            ("title", "Thông báo"),
            ("priority", "normal"),
            ("form", "text"),
            ("text", "Nội dung."),
            ("kinds", "radio"),
            ("targets", "67/660"),
            ("plays_per_day", "1"),
            ("valid_from", "0001-01-01T05:00"),
            ("action", "submit"),
        ],
    )
    assert r.status == 422 and "2000" in await r.text()
    assert hub.count(Bulletin) == before
