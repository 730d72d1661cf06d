"""Content-addressed cache of encoded speech: <key>.<ext> plus <key>.json, both written atomically.

The cache is bounded: past `max_bytes` the least recently used entries are deleted (their JSON first, so
a reader never trusts a half-deleted entry) until it is back under LOW_WATER of the limit. Last use is the
JSON's mtime: a hit touches it, a put writes it. An entry used within `keep_recent_s` is never evicted
(the caller may still be copying or serving the file it was given), so the limit can be exceeded by what
was made in that time. The hub copies a bulletin's audio into its media store at once, so the cache only
saves synthesis: evicting an entry costs speaking that text again, never a bulletin's audio. One process
evicts at a time (a lock file); each counts its own writes and rescans the directory when its count
passes the limit, so other processes' writes are seen at the next pass. The pass runs in a thread of its
own (`background`), so the put that crossed the limit is not kept waiting.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Bump when normalisation or processing changes what the same inputs sound like.
CACHE_VERSION = 1
_STALE_WORK_S = 3600
DEFAULT_MAX_BYTES = 2 * 1024**3
KEEP_RECENT_S = 600.0
LOW_WATER = 0.9
_LOCK = ".evict.lock"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpeechResult:
    """Encoded speech in the cache and what produced it."""

    path: Path
    sha256: str
    size: int
    duration_ms: int
    mime: str
    engine: str
    voice: str
    normalized_text: str
    cached: bool
    engines_tried: list[tuple[str, str]] = field(default_factory=list)


def cache_key(normalized_text: str, engine: str, voice: str, post: dict[str, Any],
              engine_identity: dict[str, Any]) -> str:
    """sha256 over everything that changes the encoded bytes."""
    blob = json.dumps(
        {"v": CACHE_VERSION, "text": normalized_text, "engine": engine, "voice": voice, "post": post,
         "engine_id": engine_identity},
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class SpeechCache:
    """Lookup and store; a lookup only reads a small JSON file and stats the audio."""

    def __init__(self, directory: Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 keep_recent_s: float = KEEP_RECENT_S, background: bool = True) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self.keep_recent_s = keep_recent_s
        self.background = background  # a put past the limit starts the pass in a thread and returns
        self._guard = threading.Lock()
        self._evictor: threading.Thread | None = None
        self._sweep()
        self._estimate = self._entries()[1]

    def _entries(self) -> tuple[dict[str, tuple[float, int, list[str]]], int]:
        """{key: (last use, bytes, file names)} of every entry, and their total; one directory scan. The
        last use is the JSON's mtime; an audio file without one (a put cut short) counts its own."""
        files: dict[str, list[str]] = {}
        sizes: dict[str, int] = {}
        used: dict[str, float] = {}
        meta_used: dict[str, float] = {}
        with os.scandir(self.directory) as it:
            for item in it:
                if item.name.startswith(".") or not item.is_file(follow_symlinks=False):
                    continue
                try:
                    st = item.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                key, _, ext = item.name.partition(".")
                files.setdefault(key, []).append(item.name)
                sizes[key] = sizes.get(key, 0) + st.st_size
                used[key] = max(used.get(key, 0.0), st.st_mtime)
                if ext == "json":
                    meta_used[key] = st.st_mtime
        found = {k: (meta_used.get(k, used[k]), sizes[k], names) for k, names in files.items()}
        return found, sum(sizes.values())

    def size(self) -> int:
        """Bytes the entries take now (a scan)."""
        return self._entries()[1]

    def evict(self) -> list[str]:
        """Delete least recently used entries until the cache is under LOW_WATER of max_bytes (only when
        it is above max_bytes); returns the keys deleted."""
        # the lock file, opened anew each pass, keeps passes apart in this process and in others; puts and
        # hits go on meanwhile (a pass over 20,000 entries on a loaded disk takes seconds: bench/tts_cache.py)
        with open(self.directory / _LOCK, "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            entries, total = self._entries()
            gone: list[str] = []
            if total > self.max_bytes:
                target = self.max_bytes * LOW_WATER
                recent = time.time() - self.keep_recent_s
                for key, (used, size, names) in sorted(entries.items(), key=lambda e: e[1][0]):
                    if total <= target or used >= recent:
                        break
                    if self.keep_recent_s > 0 and self._touched_since(names, recent):
                        continue  # used or written again since the scan
                    for name in sorted(names, key=lambda n: not n.endswith(".json")):  # the JSON first
                        with contextlib.suppress(FileNotFoundError):
                            (self.directory / name).unlink()
                    total -= size
                    gone.append(key)
            with self._guard:
                self._estimate = total
            return gone

    def _touched_since(self, names: list[str], when: float) -> bool:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                if (self.directory / name).stat().st_mtime >= when:
                    return True
        return False

    def _added(self, nbytes: int) -> None:
        with self._guard:
            self._estimate += nbytes
            if self._estimate <= self.max_bytes or (self._evictor is not None and self._evictor.is_alive()):
                return
            if self.background:
                self._evictor = threading.Thread(target=self._evict_logged, name="tts-cache-evict",
                                                 daemon=True)
                self._evictor.start()
                return
        self.evict()

    def _evict_logged(self) -> None:
        try:
            self.evict()
        except OSError as exc:  # a pass that failed is tried again at the next put past the limit
            log.error("speech cache %s: eviction failed: %s", self.directory, exc)

    def wait_evicted(self, timeout: float | None = None) -> None:
        """Wait for a pass running in the background (tests, a hub stopping)."""
        evictor = self._evictor
        if evictor is not None:
            evictor.join(timeout)

    def _sweep(self) -> None:
        """Remove work dirs and temp files a crashed process left behind."""
        cutoff = time.time() - _STALE_WORK_S
        for leftover in [*self.directory.glob(".work-*"), *self.directory.glob(".tmp-*")]:
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < cutoff:
                    if leftover.is_dir():
                        for child in leftover.iterdir():
                            child.unlink()
                        leftover.rmdir()
                    else:
                        leftover.unlink()

    def work_dir(self) -> tempfile.TemporaryDirectory[str]:
        """A scratch directory on the cache's filesystem, so the final rename is atomic."""
        return tempfile.TemporaryDirectory(dir=self.directory, prefix=".work-")

    def get(self, key: str) -> SpeechResult | None:
        meta_path = self.directory / f"{key}.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            audio = self.directory / meta["file"]
            if audio.stat().st_size != meta["size"]:
                return None
        except (FileNotFoundError, ValueError, KeyError):
            return None
        with contextlib.suppress(OSError):
            os.utime(meta_path)  # its last use, for the eviction
        return SpeechResult(
            path=audio, sha256=meta["sha256"], size=meta["size"], duration_ms=meta["duration_ms"],
            mime=meta["mime"], engine=meta["engine"], voice=meta["voice"],
            normalized_text=meta["normalized_text"], cached=True, engines_tried=[],
        )

    def put(self, key: str, encoded: Path, *, extension: str, duration_ms: int, mime: str, engine: str,
            voice: str, normalized_text: str, engines_tried: list[tuple[str, str]]) -> SpeechResult:
        """Move `encoded` into the cache under `key` and record its metadata (audio first, then JSON)."""
        data = encoded.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        final = self.directory / f"{key}{extension}"
        with open(encoded, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(encoded, final)
        meta = {
            "file": final.name, "sha256": digest, "size": len(data), "duration_ms": duration_ms,
            "mime": mime, "engine": engine, "voice": voice, "normalized_text": normalized_text,
            "engines_tried": engines_tried, "created_at": time.time(),
        }
        blob = json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")
        atomic_write_bytes(self.directory / f"{key}.json", blob)
        self._added(len(data) + len(blob))
        return SpeechResult(
            path=final, sha256=digest, size=len(data), duration_ms=duration_ms, mime=mime, engine=engine,
            voice=voice, normalized_text=normalized_text, cached=False, engines_tried=list(engines_tried),
        )
