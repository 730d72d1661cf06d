"""Content-addressed cache of encoded speech: <key>.<ext> plus <key>.json, both written atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Bump when normalisation or processing changes what the same inputs sound like.
CACHE_VERSION = 1
_STALE_WORK_S = 3600


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

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sweep()

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
        atomic_write_bytes(self.directory / f"{key}.json",
                           json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
        return SpeechResult(
            path=final, sha256=digest, size=len(data), duration_ms=duration_ms, mime=mime, engine=engine,
            voice=voice, normalized_text=normalized_text, cached=False, engines_tried=list(engines_tried),
        )
