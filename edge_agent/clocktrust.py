"""Is the local clock right? Scheduled items wait until it is; emergencies never wait."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import subprocess
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger("edge_agent.clock")

HUB_TOLERANCE_S = 120.0
_TIME_ERROR = 5  # adjtimex() return value meaning "clock not synchronised"


def os_ntp_synchronised() -> bool | None:
    """What the OS says: timedatectl first (systemd-timesyncd/chrony), then adjtimex; None if unknown."""
    try:
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=3,
            check=False,
        )
        if out.returncode == 0 and out.stdout.strip() in ("yes", "no"):
            return out.stdout.strip() == "yes"
    except (OSError, subprocess.TimeoutExpired):
        pass
    return _adjtimex_synchronised()


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (64-bit Linux): modes + 19 longs/ints + padding (oversized on purpose); only the return value is read.
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 252)]


def _adjtimex_synchronised() -> bool | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        state = libc.adjtimex(ctypes.byref(_Timex()))  # modes = 0: read only
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR


class ClockTrust:
    """Tracks whether scheduled playback may rely on the clock; `state` is what the status reports."""

    def __init__(
        self,
        *,
        mode: str,
        now: Callable[[], datetime],
        os_check: Callable[[], bool | None] = os_ntp_synchronised,
    ) -> None:
        self._mode = mode
        self._now = now
        self._os_check = os_check
        self._os: bool | None = None
        self._hub_ok = False

    def refresh(self) -> None:
        """Ask the OS again (cheap; called every heartbeat)."""
        self._os = self._os_check()

    def hub_time(self, issued_at: datetime) -> None:
        """A fresh, non-retained, signed message: its issue time vouches for (or against) our clock."""
        skew = abs((self._now() - issued_at).total_seconds())
        ok = skew <= HUB_TOLERANCE_S
        if ok != self._hub_ok:
            log.info("clock %s hub time (skew %.0f s)", "agrees with" if ok else "DISAGREES with", skew)
        self._hub_ok = ok

    @property
    def trusted(self) -> bool:
        return self._mode == "always" or bool(self._os) or self._hub_ok

    @property
    def state(self) -> str:
        """synced | hub | unsynced | unknown (DeviceStatus.clock)."""
        if self._os:
            return "synced"
        if self._hub_ok:
            return "hub"
        if self._os is False:
            return "unsynced"
        return "unknown"
