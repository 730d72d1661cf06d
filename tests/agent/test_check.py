"""`python -m edge_agent check`: a technician's check of a real agent, running and then stopped."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.agent.harness import AgentProcess, FakeHub, run_check, wait_until


async def test_check_a_running_agent_then_a_stopped_one(hub: FakeHub, agent: AgentProcess) -> None:
    out = await asyncio.to_thread(run_check, agent.config)
    assert out.returncode == 1 and "chưa từng chạy" in out.stdout, out.stdout + out.stderr

    item = hub.bulletin("tin-kiem-tra", 5)
    await hub.send_programme(hub.programme([(item, hub.clock.now() + timedelta(minutes=10))]))
    agent.start()
    await agent.ready()
    media = agent.data / "media" / item.media.sha256  # type: ignore[union-attr]
    await wait_until(media.exists, 15, "the programme's audio prefetched")

    out = await asyncio.to_thread(run_check, agent.config)  # the fake hub answers from this loop meanwhile
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "[ OK ] Tiến trình agent: đang chạy" in text
    assert f"đã kết nối tới {agent.status()['broker']}," in text  # which broker it is on
    assert "[ OK ] Máy chủ MQTT" in text and "[ OK ] Máy chủ hub" in text
    assert "[ OK ] Chương trình phát: phiên bản 1, hôm nay 1 lượt phát; kế tiếp" in text
    assert "“Bản tin tin-kiem-tra”" in text and "đủ 1 tệp" in text and "Tất cả đều ổn." in text
    assert "có lịch đến hết ngày" in text
    assert "khung giờ hôm nay 05:00-06:30, 17:00-18:30" in text  # the programme's, as the device plays them

    assert agent.stop() == 0
    media.unlink()
    out = run_check(agent.config, "--no-network")
    assert out.returncode == 1
    assert "[LỖI] Tiến trình agent: không chạy" in out.stdout and "thiếu 1/1 tệp" in out.stdout
    assert "Máy chủ MQTT" not in out.stdout  # --no-network: not probed


def test_check_refuses_a_bad_config_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text('device_id = "loa-1"\nareaa = "67"\n', encoding="utf-8")
    out = run_check(bad)
    assert out.returncode == 2 and "did you mean 'area'" in out.stderr, out.stderr


def test_an_expired_programme_is_a_fault(tmp_path: Path) -> None:
    """Cut off from the hub longer than the days it published: nothing left to play."""
    from edge_agent.check import _programme  # noqa: PLC0415
    from edge_agent.config import load_settings  # noqa: PLC0415
    from edge_agent.store import Store  # noqa: PLC0415
    from protocol import KeyPair  # noqa: PLC0415

    raw = {"device_id": "loa-1", "area": "67/660/24613", "hub_public_keys": [KeyPair.generate().public_b64]}
    settings = load_settings(None, env={}, raw={**raw, "data_dir": str(tmp_path)})
    store = Store(tmp_path / "agent.db")
    body = {"timezone": "Asia/Ho_Chi_Minh", "days": [{"date": "2026-01-02", "items": []}], "bulletins": []}
    store.save_programme("radio", 7, body, "2026-01-02T05:00:00+07:00")
    store.close()
    db = sqlite3.connect(tmp_path / "agent.db")
    try:
        (line,) = _programme(settings, db, datetime(2026, 1, 5, 1, 0, tzinfo=UTC))
    finally:
        db.close()
    assert line.ok is False and "phiên bản 7 đã hết (ngày cuối 2026-01-02)" in line.detail
