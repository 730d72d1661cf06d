"""The media store's retention ([media] retention_days, hub/services/media_retention.py), run by the midnight
job: a file of a bulletin that ended long ago goes (its record stays), one on air or ended recently stays,
an upload nobody used goes with its row."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest

import hub.services.accounts as accounts_module
from hub.models import Media
from hub.roles import SYSTEM
from hub.scheduler import MidnightScheduler
from hub.security import hash_password
from hub.services.media_retention import prune_media
from tests.hub.conftest import PASSWORD, T0, Hub, make_config, running_hub

DAY = 86400


@pytest.fixture(scope="module")
def one_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
async def hub(tmp_path: Path, one_hash: str) -> AsyncIterator[Hub]:
    # argon2 is slow by design: the sample accounts share one real hash of the test password
    with mock.patch.object(accounts_module, "hash_password", lambda p: one_hash):
        async with running_hub(make_config(tmp_path)) as h:
            yield h


async def upload(hub: Hub, tmp: Path, hz: int) -> str:
    tone = tmp / f"tone{hz}.wav"
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={hz}:duration=1", str(tone)]
    await asyncio.to_thread(subprocess.run, cmd, check=True, timeout=60)
    status, m = await hub.call("POST", "/api/v1/media?for=radio", "editor67", data=tone.read_bytes(),
                               headers={"Content-Type": "application/octet-stream"})
    assert status == 201, m
    return str(m["sha256"])


async def on_air(hub: Hub, **body: object) -> dict[str, object]:
    data = {"title": "Thông báo", "priority": "priority", "targets": ["67/660"], "kinds": ["radio"], **body}
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=data)
    assert status == 201, b
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200, b
    return b


async def recall(hub: Hub, bulletin_id: object) -> None:
    status, b = await hub.call("POST", f"/api/v1/bulletins/{bulletin_id}/recall", "editor67",
                               json={"reason": "Hết hiệu lực."})
    assert status == 200, b


async def test_files_of_bulletins_ended_long_ago_are_deleted_at_midnight(hub: Hub, tmp_path: Path) -> None:
    old_rec, recent_rec, unused = [await upload(hub, tmp_path, hz) for hz in (300, 500, 700)]
    ended_long_ago = await on_air(hub, form="audio", media=old_rec)
    ended_recently = await on_air(hub, form="audio", media=recent_rec)
    spoken = await on_air(hub, text="Lịch tiêm chủng sáng thứ Hai.")  # on air for years: its speech stays
    await recall(hub, ended_long_ago["id"])
    hub.clock.advance(500 * DAY)
    hub.tokens.clear()
    await recall(hub, ended_recently["id"])
    hub.clock.advance(300 * DAY)  # 800 days after T0: the first ended 800 days ago, the second 300
    hub.tokens.clear()
    paths = {sha: hub.s.media.path_for(sha) for sha in (old_rec, recent_rec, unused, spoken["media"])}
    assert all(p.exists() for p in paths.values())

    assert await MidnightScheduler(hub.s).run_now() is True
    assert not paths[old_rec].exists() and not paths[unused].exists()
    assert paths[recent_rec].exists() and paths[spoken["media"]].exists()  # type: ignore[index]
    r = await hub.client.get(f"/media/{old_rec}", headers=await hub.login("editor67"))
    assert r.status == 404
    status, record = await hub.call("GET", f"/api/v1/bulletins/{ended_long_ago['id']}", "editor67")
    assert status == 200 and record["status"] == "recalled" and record["media"] == old_rec  # the record stays
    with hub.s.ctx.db.session() as sess:
        assert sess.get(Media, unused) is None and sess.get(Media, old_rec) is not None
    [audit] = hub.s.audit(SYSTEM, action="programme.midnight")
    assert audit["detail"]["media_deleted"] == 2
    assert hub.clock.now() - T0 == timedelta(days=800)


async def test_no_retention_keeps_every_file_and_400_days_is_the_least(hub: Hub, tmp_path: Path) -> None:
    sha = await upload(hub, tmp_path, 440)
    media = hub.s.media

    def prune(days: int, after_days: int) -> dict[str, int]:
        return prune_media(hub.s.ctx.db, media.path_for, media.alert_audio.path,
                           T0 + timedelta(days=after_days), days)

    assert prune(0, 5000) == {"files": 0, "bytes": 0, "rows": 0}  # 0: keep every file
    assert prune(1, 399)["files"] == 0  # never nearer than the play reports' 400 days
    size = media.path_for(sha).stat().st_size
    assert prune(1, 401) == {"files": 1, "bytes": size, "rows": 1}  # an upload no bulletin used
    assert not media.path_for(sha).exists()
