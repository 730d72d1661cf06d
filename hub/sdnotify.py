"""systemd's notify protocol (no dependency): READY=1 once serving, WATCHDOG=1 from the event loop.

With `Type=notify` and `WatchdogSec=` in deploy/systemd/nguon-hub.service, a hub process whose event loop
hangs (it would keep the publisher lock, hub/election.py, and nothing would take over) stops sending
WATCHDOG=1; systemd kills it, its lock goes with its database session, a standby takes over, and systemd
starts it again. Outside systemd (no NOTIFY_SOCKET) all of this does nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket


def notify(state: str, environ: dict[str, str] | None = None) -> bool:
    """Send one state line to systemd; False when not run by systemd with a notify socket."""
    env = os.environ if environ is None else environ
    path = env.get("NOTIFY_SOCKET", "")
    if not path:
        return False
    addr = "\0" + path[1:] if path.startswith("@") else path
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.sendto(state.encode(), addr)
        except OSError:
            return False
    return True


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Seconds between pings (half systemd's WatchdogSec), or None when no watchdog is asked of this pid."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def keep_alive(interval: float, environ: dict[str, str] | None = None) -> None:
    """Ping systemd's watchdog every `interval` s from the event loop, until cancelled."""
    while True:
        notify("WATCHDOG=1", environ)
        await asyncio.sleep(interval)
