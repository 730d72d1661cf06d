"""The REST API's endpoints (docs/API.md) and bad input, against a real SQLite file and real speech."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import aiohttp

from hub.api.routes import api
from hub.models import AuditEntry, Bulletin, BulletinVersion, Media, Play, Speech
from tests.hub.conftest import Hub

TEXT = {
    "title": "Thông báo tiêm chủng",
    "priority": "priority",
    "form": "text",
    "text": "UBND xã thông báo lịch tiêm chủng ngày 25/11.",
    "targets": ["67/660"],
    "kinds": ["radio"],
}


def wav(path: Path, seconds: float = 1.0) -> bytes:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            str(path),
        ],
        check=True,
        timeout=30,
    )
    return path.read_bytes()


async def test_login_and_errors(hub: Hub) -> None:
    r = await hub.client.post(
        "/api/v1/auth/login", json={"username": "editor67", "password": "sai-mat-khau-1"}
    )
    assert r.status == 401
    assert (await r.json())["error"]["code"] == "bad_credentials"
    r = await hub.client.post("/api/v1/auth/login", json={"username": "editor67"})
    body = await r.json()
    assert r.status == 422 and body["error"]["field"] == "password"
    r = await hub.client.get("/api/v1/bulletins")
    assert r.status == 401
    status, me = await hub.call("GET", "/api/v1/me", "editor67")
    assert status == 200 and me["role"] == "editor"


async def test_text_bulletin_approve_publishes_programmes(hub: Hub) -> None:
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=TEXT)
    assert status == 201, b
    assert b["status"] == "submitted" and b["speech"]["engine"] == "espeak-ng"
    assert hub.s.media.path_for(b["media"]).exists()
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200 and b["status"] == "approved"
    await hub.s.publishing.flush()
    topics = {t for t, _, retained in hub.publisher.messages if retained}
    assert topics == {f"nguon/v1/area/67/660/{c}/program/radio" for c in ("24611", "24613", "24631")}
    status, prog = await hub.call(
        "GET", "/api/v1/programme?area=67/660/24613&kind=radio&date=2026-11-23", "chair24613"
    )
    assert status == 200, prog
    assert [i["bulletin_id"] for i in prog["programme"]] == [b["id"]]
    assert prog["programme"][0]["start"].startswith("2026-11-23T05:00:00")
    # the media is served without auth, with Range support
    r = await hub.client.get(b["media_url"], headers={"Range": "bytes=0-9"})
    assert r.status == 206 and len(await r.read()) == 10


async def test_bad_input_leaves_nothing(hub: Hub, tmp_path: Path) -> None:
    before = (hub.count(Bulletin), hub.count(BulletinVersion), hub.count(Media), hub.count(Speech))
    cases = [
        ({**TEXT, "title": ""}, "title"),
        ({k: v for k, v in TEXT.items() if k != "targets"}, "targets"),
        ({**TEXT, "targets": ["67/999"]}, "targets"),
        ({**TEXT, "text": "   "}, "text"),
        ({**TEXT, "priority": "urgent"}, "priority"),
        ({**TEXT, "form": "audio", "text": None, "media": "0" * 64}, "media"),
        (
            {**TEXT, "valid_from": "2026-11-24T00:00:00+07:00", "valid_until": "2026-11-23T00:00:00+07:00"},
            "valid_until",
        ),
        ({**TEXT, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        status, out = await hub.call("POST", "/api/v1/bulletins", "editor67", json=body)
        assert 400 <= status < 500, (body, out)
        assert out["error"]["field"] == field, out
        assert out["error"]["message"]
    r = await hub.client.post("/api/v1/bulletins", data=b"{not json", headers=await hub.login("editor67"))
    assert r.status == 422
    # a file that is not audio
    status, out = await hub.call(
        "POST",
        "/api/v1/media",
        "editor67",
        data=b"this is plain text, not audio",
        headers={"Content-Type": "audio/mpeg"},
    )
    assert status == 422 and out["error"]["field"] == "file"
    assert (hub.count(Bulletin), hub.count(BulletinVersion), hub.count(Media), hub.count(Speech)) == before
    media_files = [p for p in hub.s.media.dir.rglob("*") if p.is_file()] if hub.s.media.dir.exists() else []
    assert media_files == []


async def test_audio_upload_and_bulletin(hub: Hub, tmp_path: Path) -> None:
    data = wav(tmp_path / "a.wav", 1.5)
    form = aiohttp.FormData()
    form.add_field("file", data, filename="a.wav", content_type="audio/wav")
    status, m = await hub.call("POST", "/api/v1/media", "editor660", data=form)
    assert status == 201, m
    assert m["kind"] == "audio" and 1400 <= m["duration_ms"] <= 1600
    status, b = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor660",
        json={
            "title": "Âm thanh",
            "priority": "normal",
            "form": "audio",
            "media": m["sha256"],
            "targets": ["67/660/24613"],
            "kinds": ["radio"],
        },
    )
    assert status == 201, b
    assert b["duration_ms"] == m["duration_ms"] and b["origin"] == "district"
    # outside the editor's district
    status, out = await hub.call(
        "POST", "/api/v1/bulletins", "editor660", json={**TEXT, "targets": ["67/661"]}
    )
    assert status == 403, out


async def test_plays_are_idempotent(hub: Hub) -> None:
    hub.s.devices.register(
        __import__("hub.roles").roles.SYSTEM, device_id="radio-1", kind="radio", area="67/660/24613"
    )
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=TEXT)
    assert status == 201, b
    status, _ = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200  # a play is believed only for a bulletin sent to the device (tests/security)
    ev = {
        "id": "radio-1:abc",
        "device_id": "radio-1",
        "type": "play",
        "at": "2026-11-23T05:00:00+07:00",
        "data": {
            "bulletin_id": b["id"],
            "outcome": "completed",
            "started_at": "2026-11-23T05:00:00+07:00",
            "ended_at": "2026-11-23T05:01:00+07:00",
            "scheduled_at": None,
            "emergency": False,
        },
    }
    assert hub.s.devices.ingest_events("radio-1", ev) == 1
    assert hub.s.devices.ingest_events("radio-1", [ev, {**ev, "id": "radio-1:def"}]) == 1
    assert hub.count(Play) == 2
    status, out = await hub.call("GET", f"/api/v1/plays?bulletin={b['id']}", "viewer")
    assert status == 200 and [p["event_id"] for p in out["plays"]] == ["radio-1:abc", "radio-1:def"]
    status, out = await hub.call("GET", "/api/v1/plays?device=radio-1", "viewer")
    assert len(out["plays"]) == 2
    status, out = await hub.call("GET", "/api/v1/plays", "viewer")
    assert status == 422


async def test_openapi_lists_routes(hub: Hub) -> None:
    r = await hub.client.get("/api/v1/openapi.json")
    doc = await r.json()
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/api/v1/auth/login",
        "/api/v1/bulletins",
        "/api/v1/bulletins/{id}/approve",
        "/api/v1/bulletins/{id}/deliveries",
        "/api/v1/media",
        "/api/v1/programme",
        "/api/v1/plays",
        "/api/v1/users",
        "/api/v1/programme/order",
        "/api/v1/programme/selection",
        "/api/v1/audit",
        "/media/{sha256}",
    ):
        assert path in doc["paths"], path
    assert "BulletinIn" in doc["components"]["schemas"]
    r = await hub.client.get("/api/v1/keys")
    assert len((await r.json())["keys"]) == 1
    assert hub.count(AuditEntry) > 0
    json.dumps(doc)


def test_every_route_is_in_docs_api_md() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "API.md").read_text(encoding="utf-8")
    missing = [
        f"{r.method} {r.path}"
        for r in api.routes
        if not re.search(r"`(?:[A-Z]+ )?(?:/api/v1)?" + re.escape(r.path) + r"[`? ]", text)
    ]
    assert missing == [], "add these to docs/API.md"
