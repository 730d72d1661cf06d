"""`hub backup` / `hub restore` carry the installed neural voices (issue 18 with issue 20's voices): a
bulletin that names a voice is spoken in that voice by the restored hub, not silently by espeak-ng."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from unittest import mock

import pytest
from aiohttp.test_utils import TestClient, TestServer

import hub.services.accounts as accounts_module
from hub.app import build_app, build_services
from hub.backup import BackupError, backup, restore, verify
from hub.security import hash_password
from hub.services.publishing import RecordingPublisher
from protocol.clock import FrozenClock
from tests.hub.conftest import PASSWORD, T0, Hub, running_hub
from tests.hub.test_backup import PHRASE, configs
from tests.tts import tiny_voice
from tts.voices import VoiceStore

TINY = "vi_VN-tiny-x_low"
DRAFT = {
    "title": "Thông báo họp thôn",
    "priority": "priority",
    "form": "text",
    "text": "Thôn ba họp lúc tám giờ sáng chủ nhật.",
    "targets": ["67/660"],
    "kinds": ["radio"],
    "voice": TINY,
    "draft": True,
}


async def test_a_restored_hub_speaks_a_bulletin_in_its_neural_voice(tmp_path: Path) -> None:
    cfg_a, cfg_b, _ = configs(tmp_path)
    VoiceStore(cfg_a.voices_dir).add(tiny_voice.write(tmp_path / "src"), name="Giọng thử", region="south")
    one_hash = hash_password(PASSWORD)
    with mock.patch.object(accounts_module, "hash_password", lambda p: one_hash):
        async with running_hub(cfg_a) as a:
            status, b = await a.call("POST", "/api/v1/bulletins", "editor67", json=DRAFT)
            assert status == 201 and b["voice"] == TINY and b["status"] == "draft", b
            first = backup(cfg_a)
            second = backup(cfg_a)
    assert first.voices == second.voices == 1
    model = f"voices/{TINY}/model.onnx"
    assert (first.path / model).stat().st_ino == (second.path / model).stat().st_ino  # stored once
    manifest = json.loads((second.path / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(manifest["voices"]) == [f"{TINY}/{n}" for n in
                                          ("LICENCE.txt", "model.onnx", "model.onnx.json", "voice.json")]

    out = restore(cfg_b, second.path)
    assert out["voices"] == [TINY]
    assert [v.id for v in VoiceStore(cfg_b.voices_dir).list()] == [TINY]
    services = build_services(cfg_b, clock=FrozenClock(T0), publisher=RecordingPublisher())
    client = TestClient(TestServer(build_app(cfg_b, services=services)))
    await client.start_server()
    try:
        h = Hub(services, client, RecordingPublisher(), FrozenClock(T0))
        status, sent = await h.call("POST", f"/api/v1/bulletins/{b['id']}/submit", "editor67")
        assert status == 200, sent
        assert (sent["speech"]["engine"], sent["speech"]["voice"]) == ("piper", TINY)
    finally:
        await client.close()
        services.ctx.db.dispose()

    # hostile backups and targets: nothing is written
    cfg_c = cfg_b.model_copy(update={"data_dir": tmp_path / "c" / "hub"})
    other = tmp_path / "other"
    shutil.copytree(second.path, other)
    (cfg_c.voices_dir / TINY).mkdir(parents=True)
    (cfg_c.voices_dir / TINY / "voice.json").write_text("{}", encoding="utf-8")
    with pytest.raises(BackupError, match="another voice of the same id"):
        restore(cfg_c, other)
    assert (cfg_c.voices_dir / TINY / "voice.json").read_text(encoding="utf-8") == "{}"
    assert not cfg_c.media_dir.exists() and not cfg_c.signing_key_path.exists()
    evil = json.loads((other / "manifest.json").read_text(encoding="utf-8"))
    evil["voices"]["../../escape"] = evil["voices"].pop(f"{TINY}/voice.json")
    (other / "manifest.json").write_text(json.dumps(evil), encoding="utf-8")
    with pytest.raises(BackupError, match="outside a voice's folder"):
        verify(other, PHRASE.encode())
    damaged = second.path / model
    damaged.chmod(0o600)
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")
    with pytest.raises(BackupError, match=r"voice file .* does not match its sha256"):
        verify(second.path, PHRASE.encode())
