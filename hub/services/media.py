"""Media store: uploads checked with ffprobe, stored by sha256 (file first, atomically; row after)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import Invalid, NotFound
from hub.models import Media
from hub.roles import Actor
from hub.services.base import Context, require

FFPROBE_TIMEOUT_S = 20
MAX_AUDIO_S = 3600
MAX_VIDEO_S = 1800
MAX_IMAGE_PX = 8192
IMAGE_CODECS = {"png": "image/png", "mjpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
                "bmp": "image/bmp"}
AUDIO_MIME = {"mp3": "audio/mpeg", "ogg": "audio/ogg", "wav": "audio/wav", "flac": "audio/flac",
              "matroska,webm": "audio/webm", "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4", "aac": "audio/aac"}
VIDEO_MIME = {"mov,mp4,m4a,3gp,3g2,mj2": "video/mp4", "matroska,webm": "video/webm", "avi": "video/x-msvideo"}


@dataclass(frozen=True)
class Probe:
    kind: str  # audio | image | video | subtitles
    mime: str
    duration_ms: int
    width: int | None = None
    height: int | None = None


def media_dict(m: Media) -> dict[str, Any]:
    return {"sha256": m.sha256, "mime": m.mime, "kind": m.kind, "size": m.size, "duration_ms": m.duration_ms,
            "width": m.width, "height": m.height, "url": f"/media/{m.sha256}", "original_name": m.original_name}


def probe(path: Path) -> Probe:
    """Ask ffprobe what the file is; raise Invalid when it is not audio, an image, a video or WebVTT."""
    head = path.read_bytes()[:16]
    if head.startswith(b"WEBVTT") or head.startswith(b"\xef\xbb\xbfWEBVTT"):
        return Probe("subtitles", "text/vtt", 0)
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            capture_output=True, timeout=FFPROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise Invalid("Không đọc được tệp (ffprobe quá thời gian).", field="file", code="bad_media") from None
    info = json.loads(out.stdout or b"{}") if out.returncode == 0 else {}
    streams = info.get("streams") or []
    fmt = info.get("format") or {}
    fmt_name = fmt.get("format_name", "")
    if not streams:
        raise Invalid("Tệp không phải âm thanh, hình ảnh hay video mà hệ thống đọc được.", field="file",
                      code="bad_media")
    duration_ms = int(float(fmt.get("duration") or 0) * 1000)
    video = [s for s in streams if s.get("codec_type") == "video"]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if video:
        v = video[0]
        w, h = int(v.get("width") or 0), int(v.get("height") or 0)
        if w > MAX_IMAGE_PX or h > MAX_IMAGE_PX:
            raise Invalid(f"Độ phân giải {w}x{h} quá lớn (tối đa {MAX_IMAGE_PX} điểm mỗi chiều).", field="file")
        is_image = v.get("codec_name") in IMAGE_CODECS and (fmt_name.endswith("_pipe") or fmt_name in
                                                            ("image2", "gif", "webp_pipe", "png_pipe"))
        if is_image:
            return Probe("image", IMAGE_CODECS[v["codec_name"]], 0, w, h)
        if duration_ms <= 0:
            raise Invalid("Video không có thời lượng.", field="file", code="bad_media")
        if duration_ms > MAX_VIDEO_S * 1000:
            raise Invalid(f"Video dài quá {MAX_VIDEO_S // 60} phút.", field="file")
        return Probe("video", VIDEO_MIME.get(fmt_name, "video/mp4"), duration_ms, w, h)
    if audio:
        if duration_ms <= 0:
            raise Invalid("Tệp âm thanh không có thời lượng.", field="file", code="bad_media")
        if duration_ms > MAX_AUDIO_S * 1000:
            raise Invalid(f"Tệp âm thanh dài quá {MAX_AUDIO_S // 60} phút.", field="file")
        mime = AUDIO_MIME.get(fmt_name) or ("audio/wav" if "wav" in fmt_name else "audio/mpeg")
        return Probe("audio", mime, duration_ms)
    raise Invalid("Tệp không chứa âm thanh hay hình ảnh.", field="file", code="bad_media")


class MediaService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.dir = ctx.config.media_dir

    def path_for(self, sha256: str) -> Path:
        return self.dir / sha256[:2] / sha256

    def _store_file(self, tmp: Path, sha: str) -> Path:
        """Move a finished temp file into place atomically (rename within one file system)."""
        dest = self.path_for(sha)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            tmp.unlink(missing_ok=True)
        else:
            os.replace(tmp, dest)
        return dest

    def upload(self, actor: Actor, data: bytes, *, filename: str = "", declared_mime: str = "") -> dict[str, Any]:
        """Check, store and register an uploaded file; the same content twice is stored once."""
        require(actor, "media.upload", filename)
        if not data:
            raise Invalid("Tệp tải lên trống.", field="file")
        limit = self.ctx.config.http.max_upload_mb * 1024 * 1024
        if len(data) > limit:
            raise Invalid(f"Tệp quá lớn (tối đa {self.ctx.config.http.max_upload_mb} MB).", field="file")
        self.dir.mkdir(parents=True, exist_ok=True)
        fd, tmpname = tempfile.mkstemp(dir=self.dir, prefix=".upload-")
        tmp = Path(tmpname)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            info = probe(tmp)
            sha = hashlib.sha256(data).hexdigest()
            return self._register(actor, tmp, sha, len(data), info, filename)
        finally:
            tmp.unlink(missing_ok=True)

    def store_speech(self, sess: Any, actor: Actor, result: Any) -> Media:
        """Copy a tts SpeechResult into the store (file first) and add its row to `sess` (same transaction)."""
        dest = self.path_for(result.sha256)
        if not dest.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmpname = tempfile.mkstemp(dir=self.dir, prefix=".copy-")
            os.close(fd)
            tmp = Path(tmpname)
            try:
                shutil.copyfile(result.path, tmp)
                self._store_file(tmp, result.sha256)
            finally:
                tmp.unlink(missing_ok=True)
        row = sess.get(Media, result.sha256)
        if row is None:
            row = Media(sha256=result.sha256, mime=result.mime, kind="audio", size=result.size,
                        duration_ms=int(result.duration_ms), width=None, height=None, path=str(dest),
                        original_name=f"speech-{result.engine}", created_by=actor.user_id,
                        created_at=self.ctx.now())
            sess.add(row)
            sess.flush()
        return row

    def _register(self, actor: Actor, tmp: Path, sha: str, size: int, info: Probe, name: str) -> dict[str, Any]:
        dest = self._store_file(tmp, sha)
        with self.ctx.tx(actor) as sess:
            row = sess.get(Media, sha)
            if row is None:
                row = Media(sha256=sha, mime=info.mime, kind=info.kind, size=size, duration_ms=info.duration_ms,
                            width=info.width, height=info.height, path=str(dest), original_name=name[:300],
                            created_by=actor.user_id, created_at=self.ctx.now())
                sess.add(row)
                self.ctx.audit(sess, actor, "media.upload", sha, detail={"mime": info.mime, "size": size})
            return media_dict(row)

    def get(self, sha256: str) -> Media:
        with self.ctx.db.session() as sess:
            row = sess.get(Media, sha256)
            if row is None:
                raise NotFound(f"Không có tệp {sha256}.", field="media")
            return row
