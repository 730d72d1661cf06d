"""Media cache: download from the hub with resume and timeout, verify sha256, bounded, never evicting what
the stored programme needs. Files live at <data_dir>/media/<sha256> (no extension)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from edge_agent.store import Store
from protocol.messages import MediaRef

log = logging.getLogger("edge_agent.media")

CHUNK = 64 * 1024
TOUCH_EVERY_S = 60.0
TOUCH_FLUSH_S = 2.0
_HEX64 = re.compile(r"[0-9a-f]{64}")
INLINE_SUFFIX = ".inline"  # an attached file being written (a download writes ".part" and may resume it)


class MediaError(RuntimeError):
    """A media file could not be fetched or did not match its hash."""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class MediaCache:
    def __init__(
        self,
        root: Path,
        *,
        store: Store,
        hub_url: str,
        max_bytes: int,
        needed: Callable[[], set[str]],
        timeout_s: float = 30.0,
    ) -> None:
        self.root = root
        self._store = store
        self._hub = hub_url.rstrip("/")
        self._max = max_bytes
        self._needed = needed
        self._timeout = timeout_s
        self._locks: dict[str, asyncio.Lock] = {}
        self._session: Any = None  # one per agent, made on the first download, closed by aclose()
        self._touched: dict[str, float] = {}  # sha256 -> monotonic time of the last touch
        self._pending: dict[str, tuple[int, float]] = {}  # index writes not yet flushed: size, last used
        self._flush_handle: asyncio.TimerHandle | None = None
        root.mkdir(parents=True, exist_ok=True)
        self._reconcile()

    def path(self, sha256: str) -> Path:
        if not _HEX64.fullmatch(sha256):
            raise MediaError(f"{sha256!r} is not a sha256 hex digest")
        return self.root / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def _reconcile(self) -> None:
        """Index cached files the store does not know (their index write was still pending when the agent
        was killed), so the size limit counts them and they can be evicted. A half-written attached file
        (power cut) is dropped: the alert's audio is downloaded if it is still needed."""
        known = {sha for sha, _, _ in self._store.media_index()}
        with self._store.transaction():
            for entry in os.scandir(self.root):
                if entry.name.endswith(INLINE_SUFFIX):
                    Path(entry.path).unlink(missing_ok=True)
                    continue
                if entry.is_file() and _HEX64.fullmatch(entry.name) and entry.name not in known:
                    st = entry.stat()
                    self._store.touch_media(entry.name, st.st_size, st.st_mtime)

    def cached(self, ref: MediaRef) -> Path | None:
        """The local file for `ref` if it is already here (marked used), without waiting on anything."""
        target = self.path(ref.sha256)
        if not target.exists():
            return None
        self._touch(ref.sha256, target)
        return target

    async def ensure(self, ref: MediaRef, *, attempts: int = 3) -> Path:
        """The verified local file for `ref`, downloading it if needed."""
        hit = self.cached(ref)
        if hit is not None:
            return hit
        target = self.path(ref.sha256)
        lock = self._locks.setdefault(ref.sha256, asyncio.Lock())
        async with lock:
            if target.exists():
                self._touch(ref.sha256, target)
                return target
            delay = 1.0
            for attempt in range(1, attempts + 1):
                try:
                    await self._download(ref, target)
                    break
                except MediaError as exc:
                    if attempt == attempts:
                        raise
                    log.warning("tải %s thất bại (lần %d): %s", ref.sha256[:12], attempt, exc)
                    await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter only
                    delay *= 2
            self._touch(ref.sha256, target)
        return target

    def put(self, sha256: str, data: bytes) -> None:
        """Cache a file whose bytes the caller already checked against `sha256` (an alert's attached audio):
        written durably (fsync, then rename), so playing it needs no download."""
        target = self.path(sha256)
        if not target.exists():
            tmp = f"{target}{INLINE_SUFFIX}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp, target)
            except OSError:  # a full card: nothing half-written stays under either name
                Path(tmp).unlink(missing_ok=True)
                raise
        self._touch(sha256, target, len(data))

    def _touch(self, sha256: str, target: Path, size: int | None = None) -> None:
        """Mark it used (the eviction order), at most every TOUCH_EVERY_S per file. The index write and the
        eviction it may cause happen TOUCH_FLUSH_S later, in one commit: an emergency's audio starts
        without waiting for them (on a Pi's SD card a commit is an fsync of several ms). If the agent dies
        first, _reconcile indexes the file at the next start."""
        t = time.monotonic()
        if t - self._touched.get(sha256, -TOUCH_EVERY_S) < TOUCH_EVERY_S:
            return
        self._touched[sha256] = t
        self._pending[sha256] = (target.stat().st_size if size is None else size, time.time())
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(TOUCH_FLUSH_S, self.flush_touches)

    def flush_touches(self) -> None:
        """Write the pending index updates (one commit), then evict over the limit."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._pending = self._pending, {}
        if pending:
            with self._store.transaction():
                for sha, (size, when) in pending.items():
                    if self.path(sha).exists():  # not removed (recall, resync) meanwhile
                        self._store.touch_media(sha, size, when)
            self.evict()

    async def _download(self, ref: MediaRef, target: Path) -> None:
        import aiohttp  # noqa: PLC0415 - loaded on first download, keeps an idle agent small

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, connect=self._timeout, sock_read=self._timeout)
            )
        url = ref.url if ref.url.startswith(("http://", "https://")) else self._hub + ref.url
        part = target.with_name(target.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        got = ""
        try:
            async with self._session.get(url, headers=headers) as resp:
                if resp.status == 416:  # the partial file is already complete (or bogus): check it below
                    pass
                elif resp.status == 206 and have:
                    got = await self._write(resp, part, append=True)
                elif resp.status == 200:
                    got = await self._write(resp, part, append=False)
                else:
                    raise MediaError(f"GET {url} answered HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise MediaError(f"GET {url}: {exc.__class__.__name__} {exc}") from None
        if not got:  # nothing written this time: hash what is on disk
            got = await asyncio.to_thread(_sha256_file, part)
        if got != ref.sha256:
            part.unlink(missing_ok=True)
            raise MediaError(f"{url} has sha256 {got[:12]}…, expected {ref.sha256[:12]}…; discarded")
        os.replace(part, target)
        log.info("đã tải media %s (%d byte)", ref.sha256[:12], ref.size)

    @staticmethod
    async def _write(resp: Any, part: Path, *, append: bool) -> str:
        """Write the body to `part` (fsynced) and return the sha256 of the whole file, hashed as it is
        written (no second read of the file, no thread hop); a resumed file's head is hashed first."""
        digest = hashlib.sha256()
        if append:
            with part.open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        with part.open("ab" if append else "wb") as fh:
            async for chunk in resp.content.iter_chunked(CHUNK):
                fh.write(chunk)
                digest.update(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        return digest.hexdigest()

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)
        self._touched.pop(sha256, None)
        self._pending.pop(sha256, None)
        self._store.forget_media(sha256)

    async def drop_damaged(self) -> int:
        """Re-hash every cached file (the `resync` command); drop those missing or not matching their
        name, and return how many (the programme's prefetch fetches them again)."""
        bad = 0
        self.flush_touches()  # so the index lists what was just downloaded
        for sha, _, _ in self._store.media_index():
            path = self.path(sha)
            if not path.exists() or await asyncio.to_thread(_sha256_file, path) != sha:
                self.remove(sha)
                bad += 1
        return bad

    def evict(self) -> list[str]:
        """Drop least recently used files over the limit, never one the programme or an emergency needs."""
        needed = self._needed()
        index = self._store.media_index()
        total = sum(size for _, size, _ in index)
        gone = []
        for sha, size, _ in index:
            if total <= self._max:
                break
            if sha in needed:
                continue
            self.remove(sha)
            total -= size
            gone.append(sha)
        if gone:
            log.info("dọn bộ nhớ đệm media: xoá %d tệp", len(gone))
        return gone

    async def prefetch(self, refs: Iterable[MediaRef]) -> None:
        for ref in refs:
            if self.has(ref.sha256):
                continue
            try:
                await self.ensure(ref)
            except MediaError as exc:
                log.warning("chưa tải trước được %s: %s", ref.sha256[:12], exc)

    async def aclose(self) -> None:
        self.flush_touches()
        if self._session is not None:
            await self._session.close()
            self._session = None
