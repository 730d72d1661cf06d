"""`python -m edge_agent check`: a technician's check of a real agent, running and then stopped."""

from __future__ import annotations

import asyncio
from datetime import timedelta
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
    assert "[ OK ] Tiến trình agent: đang chạy" in text and "đã kết nối" in text
    assert "[ OK ] Máy chủ MQTT" in text and "[ OK ] Máy chủ hub" in text
    assert "[ OK ] Chương trình phát: phiên bản 1, hôm nay 1 lượt phát; kế tiếp" in text
    assert "“Bản tin tin-kiem-tra”" in text and "đủ 1 tệp" in text and "Tất cả đều ổn." in text

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
