"""Live announcements through the front door, hostile input first: who may start one, for which areas,
what the audio websocket and the stream server's listener check accept. No stream server is needed here
(a session only connects to it when the speaker's audio arrives)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from hub.config import HubConfig
from protocol.messages import LiveBody
from tests.hub.conftest import Hub, make_config, running_hub

COMMUNE = "67/660/24613"


def stream_config(tmp: Path, **stream: object) -> HubConfig:
    secret = tmp / "source.secret"
    secret.write_text("s" * 32)
    return make_config(
        tmp, stream={"enabled": True, "port": 9, "source_password_file": str(secret), **stream}
    )


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    async with running_hub(stream_config(tmp_path)) as h:
        try:
            yield h
        finally:
            await h.s.live.aclose()


async def start(hub: Hub, who: str, **body: object) -> tuple[int, dict[str, object]]:
    body = {"areas": [COMMUNE], "priority": "emergency", **body}
    return await hub.call("POST", "/api/v1/live", who, json=body)


async def test_who_may_speak_where(hub: Hub) -> None:
    for who, body, code in (
        ("viewer", {}, 403),
        ("oper", {}, 403),
        ("chair24613", {}, 403),  # a chair speaks as a priority item, not as an emergency
        ("chair24611", {"priority": "priority"}, 403),  # not their commune
        ("chair24613", {"priority": "normal"}, 422),
        ("editor67", {"areas": []}, 422),
        ("editor67", {"areas": [COMMUNE, COMMUNE]}, 422),
        ("editor67", {"areas": ["99/999"]}, 422),
        ("editor67", {"areas": [f"67/{i}" for i in range(51)]}, 422),
        ("editor67", {"title": "x" * 5000}, 422),
        ("editor67", {"speaker": "admin1"}, 422),  # no extra fields
    ):
        status, err = await start(hub, who, **body)
        assert status == code, (who, body, err)
    status, ok = await start(hub, "chair24613", priority="priority")
    assert status == 201 and ok["state"] == "waiting", ok
    # one speaker per area at a time: the commune, and the province above it, are busy
    for areas in ([COMMUNE], ["67"]):
        status, err = await start(hub, "editor67", areas=areas)
        assert status == 409 and "đang có phát trực tiếp" in err["error"]["message"], err
    # someone else's session: not theirs to follow or stop; the speaker's is
    status, _ = await hub.call("POST", f"/api/v1/live/{ok['id']}/stop", "chair24611")
    assert status == 403
    status, _ = await hub.call("GET", "/api/v1/live/nope", "chair24613")
    assert status == 404
    status, ended = await hub.call("POST", f"/api/v1/live/{ok['id']}/stop", "chair24613")
    assert status == 200 and ended["state"] == "ended"
    status, b = await hub.call("GET", f"/api/v1/bulletins/{ok['id']}", "chair24613")
    assert b["status"] == "cancelled", b  # nothing was said: nothing kept


async def test_disabled_stream_refuses_with_what_to_do(tmp_path: Path) -> None:
    async with running_hub(make_config(tmp_path)) as hub:
        status, err = await start(hub, "editor67")
        assert status == 409 and "[stream]" in err["error"]["message"], err


async def test_audio_websocket_only_for_the_speaker_from_this_site(hub: Hub) -> None:
    _, ok = await start(hub, "editor67")
    url = f"/api/v1/live/{ok['id']}/audio"
    r = await hub.client.get(url, headers={**await hub.login("admin1"), "Upgrade": "websocket",
                                           "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert r.status == 403, await r.text()  # an admin may stop it, not speak in the editor's name
    r = await hub.client.get(url, headers={**await hub.login("editor67"), "Origin": "https://evil.example"})
    assert r.status == 403
    r = await hub.client.get(url)
    assert r.status == 401
    # the stream server is down (port 9): a clear refusal, the session waits for the grace period
    r = await hub.client.get(url, headers={**await hub.login("editor67"), "Upgrade": "websocket",
                                           "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                                           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert r.status == 409 and "máy chủ phát luồng" in (await r.json())["error"]["message"]


async def test_stream_server_listener_check(hub: Hub) -> None:
    _, ok = await start(hub, "editor67")
    sid = str(ok["id"])
    live = hub.s.live
    now = hub.clock.now()
    good = live.tokens.make(sid, now + timedelta(seconds=60))

    async def ask(mount: str, token: str) -> bool:
        r = await hub.client.post("/api/v1/stream/auth", data={"action": "listener_add", "mount": mount,
                                                               "user": "loa-1", "pass": token})
        assert r.status == 200
        return r.headers.get("icecast-auth-user") == "1"

    assert await ask(f"/live/{sid}.mp3", good)
    other = (await start(hub, "editor67", areas=["67/661"]))[1]["id"]
    assert not await ask(f"/live/{other}.mp3", good)  # another session's token
    assert not await ask(f"/live/{sid}.mp3", live.tokens.make(sid, now - timedelta(seconds=1)))  # expired
    assert not await ask(f"/live/{sid}.mp3", good[:-1] + ("0" if good[-1] != "0" else "1"))  # forged
    assert not await ask(f"/live/{sid}.mp3", f"99999999999.{good.split('.')[1]}")  # a later expiry, same mac
    assert not await ask(f"/live/{sid}.mp3", "")
    assert not await ask("/admin/stats", good)
    assert not await ask(f"/live/{sid}.ogg", good)
    r = await hub.client.post("/api/v1/stream/auth", data={"pass": "x" * 20000})
    assert r.status == 413
    await hub.call("POST", f"/api/v1/live/{sid}/stop", "editor67")
    assert not await ask(f"/live/{sid}.mp3", good)  # ended: nobody gets in any more


def test_live_body_refuses_what_an_agent_cannot_use() -> None:
    good = LiveBody("live-1", "start", "emergency", "t", "http://s/live/live-1.mp3", "1.ab",
                    "2026-01-01T00:00:00+00:00")
    assert LiveBody.from_dict(good.to_dict()) == good
    for bad in ({"action": "play"}, {"priority": "normal"}, {"session_id": ""}, {"session_id": "x" * 41},
                {"stream_url": "file:///etc/passwd"}, {"token": ""}):
        with pytest.raises(ValueError):
            LiveBody.from_dict({**good.to_dict(), **bad})


def test_hub_check_names_the_stream_server(tmp_path: Path) -> None:
    from hub.check import run_check  # noqa: PLC0415
    from hub.mosquitto import free_port  # noqa: PLC0415

    cfg = stream_config(tmp_path, port=free_port())
    (tmp_path / "source.secret").chmod(0o644)
    text, ok = run_check(cfg, network=True)
    assert not ok and "chmod 600" in text, text
    (tmp_path / "source.secret").chmod(0o600)
    text, ok = run_check(cfg, network=True)
    assert "Icecast" in text and "không kết nối được" in text, text
