"""`hub backup` / `hub restore` (hub/backup.py): a backup restored into a fresh hub has every bulletin and
media file, the same signing key, and signs messages that devices which heard the old hub after the backup
still accept (the sequence numbers never go back)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hub.app import build_app, build_services
from hub.backup import KEY_FILE, RESTORE_SEQ_JUMP, BackupError, backup, complete_backups, restore, verify
from hub.config import HubConfig
from hub.db import Database
from hub.services.publishing import RecordingPublisher
from hub.singleton import HubAlreadyRunning, PublisherLock
from protocol.clock import FrozenClock
from protocol.envelope import SeqTracker, Verifier, check_audience
from tests.hub.conftest import PASSWORD, T0, Hub, make_config, pg_database, running_hub

ROOT = Path(__file__).resolve().parents[2]
PHRASE = "mot-cau-mat-khau-rat-dai-2026"


def configs(tmp: Path, url_a: str = "", url_b: str = "") -> tuple[HubConfig, HubConfig, Path]:
    phrase = tmp / "phrase"
    phrase.write_text(PHRASE + "\n", encoding="utf-8")
    bk = {"dir": str(tmp / "backups"), "passphrase_file": str(phrase), "keep": 3}
    a = make_config(tmp / "a", backup=bk, database={"url": url_a})
    b = make_config(tmp / "b", backup=bk, database={"url": url_b})
    return a, b, phrase


class Device:
    """What an agent checks of every message: signature, audience, seq above the last on that topic."""

    def __init__(self, hub_key: Any) -> None:
        self.verifier = Verifier([hub_key])
        self.seqs = SeqTracker()

    def hear(self, messages: list[tuple[str, bytes, bool]]) -> int:
        for topic, wire, _retained in messages:
            env = self.verifier.verify(wire, now=T0)
            check_audience(env, topic)
            self.seqs.accept(topic, env)  # raises EnvelopeError("replayed") on a regression
        return len(messages)


async def emergency(h: Hub, text: str) -> str:
    status, b = await h.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={"title": text, "priority": "emergency", "text": text, "targets": ["67"], "kinds": ["radio"]},
    )
    assert status == 201, b
    status, out = await h.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200, out
    return str(b["id"])


async def fill(h: Hub, tmp: Path) -> None:
    """An emergency (speech), a priority text bulletin, and an uploaded recording on air."""
    await emergency(h, "Lũ đang lên ở bản Na, sơ tán ngay.")
    tone = tmp / "tone.wav"
    await asyncio.to_thread(
        subprocess.run,
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(tone)],
        check=True,
        timeout=60,
    )
    status, m = await h.call(
        "POST",
        "/api/v1/media?for=radio",
        "editor67",
        data=tone.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert status == 201, m
    for body in (
        {
            "title": "Lịch tiêm chủng",
            "priority": "priority",
            "text": "Tiêm chủng sáng thứ Hai.",
            "kinds": ["radio"],
        },
        {
            "title": "Bản ghi âm",
            "priority": "priority",
            "form": "audio",
            "media": m["sha256"],
            "kinds": ["radio"],
        },
    ):
        status, b = await h.call(
            "POST", "/api/v1/bulletins", "editor67", json={**body, "targets": ["67/660"]}
        )
        assert status == 201, b
        status, out = await h.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
        assert status == 200, out


async def snapshot(client: TestClient, token: str) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Every bulletin (as the API shows it) and every media file it names, served by the hub."""
    auth = {"Authorization": f"Bearer {token}"}
    r = await client.get("/api/v1/bulletins?limit=200", headers=auth)
    assert r.status == 200
    keep = ("id", "title", "status", "priority", "version", "media", "text", "targets", "speech")
    items, files = [], {}
    for listed in (await r.json())["bulletins"]:
        r = await client.get(f"/api/v1/bulletins/{listed['id']}", headers=auth)
        b = await r.json()
        items.append({k: b.get(k) for k in keep})
        for sha in filter(None, (b["media"], (b["speech"] or {}).get("sha256"))):
            r = await client.get(f"/media/{sha}", headers=auth)
            assert r.status == 200, sha
            files[sha] = await r.read()
    return sorted(items, key=lambda b: str(b["id"])), files


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_a_restored_hub_has_everything_and_devices_accept_its_messages(
    engine: str, tmp_path: Path
) -> None:
    dbs: AbstractContextManager[Any] = _two_pg() if engine == "postgresql" else nullcontext(("", ""))
    with dbs as (url_a, url_b):
        cfg_a, cfg_b, _ = configs(tmp_path, url_a, url_b)
        async with running_hub(cfg_a) as a:
            await fill(a, tmp_path)
            before, files = await snapshot(a.client, a.tokens["editor67"])
            assert len(before) == 3 and len(files) >= 3, (before, files)
            stored = sorted(p.name for p in cfg_a.media_dir.glob("??/*"))  # compact/: a cache, made again
            made = backup(cfg_a)
            # the hub signs on after the backup: the devices hold seqs the backup never saw
            await emergency(a, "Tin khẩn cấp sau lần sao lưu.")
            heard_from_a = list(a.publisher.messages)
            key_a = a.s.envelopes.key
        assert not list(made.path.glob("hub.sqlite3-*"))  # one self-contained file
        assert (made.path / KEY_FILE).read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")

        out = restore(cfg_b, made.path)
        assert out["key_id"] == key_a.key_id and out["seq"] > RESTORE_SEQ_JUMP

        publisher = RecordingPublisher()
        services = build_services(cfg_b, clock=FrozenClock(T0), publisher=publisher)
        client = TestClient(TestServer(build_app(cfg_b, services=services)))
        await client.start_server()
        try:
            b = Hub(services, client, publisher, FrozenClock(T0))
            r = await client.get("/api/v1/keys")
            assert (await r.json())["keys"][0]["key_id"] == key_a.key_id
            token = (await b.login("editor67"))["Authorization"].split()[1]  # the accounts came back too
            assert await snapshot(client, token) == (before, files)
            assert sorted(p.name for p in cfg_b.media_dir.glob("??/*")) == stored
            await emergency(b, "Tin khẩn cấp từ hub đã khôi phục.")
            assert publisher.messages, "the restored hub published nothing"
            device = Device(key_a.public)
            device.hear(heard_from_a)
            device.hear(publisher.messages)  # every one accepted: the same key, seqs above all heard
        finally:
            await client.close()
            services.ctx.db.dispose()


