"""Is the local clock right? Scheduled items wait until it is; emergencies never wait."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import subprocess
import time
from collections.abc import Callable
from datetime import datetime

log = logging.getLogger("edge_agent.clock")

HUB_TOLERANCE_S = 120.0
# The OS's sync state changes on a scale of minutes; asking costs a process (timedatectl) each time.
OS_RECHECK_S = 20.0
_TIME_ERROR = 5  # adjtimex() return value meaning "clock not synchronised"


def os_ntp_synchronised() -> bool | None:
    """What the OS says: timedatectl (systemd-timesyncd/chrony, what the technician also sees) while it
    answers, else the kernel's sync flag (adjtimex, one syscall); None if unknown."""
    if _timedatectl_usable:
        answer = _timedatectl()
        if answer is not None:
            return answer
    return _adjtimex_synchronised()


# False once timedatectl failed (not installed, no systemd as PID 1): then it is not run again, so hosts
# without it (containers, benches with many agents in one process) pay for one process, not one per check.
_timedatectl_usable = True


def _timedatectl() -> bool | None:
    global _timedatectl_usable  # noqa: PLW0603 - one process-wide fact about this machine
    try:
        out = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=3,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None  # busy now; ask again next time
    except OSError:
        _timedatectl_usable = False
        return None
    if out.returncode == 0 and out.stdout.strip() in ("yes", "no"):
        return out.stdout.strip() == "yes"
    _timedatectl_usable = False
    log.info("timedatectl does not answer (%s); using the kernel's sync flag", out.stderr.strip()[:120])
    return None


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (64-bit Linux), oversized on purpose; only the return value is read.
    _fields_ = [("modes", ctypes.c_uint), ("_rest", ctypes.c_byte * 252)]


@functools.cache
def _libc() -> ctypes.CDLL:
    # find_library runs ldconfig (a process) on every call: look it up once.
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _adjtimex_synchronised() -> bool | None:
    try:
        libc = _libc()
        state: int = libc.adjtimex(ctypes.byref(_Timex()))  # modes = 0: read only
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
        recheck_s: float = OS_RECHECK_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mode = mode
        self._now = now
        self._os_check = os_check
        self._os: bool | None = None
        self._hub_ok = False
        self._recheck_s = recheck_s
        self._monotonic = monotonic
        self._checked_at: float | None = None

    def refresh(self) -> None:
        """Ask the OS again, at most once per `recheck_s` (it is called on every status change)."""
        if not self.refresh_due():
            return
        self._checked_at = self._monotonic()
        self._os = self._os_check()

    def refresh_due(self) -> bool:
        """Would refresh() ask the OS now (callers skip the thread hop when it would not)?"""
        return self._checked_at is None or self._monotonic() - self._checked_at >= self._recheck_s

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
        """synced | hub | always | unsynced | unknown (DeviceStatus.clock). "always": clock_trust = "always"
        and neither the OS nor the hub vouches: trusted by configuration, so not a fault to report."""
        if self._os:
            return "synced"
        if self._hub_ok:
            return "hub"
        if self._mode == "always":
            return "always"
        if self._os is False:
            return "unsynced"
        return "unknown"
