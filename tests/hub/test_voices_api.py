"""Voices through the front door (issue 20): the installed voices and the province's default over the API,
a bulletin's choice reaching its audio, the preview, hostile input, and espeak-ng when a voice fails."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from unittest import mock

import pytest

import hub.services.accounts as accounts_module
from hub.models import AuditEntry, Bulletin
from hub.security import hash_password
from tests.hub.conftest import PASSWORD, Hub, make_config, running_hub
from tests.tts import tiny_voice
from tts.voices import VoiceStore

TINY = "vi_VN-tiny-x_low"
TEXT = {
    "title": "Thông báo họp thôn",
    "priority": "priority",
    "form": "text",
    "text": "Thôn ba họp lúc tám giờ sáng chủ nhật. Mọi người đến đúng giờ.",
    "targets": ["67/660"],
    "kinds": ["radio"],
}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_voice.write(tmp_path_factory.mktemp("voice-src"))


@pytest.fixture(scope="module")
def one_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
async def hub(tmp_path: Path, source: Path, one_hash: str) -> AsyncIterator[Hub]:
    cfg = make_config(tmp_path)
    VoiceStore(cfg.voices_dir).add(source, name="Giọng thử", region="south")
    # argon2 is slow by design: the sample accounts share one real hash of the test password
    with mock.patch.object(accounts_module, "hash_password", lambda p: one_hash):
        async with running_hub(cfg) as h:
            yield h


async def test_voices_listed_the_default_set_by_an_admin_and_the_choice_spoken(hub: Hub) -> None:
    status, got = await hub.call("GET", "/api/v1/voices", "editor67")
    assert status == 200 and got["default"] == "espeak-ng" and not got["default_missing"]
    assert [(v["id"], v["label"], v["neural"]) for v in got["voices"]] == [
        (TINY, "Giọng thử (miền Nam)", True), ("espeak-ng", "espeak-ng (giọng máy, luôn có)", False)]
    status, err = await hub.call("PUT", "/api/v1/voices/default", "editor67", json={"voice": TINY})
    assert status == 403
    for bad, field in (("khong-co", "voice"), ("../../etc/passwd", "voice"), ("x" * 81, "voice")):
        status, err = await hub.call("PUT", "/api/v1/voices/default", "admin1", json={"voice": bad})
        assert status == 422 and err["error"]["field"] == field, err
    status, got = await hub.call("PUT", "/api/v1/voices/default", "admin1", json={"voice": TINY})
    assert status == 200 and got["default"] == TINY
    with hub.s.ctx.db.session() as sess:
        entry = sess.query(AuditEntry).filter_by(action="voice.default", outcome="ok").one()
        assert entry.target == TINY
    await hub.call("PUT", "/api/v1/voices/default", "admin1", json={"voice": "espeak-ng"})

    # the bulletin's choice goes to its audio; the province's default speaks one without a choice
    status, plain = await hub.call("POST", "/api/v1/bulletins", "editor67", json=TEXT)
    assert status == 201 and plain["voice"] is None and plain["speech"]["engine"] == "espeak-ng"
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "voice": TINY})
    assert status == 201, b
    assert b["voice"] == TINY and (b["speech"]["engine"], b["speech"]["voice"]) == ("piper", TINY)
    assert b["media"] != plain["media"] and hub.s.media.path_for(b["media"]).exists()
    assert 2000 < b["duration_ms"] < 15000  # the tiny voice: ~46 ms per phoneme id
    status, detail = await hub.call("GET", f"/api/v1/bulletins/{b['id']}", "editor67")
    assert detail["voice"] == TINY and detail["speech"]["engine"] == "piper"
    # with the tiny voice as the province's default, "espeak-ng" is still a choice
    await hub.call("PUT", "/api/v1/voices/default", "admin1", json={"voice": TINY})
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "voice": "espeak-ng"})
    assert status == 201 and b["speech"]["engine"] == "espeak-ng"
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "title": "Mặc định"})
    assert status == 201 and b["voice"] is None and b["speech"]["engine"] == "piper"


async def test_hostile_voice_and_preview_input_then_a_broken_voice(hub: Hub) -> None:
    for bad in ("khong-co", "../x", "", "a b", "x" * 200):
        status, err = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "voice": bad})
        assert status == 422 and err["error"]["field"] == "voice", (bad, err)
    status, err = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "voice": "khong-co"})
    assert TINY in err["error"]["message"] and "espeak-ng" in err["error"]["message"]
    assert hub.count(Bulletin) == 0
    # a voice whose model broke on disk: espeak-ng speaks, in the voice's region
    (hub.s.ctx.config.voices_dir / TINY / "model.onnx").write_bytes(b"not a model any more")
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "voice": TINY})
    assert status == 201, b
    assert (b["speech"]["engine"], b["speech"]["voice"]) == ("espeak-ng", "vi-vn-x-south")
    assert b["voice"] == TINY and b["duration_ms"] > 1000
    await _preview(hub)


async def _preview(hub: Hub) -> None:
    headers = await hub.login("editor67")
    synth = hub.s.bulletins.speech.synth
    bulletins_cached = sorted(synth.cache.directory.glob("*.json"))
    r = await hub.client.post("/api/v1/voices/preview", headers=headers,
                              json={"text": "Xin chào bà con.", "voice": TINY})
    assert r.status == 200 and r.headers["Content-Type"] == "audio/mpeg"
    assert len(await r.read()) > 1000  # the broken voice: espeak-ng said it, and the page is told so
    assert (r.headers["X-Voice-Engine"], r.headers["X-Voice"]) == ("espeak-ng", "vi-vn-x-south")
    r = await hub.client.post("/api/v1/voices/preview", headers=headers, json={"text": "Xin chào."})
    assert r.status == 200 and r.headers["X-Voice-Engine"] == "espeak-ng"  # the default
    # previews are kept in their own small area, never among the bulletins' speech
    assert sorted(synth.cache.directory.glob("*.json")) == bulletins_cached
    assert len(list(synth.previews.directory.glob("*.json"))) == 2
    for body, field in (({"text": "x" * 301}, "text"), ({"text": " "}, "text"),
                        ({"text": "Xin chào.", "voice": "khong-co"}, "voice"),
                        ({"text": "Xin chào.", "voice": "../../x"}, "voice")):
        status, err = await hub.call("POST", "/api/v1/voices/preview", "editor67", json=body)
        assert status == 422 and err["error"]["field"] == field, (body, err)
    # one preview at a time per person (the speech threads also speak submitted bulletins)
    long = {"text": "Thông báo thử giọng đọc số một."}  # new text: espeak-ng and ffmpeg take > 100 ms
    first, second = await asyncio.gather(
        hub.client.post("/api/v1/voices/preview", headers=headers, json=long),
        hub.client.post("/api/v1/voices/preview", headers=headers, json={**long, "text": long["text"] + "."}))
    assert sorted([first.status, second.status]) == [200, 429]
    busy = await (first if first.status == 429 else second).json()
    assert busy["error"]["code"] == "preview_busy"
    r = await hub.client.post("/api/v1/voices/preview", headers=headers, json={"text": "Lại được rồi."})
    assert r.status == 200
    status, _ = await hub.call("POST", "/api/v1/voices/preview", "viewer", json={"text": "Xin chào."})
    assert status == 403
    r = await hub.client.post("/api/v1/voices/preview", json={"text": "Xin chào."})
    assert r.status == 401

