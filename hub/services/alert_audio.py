"""The emergency's audio as it rides inside its alert: a compact Opus copy of the bulletin's media file.

The bulletin's audio (TTS at 48 kbit/s MP3, or an upload) stays what devices download by URL and what every
programme names. The alert carries instead an Ogg/Opus copy made for speech (mono, 15 kbit/s constant,
"voip": wideband speech), about a third of the MP3's bytes, so the same fan-out to every device of a
province moves a third of the bytes. The alert's body names it (AlertBody.alert_audio: sha256, size, mime)
so an agent checks the attachment against the signed hash; an agent of a release before this one finds no
attachment under its MP3's hash and downloads the MP3 as it always did (docs/PROTOCOL.md, "Attachments").

The copy is made once per media file (ffmpeg's libopus, Debian's ffmpeg), cached in <data_dir>/alert-audio/
by the source's hash (like the speech cache, not backed up: it can be made again) and stored in the media
store by its own hash (so /media/<its sha256> serves it to an
agent that lost it), made ahead when an emergency is submitted (warm) so that approving it does not wait
for ffmpeg, and on demand otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from protocol.messages import MediaRef

log = logging.getLogger(__name__)

COMPACT_MIME = "audio/ogg"
COMPACT_BITRATE = "15k"
# Constant bitrate keeps the size predictable (duration x 15 kbit/s + Ogg pages, ~1.9 KB/s); 20 ms frames
# and "voip" keep speech wideband (8 kHz audio band, more than the 22.05 kHz TTS needs for speech).
OPUS_ARGS = (
    "-ac", "1", "-c:a", "libopus", "-application", "voip", "-vbr", "off", "-b:a", COMPACT_BITRATE,
    "-frame_duration", "20", "-compression_level", "5", "-map_metadata", "-1", "-f", "ogg",
)  # fmt: skip
TRANSCODE_TIMEOUT_S = 60.0
_BYTES_PER_S = 15_000 / 8 * 1.05  # the bitrate and ~5 % of Ogg pages, headers (the estimate before making it)


def estimated_size(duration_ms: int) -> int:
    """About the bytes of the Opus copy of `duration_ms` of audio (a little over: the pages' overhead)."""
    return int(duration_ms / 1000 * _BYTES_PER_S) + 1024


class AlertAudio:
    """Compact copies of media files, by the source's sha256. Thread-safe; one transcode per file at once."""

    def __init__(self, cache_dir: Path, path_for: Callable[[str], Path], ffmpeg: str = "ffmpeg") -> None:
        self.dir = cache_dir
        self.path_for = path_for
        self.ffmpeg = ffmpeg
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nguon-opus")

    def path(self, source_sha256: str) -> Path:
        return self.dir / f"{source_sha256}.opus{COMPACT_BITRATE}.ogg"

    def for_alert(self, source: MediaRef) -> tuple[MediaRef, bytes] | None:
        """The Opus copy of the media file `source` and its bytes (made now if it was not yet), or None when
        it is not audio ffmpeg can read or the copy is not smaller (the source is then attached as before)."""
        if not source.mime.startswith("audio/"):
            return None
        data = self.compact(self.path_for(source.sha256), source.sha256)
        if data is None:
            return None
        sha = hashlib.sha256(data).hexdigest()
        stored = self.path_for(sha)
        if not stored.exists():  # served by /media/<sha256> like any media file
            stored.parent.mkdir(parents=True, exist_ok=True)
            # written in the cache dir, renamed into place: a backup (media/??/*) never sees it half-written
            tmp = self.dir / f"{sha}.{threading.get_ident()}.part"
            shutil.copyfile(self.path(source.sha256), tmp)
            os.replace(tmp, stored)
        ref = MediaRef(sha, len(data), f"/media/{sha}", COMPACT_MIME, source.duration_ms)
        return ref, data

    def compact(self, source: Path, source_sha256: str) -> bytes | None:
        """The Opus copy of `source` (made now if it was not yet), or None when ffmpeg cannot make it or it is
        not smaller than the source."""
        target = self.path(source_sha256)
        try:
            source_size = source.stat().st_size
        except OSError as exc:
            log.error("no opus copy of %s: %s", source.name, exc)
            return None
        with self._guard:
            lock = self._locks.setdefault(source_sha256, threading.Lock())
        with lock:
            if not target.exists() and not self._transcode(source, target):
                return None
        try:
            data = target.read_bytes()
        except OSError as exc:
            log.error("compact audio %s unreadable: %s", target.name, exc)
            return None
        if not data or len(data) >= source_size:
            return None
        return data

    def warm(self, source: Path, source_sha256: str) -> None:
        """Make the copy in the background (an emergency was submitted: its approval will want it)."""
        if not self.path(source_sha256).exists():
            self._pool.submit(self.compact, source, source_sha256)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _transcode(self, source: Path, target: Path) -> bool:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.part")
        cmd = [self.ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(source), "-vn", *OPUS_ARGS, str(tmp)]
        try:
            out = subprocess.run(cmd, capture_output=True, timeout=TRANSCODE_TIMEOUT_S, check=False)
            if out.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
                why = out.stderr.decode(errors="replace")[-300:]
                log.error("opus copy of %s failed: %s", source.name, why)
                return False
            os.replace(tmp, target)
            return True
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.error("opus copy of %s failed: %s", source.name, exc)
            return False
        finally:
            tmp.unlink(missing_ok=True)
