"""One publishing hub per database: a second one stops with a message, instead of signing with its own
block of sequence numbers that devices would refuse as replays (hub/singleton.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.db import Database
from hub.mosquitto import MosquittoProcess, free_port
from hub.singleton import HubAlreadyRunning, PublisherLock

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_second_publisher_on_the_same_database_is_refused_until_the_first_lets_go(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}" if engine == "sqlite" else request.getfixturevalue("pg_url")
    first, second = Database(url), Database(url)
    a, b = PublisherLock(first), PublisherLock(second)
    try:
        a.acquire()
        with pytest.raises(HubAlreadyRunning, match="one hub process per province") as err:
            b.acquire()
        assert "another hub process" in str(err.value) and "replays" in str(err.value)
        if engine == "sqlite":
            assert f"pid {os.getpid()}" in str(err.value) and err.value.holder == str(os.getpid())
        a.release()
        b.acquire()  # the first one stopped: the next may publish
    finally:
        a.release()
        b.release()
        first.dispose()
        second.dispose()


def test_a_second_hub_serve_on_the_same_data_stops_with_the_reason(
    tmp_path: Path, broker: MosquittoProcess
) -> None:
    conf = tmp_path / "hub.toml"
    conf.write_text(
        f'data_dir = "{tmp_path / "hub"}"\n'
        '[http]\nhost = "127.0.0.1"\nport = 0\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\ntopic_prefix = "single{free_port()}/v1"\n'
        "[programme]\nscheduler = false\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGUON_")}
    cmd = [sys.executable, "-m", "hub", "--config", str(conf), "serve"]
    first = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert first.stdout is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "nguon hub:" not in line:
            line = first.stdout.readline()
            assert line or first.poll() is None, "the first hub exited"
        assert "nguon hub:" in line
        second = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"another hub process (pid {first.pid}) already publishes" in second.stderr
        assert first.poll() is None, "the first hub keeps running"
    finally:
        first.terminate()
        first.wait(30)