@contextmanager
def _two_pg() -> Iterator[tuple[str, str]]:
    with pg_database() as a, pg_database() as b:
        yield a, b


@pytest.fixture
def backed_up(tmp_path: Path) -> Iterator[tuple[HubConfig, HubConfig, Path]]:
    """A small hub (the sample accounts, no bulletins) and one backup of it."""
    cfg_a, cfg_b, _ = configs(tmp_path)
    services = build_services(cfg_a, clock=FrozenClock(T0), publisher=RecordingPublisher())
    from hub.roles import SYSTEM  # noqa: PLC0415

    services.accounts.create_user(SYSTEM, username="admin1", password=PASSWORD, role="admin")
    services.envelopes.seq.next()
    services.ctx.db.dispose()
    media = cfg_a.media_dir / "ab"
    media.mkdir(parents=True)
    import hashlib  # noqa: PLC0415

    data = b"not really audio, but content-addressed all the same"
    (media / hashlib.sha256(data).hexdigest()).write_bytes(data)
    yield cfg_a, cfg_b, backup(cfg_a).path


def test_restore_refuses_a_damaged_backup_a_wrong_passphrase_and_a_hub_with_data(
    backed_up: tuple[HubConfig, HubConfig, Path], tmp_path: Path
) -> None:
    cfg_a, cfg_b, path = backed_up
    wrong = tmp_path / "wrong"
    wrong.write_text("a-different-long-phrase", encoding="utf-8")
    with pytest.raises(BackupError, match="passphrase does not open"):
        restore(cfg_b, path, passphrase_file=str(wrong))
    short = tmp_path / "short"
    short.write_text("short", encoding="utf-8")
    with pytest.raises(BackupError, match="shorter than 12"):
        backup(cfg_a, passphrase_file=str(short))
    assert not cfg_b.data_dir.exists(), "a refused restore wrote something"

    with pytest.raises(BackupError, match="already holds a hub's data"):
        restore(cfg_a, path)  # over the live hub's own database
    media = next((path / "media").glob("??/*"))
    media.chmod(0o600)
    media.write_bytes(b"bit rot")
    with pytest.raises(BackupError, match="does not match its sha256"):
        verify(path, PHRASE.encode())
    with pytest.raises(BackupError, match="does not match its sha256"):
        restore(cfg_b, path)
    assert not cfg_b.data_dir.exists()
    (path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BackupError, match="cannot be read"):
        restore(cfg_b, path)
    with pytest.raises(BackupError, match="not a complete backup"):
        restore(cfg_b, tmp_path)


