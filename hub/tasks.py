"""Owned background tasks: one `asyncio.TaskGroup`, held by a supervisor task, so every task is named,
cancelled on shutdown, and one that dies (of anything) is seen at once by /healthz instead of leaving the
hub saying it works.

    async with OwnedTasks("nguon-hub") as tasks:
        tasks.start("publisher", publisher.run())
        ...
        tasks.dead()        # {} while every task lives, else {name: why}
        await tasks.cancel("ingest")   # stop one on purpose (not a failure)

As with any TaskGroup, the first task to fail cancels the others; the HTTP server (not in the group) stays up
to say why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class OwnedTasks:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._stopped: set[str] = set()  # cancelled on purpose: not a failure
        self._group: asyncio.TaskGroup | None = None
        self._ready = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    async def __aenter__(self) -> OwnedTasks:
        self._supervisor = asyncio.create_task(self._supervise(), name=f"{self.prefix}-tasks")
        await self._ready.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _supervise(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._ready.set()
                await asyncio.Event().wait()  # until cancelled: by close(), or by the group when a task fails
        except* Exception as failed:
            for exc in failed.exceptions:
                log.error("background task failed", exc_info=exc)
        finally:
            self._group = None
            self._ready.set()

    def start(self, name: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` as the task `<prefix>-<name>` in the group (refused once the group has ended)."""
        if self._group is None or name in self._tasks:
            coro.close()
            raise RuntimeError(f"cannot start {name}: tasks closed or name taken")
        task = self._group.create_task(coro, name=f"{self.prefix}-{name}")
        self._tasks[name] = task
        return task

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    async def cancel(self, name: str) -> None:
        """Stop one task on purpose and wait for it (not reported as dead)."""
        task = self._tasks.get(name)
        if task is None:
            return
        self._stopped.add(name)
        task.cancel()
        await asyncio.wait([task])

    def dead(self) -> dict[str, str]:
        """The tasks that ended without being stopped, and why (empty while all live)."""
        out: dict[str, str] = {}
        for name, task in self._tasks.items():
            if not task.done() or name in self._stopped:
                continue
            if task.cancelled():
                out[name] = "bị huỷ theo một tác vụ khác bị lỗi"
            elif (exc := task.exception()) is not None:
                out[name] = "; ".join(f"{type(e).__name__}: {e}" for e in _leaves(exc))[:300]
            else:
                out[name] = "đã kết thúc"
        return out

    async def close(self) -> None:
        """Cancel every task and wait for them (also after a failure)."""
        self._stopped.update(self._tasks)
        sup, self._supervisor = self._supervisor, None
        if sup is not None:
            sup.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sup


def _leaves(exc: BaseException) -> list[BaseException]:
    """The errors inside (nested) exception groups: what went wrong, not "unhandled errors in a TaskGroup"."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]
