"""Threads for blocking work, kept apart so that a burst of web traffic never delays an emergency.

The event loop runs no database work and no password hashing, for the API and the pages alike: it must
stay free to publish. Blocking work goes to one of three places:
- the loop's default executor (`asyncio.to_thread`): the API's handlers and the publishing path (approve,
  cancel, recall, a chair's order: the services' own `to_thread` calls);
- `in_web`: the web pages and the logins (hub/web, the API's login), WEB_WORKERS threads: a hundred
  browsers at once queue here, not in front of an approval;
- `hashing` (hub/security.py): argon2id, at most HASH_WORKERS at once (each takes 64 MiB and tens of ms of
  CPU), at a lower OS priority than the rest of the hub, so fifty logins take their turn instead of the CPU
  the publisher needs.
And while an emergency is on its way (approve, cancel, recall), the web threads start no new work
(UrgentGate). bench/web_load.py measures it (docs/PERFORMANCE.md, "Web load and the emergency path").
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

WEB_WORKERS = 3
HASH_WORKERS = max(1, (os.cpu_count() or 2) // 2)
HASH_NICE = 10  # added to the hashing threads' niceness (Linux: per thread)


_mode = {"serving": False}


def serving() -> None:
    """`hub serve` calls this first: from then on its hashing threads run at a lower priority than the rest
    of the hub. (Not in tests and CLI commands: on a busy machine a low-priority hash may wait seconds.)"""
    _mode["serving"] = True


def _hash_thread_start() -> None:
    """argon2id runs 4 lanes on threads of its own, which inherit this priority (Linux: per thread)."""
    if _mode["serving"]:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)


_web = ThreadPoolExecutor(max_workers=WEB_WORKERS, thread_name_prefix="nguon-web")
hashing = ThreadPoolExecutor(
    max_workers=HASH_WORKERS, thread_name_prefix="nguon-hash", initializer=_hash_thread_start
)


class UrgentGate:
    """While an approval, a cancel or a recall is on its way to the broker, the web threads start no new
    page: Python runs one thread at a time, and pages being rendered would take turns with the emergency.
    A page already running finishes; a waiting one waits at most URGENT_WAIT_MAX_S."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._clear = threading.Event()
        self._clear.set()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        with self._lock:
            self._holders += 1
            self._clear.clear()
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self._clear.set()

    def wait(self) -> None:
        self._clear.wait(URGENT_WAIT_MAX_S)


URGENT_WAIT_MAX_S = 2.0
urgent = UrgentGate()


def _after_urgent(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    urgent.wait()
    return fn(*args, **kwargs)


async def in_web(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on a web thread (like asyncio.to_thread, on the web tier's own threads), once
    no emergency is on its way (UrgentGate)."""
    ctx = contextvars.copy_context()
    call = functools.partial(ctx.run, _after_urgent, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_web, call)