def test_retention_keeps_the_newest_and_links_unchanged_media(
    backed_up: tuple[HubConfig, HubConfig, Path],
) -> None:
    cfg_a, _, first = backed_up
    made = [first] + [backup(cfg_a).path for _ in range(3)]
    kept = complete_backups(cfg_a.backup_dir)
    assert kept == made[-3:] and not first.exists()  # keep = 3
    a, b = (next((p / "media").glob("??/*")) for p in kept[-2:])
    assert a.stat().st_ino == b.stat().st_ino  # the unchanged file is stored once
    assert not list(cfg_a.backup_dir.glob(".*.partial"))


@pytest.mark.slow
def test_cli_backup_check_and_restore(backed_up: tuple[HubConfig, HubConfig, Path], tmp_path: Path) -> None:
    cfg_a, cfg_b, _ = backed_up
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGUON_")}

    def hub(cfg: HubConfig, *args: str) -> subprocess.CompletedProcess[str]:
        conf = tmp_path / f"{uuid.uuid4().hex}.toml"
        conf.write_text(
            f'data_dir = "{cfg.data_dir}"\n[backup]\ndir = "{cfg.backup.dir}"\n'
            f'passphrase_file = "{cfg.backup.passphrase_file}"\n',
            encoding="utf-8",
        )
        return subprocess.run(
            [sys.executable, "-m", "hub", "--config", str(conf), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    out = hub(cfg_a, "backup")
    assert out.returncode == 0 and "1 media files" in out.stdout, out.stderr
    path = complete_backups(cfg_a.backup_dir)[-1]
    out = hub(cfg_b, "restore", "--check", str(path))
    assert out.returncode == 0 and "is whole" in out.stdout and not cfg_b.data_dir.exists(), out.stderr
    out = hub(cfg_b, "restore", str(path))
    assert out.returncode == 0 and "sequence numbers continue above" in out.stdout, out.stderr
    out = hub(cfg_b, "restore", str(path))
    assert out.returncode == 2 and "pass --replace" in out.stderr


def test_restore_over_a_hub_waits_for_it_to_stop_and_replaces_only_when_told(
    backed_up: tuple[HubConfig, HubConfig, Path],
) -> None:
    cfg_a, _, path = backed_up
    db = Database(cfg_a.database_url)
    running = PublisherLock(db)
    running.acquire()  # a hub serves this database
    try:
        with pytest.raises(HubAlreadyRunning):
            restore(cfg_a, path, replace=True)
    finally:
        running.release()
        db.dispose()
    out = restore(cfg_a, path, replace=True)
    again = restore(cfg_a, path, replace=True)
    assert again["seq"] > out["seq"] > RESTORE_SEQ_JUMP  # each restore moves the seqs ahead again
