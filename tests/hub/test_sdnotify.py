"""systemd's notify protocol (hub/sdnotify.py): READY=1 and the watchdog's pings reach the notify socket; a
watchdog meant for another pid, or none, sends nothing."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

from hub import sdnotify


async def test_ready_and_watchdog_pings_reach_systemds_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.setblocking(False)
        env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": str(os.getpid())}
        assert sdnotify.notify("READY=1", env)
        interval = sdnotify.watchdog_interval(env)
        assert interval == 0.05
        task = asyncio.create_task(sdnotify.keep_alive(interval, env))
        await asyncio.sleep(0.18)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        got = []
        with contextlib.suppress(BlockingIOError):
            while True:
                got.append(server.recv(64).decode())
        assert got[0] == "READY=1" and got.count("WATCHDOG=1") >= 3, got


def test_no_socket_or_another_pids_watchdog_does_nothing() -> None:
    assert not sdnotify.notify("READY=1", {})
    assert sdnotify.watchdog_interval({}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "15000000", "WATCHDOG_PID": "1"}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "bad"}) is None
    assert not sdnotify.notify("READY=1", {"NOTIFY_SOCKET": "/nonexistent/notify.sock"})
