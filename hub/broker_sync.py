"""Owned task of the publishing hub: the brokers' ACL and devices' password files follow the registry.

A device added, moved (a reorganisation), removed or given a new secret marks its transaction (SQLAlchemy
session events on the hub's own sessions); once it commits, the task wakes, waits `debounce_s` to fold the
changes that come together, regenerates every broker's files from the database, writes those that changed
atomically and reloads each broker (hub/broker_files.py). It also reads the registry every `poll_s`, for the
changes made by another process (the CLI, a standby hub). A failure is logged, shown on /healthz and retried
with a growing delay, at once on the next change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from hub.broker import write_private
from hub.broker_files import (
    BrokerFilesConfig,
    BrokerTarget,
    Registry,
    grants_of,
    render,
    same_on_disk,
)
from hub.db import Database
from hub.models import Device

log = logging.getLogger(__name__)
_MARK = "nguon_broker_files"
RIGHTS = ("area_path", "kind", "broker_secret")  # what changes a device's broker account or rights
RELOAD_TIMEOUT_S = 60.0


class ReloadFailed(RuntimeError):
    pass


@dataclass
class _State:
    since: datetime | None = None  # the first failure of the current run of failures
    error: str = ""
    synced_at: datetime | None = None  # the last pass that left every broker in step


def reload_broker(target: BrokerTarget) -> None:
    """Make one broker re-read its files: its command (no shell), or SIGHUP to its pid file's process."""
    if target.reload_command:
        try:
            done = subprocess.run(list(target.reload_command), capture_output=True, timeout=RELOAD_TIMEOUT_S,
                                  check=False, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReloadFailed(f"{' '.join(target.reload_command)}: {exc}") from exc
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[-200:]
            raise ReloadFailed(f"{' '.join(target.reload_command)} exited {done.returncode}: {tail}")
        return
    try:
        pid = int(Path(target.pid_file).read_text(encoding="ascii").split()[0])
        os.kill(pid, signal.SIGHUP)
    except (OSError, ValueError, IndexError) as exc:
        raise ReloadFailed(f"SIGHUP to the process of {target.pid_file}: {exc}") from exc


class BrokerSync:
    def __init__(
        self, cfg: BrokerFilesConfig, db: Database, *, hub_user: str, prefix: str, tz: ZoneInfo
    ) -> None:
        self.cfg, self.db, self.hub_user, self.prefix, self.tz = cfg, db, hub_user, prefix, tz
        self.state = _State()
        self._applied: dict[str, dict[Path, str]] = {}  # per broker: the files it was reloaded with
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- noticing changes -------------------------------------------------------------------------------
    def poke(self) -> None:
        """The registry changed (from any thread): sync soon."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def watch(self) -> Callable[[], None]:
        """Listen to the hub's sessions; returns what stops listening."""
        target: Any = self.db.sessions
        hooks: list[tuple[str, Callable[..., None]]] = [
            ("after_flush", self._after_flush), ("after_commit", self._after_commit),
            ("after_rollback", self._after_rollback),
        ]
        for name, fn in hooks:
            event.listen(target, name, fn)

        def stop() -> None:
            for name, fn in hooks:
                event.remove(target, name, fn)

        return stop

    def _after_flush(self, sess: Session, _ctx: Any) -> None:
        for obj in chain(sess.new, sess.deleted, sess.dirty):
            if isinstance(obj, Device) and (
                obj in sess.new or obj in sess.deleted
                or any(inspect(obj).attrs[a].history.has_changes() for a in RIGHTS)
            ):
                sess.info[_MARK] = True
                return

    def _after_commit(self, sess: Session) -> None:
        if sess.info.pop(_MARK, False):
            self.poke()

    def _after_rollback(self, sess: Session) -> None:
        sess.info.pop(_MARK, None)

    # --- syncing --------------------------------------------------------------------------------------
    def registry(self) -> Registry:
        with self.db.session() as sess:
            rows = sess.execute(
                select(Device.id, Device.kind, Device.area_path, Device.broker_secret).order_by(Device.id)
            )
            return grants_of((r[0], r[1], r[2], r[3]) for r in rows)

    def sync_once(self) -> int:
        """Write and reload every broker whose files changed (all of them the first time); returns how many
        were reloaded. One broker failing (broker B unreachable) does not keep the others from their
        update; the failures are raised together afterwards (and that broker is tried again next time)."""
        reg = self.registry()
        reloaded, failed = 0, []
        for target in self.cfg.brokers:
            files = render(target, reg, hub_user=self.hub_user, prefix=self.prefix)
            if self._applied.get(target.name) == files:
                continue
            try:
                if not same_on_disk(files):
                    for path, text in files.items():
                        write_private(path, text)
                reload_broker(target)
            except (OSError, ReloadFailed) as exc:
                failed.append(f"{target.name}: {exc}")
                continue
            self._applied[target.name] = files
            reloaded += 1
        if failed:
            raise ReloadFailed("; ".join(failed))
        return reloaded

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        failures = 0
        wait = 0.0  # at start: at once
        while True:
            with contextlib.suppress(TimeoutError):  # the poll, or the retry after a failure
                await asyncio.wait_for(self._wake.wait(), wait)
            if self._wake.is_set() and self.cfg.debounce_s:
                await asyncio.sleep(self.cfg.debounce_s)  # fold the changes that come together
            self._wake.clear()
            try:
                n = await asyncio.to_thread(self.sync_once)
            except Exception as exc:  # any failure is shown and retried, never fatal
                failures += 1
                st = self.state
                st.since = st.since or datetime.now(self.tz)
                st.error = f"{exc}"[:300]
                wait = min(self.cfg.retry_max_s, self.cfg.retry_s * 2.0 ** (failures - 1))
                log.error("broker files not updated (attempt %d, next in %.0f s): %s",
                          failures, wait, st.error)
                continue
            if n or failures:
                log.info("broker files updated and %d broker(s) reloaded", n)
            failures, wait = 0, self.cfg.poll_s
            self.state = _State(synced_at=datetime.now(self.tz))

    def describe(self) -> dict[str, Any]:
        """For /healthz: when the files were last found in step, and since when and why they are not."""
        st = self.state
        return {"synced_at": st.synced_at.isoformat(timespec="seconds") if st.synced_at else None,
                "failing_since": st.since.isoformat(timespec="seconds") if st.since else None,
                "error": st.error or None}

    def problem(self) -> str | None:
        """For /healthz and the admin's home page (Vietnamese), or None while the files are in step."""
        st = self.state
        if st.since is None:
            return None
        return f"ACL của máy chủ MQTT chưa cập nhật từ {st.since:%H:%M:%S %d/%m/%Y} ({st.error})"
