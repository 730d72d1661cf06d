"""Fixtures for agent tests: a fake signing hub and a hub-side event collector on a real broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.mosquitto import MosquittoProcess
from tests.agent.harness import AgentProcess, Collector, FakeHub, window_clock


@pytest.fixture
async def hub(fresh_broker: MosquittoProcess, tmp_path: Path) -> AsyncIterator[FakeHub]:
    fake = FakeHub(tmp_path, fresh_broker, window_clock(), f"t{uuid.uuid4().hex[:8]}/v1")
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def collector(hub: FakeHub) -> AsyncIterator[Collector]:
    col = Collector(hub.broker, hub.topics.prefix)
    await col.start()
    yield col
    await col.stop()


@pytest.fixture
def agent(hub: FakeHub, tmp_path: Path) -> AgentProcess:
    proc = AgentProcess(tmp_path / "agent", hub, clock=hub.clock)
    proc.dir.mkdir(parents=True, exist_ok=True)
    yield proc
    proc.stop()
