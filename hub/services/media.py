"""Media store: uploads checked with ffprobe, stored by sha256 (file first, atomically; row after)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hub.config import MediaConfig
from hub.errors import Invalid, NotFound
from hub.models import Media
from hub.roles import Actor
from hub.services.alert_audio import AlertAudio
from hub.services.base import Context, require
from hub.services.webvtt import check_webvtt
from protocol.vocabulary import DEVICE_KINDS

if TYPE_CHECKING:
    from tts import SpeechResult

FFPROBE_TIMEOUT_S = 20
DECODE_TIMEOUT_S = 300  # decoding an hour of MP3 takes seconds; a long 1080p video on a slow hub, minutes
IMAGE_FORMATS = {"png_pipe": "image/png", "jpeg_pipe": "image/jpeg", "webp_pipe": "image/webp"}
AUDIO_MIME = {
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "flac": "audio/flac",
    "matroska,webm": "audio/webm",
    "mov,mp4,m4a,3gp,3g2,mj2": "audio/mp4",
    "aac": "audio/aac",
}
MP4, WEBM = "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
# What the LED board's browser (Chromium) plays: container -> (video codecs, audio codecs).
VIDEO_CODECS = {
    MP4: ({"h264", "av1", "vp9"}, {"aac", "mp3", "opus"}),
    WEBM: ({"vp8", "vp9", "av1"}, {"opus", "vorbis"}),
}
KIND_VI = {"audio": "âm thanh", "image": "hình ảnh", "video": "video", "subtitles": "phụ đề"}
VIDEO_HINT = "Video chỉ nhận MP4 (H.264) hoặc WebM (VP8/VP9/AV1)"


@dataclass(frozen=True)
class Probe:
    kind: str  # audio | image | video | subtitles
    mime: str
    duration_ms: int
    width: int | None = None
    height: int | None = None


def media_dict(m: Media) -> dict[str, Any]:
    return {
        "sha256": m.sha256,
        "mime": m.mime,
        "kind": m.kind,
        "size": m.size,
        "duration_ms": m.duration_ms,
        "width": m.width,
        "height": m.height,
        "url": f"/media/{m.sha256}",
        "original_name": m.original_name,
    }


def _bad(message: str) -> Invalid:
    return Invalid(message, field="file", code="bad_media")


def _ffprobe(path: Path) -> dict[str, Any]:
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
            capture_output=True,
            timeout=FFPROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _bad("Không đọc được tệp (ffprobe quá thời gian).") from None
    try:
        return json.loads(out.stdout or b"{}") if out.returncode == 0 else {}
    except json.JSONDecodeError:
        return {}


def _decode(path: Path) -> tuple[int, str]:
    """Decode every audio and video frame (to nothing): the decoded length in ms and ffmpeg's first error.

    ffprobe reads headers only: an MP3 cut to its first 2 KB still announces the whole file's duration,
    a WAV its header's. Only decoding shows what will actually play."""
    try:
        out = subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-v",
                "error",
                "-i",
                str(path),
                "-map",
                "0:a?",
                "-map",
                "0:v?",
                "-f",
                "null",
                "-progress",
                "pipe:1",
                "-nostats",
                "-",
            ],
            capture_output=True,
            timeout=DECODE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _bad(
            f"Không giải mã hết được tệp trong {DECODE_TIMEOUT_S} giây; hãy dùng tệp ngắn hơn."
        ) from None
    decoded_us = 0
    for line in out.stdout.decode("ascii", "replace").splitlines():
        key, _, value = line.partition("=")
        if key == "out_time_us" and value.strip().lstrip("-").isdigit():
            decoded_us = max(decoded_us, int(value))
    errors = out.stderr.decode("utf-8", "replace").strip().splitlines()
    if errors:  # "[mp3float @ 0x55d0c8] Header missing" -> "Header missing"
        return decoded_us // 1000, re.sub(r"^\[[^\]]*\]\s*", "", errors[0])[:200]
    return decoded_us // 1000, f"ffmpeg exit {out.returncode}" if out.returncode else ""


def _check_decoded(path: Path, kind: str, announced_ms: int) -> int:
    """The real duration of a file that decodes whole; bad_media if it is broken or cut short."""
    decoded_ms, error = _decode(path)
    if error:
        raise _bad(
            f"Tệp {KIND_VI[kind]} bị hỏng, không giải mã trọn được ({error}); hãy xuất lại tệp từ bản gốc."
        )
    if kind != "image" and decoded_ms < announced_ms * 0.9 - 500:
        raise _bad(
            f"Tệp {KIND_VI[kind]} bị cắt: đầu tệp ghi {announced_ms / 1000:.1f} giây nhưng chỉ giải mã được "
            f"{decoded_ms / 1000:.1f} giây; hãy tải lên tệp đầy đủ."
        )
    return decoded_ms


def _image(v: dict[str, Any], fmt_name: str, limits: MediaConfig) -> Probe:
    if fmt_name not in IMAGE_FORMATS:
        raise _bad("Ảnh chỉ nhận PNG, JPEG hoặc WebP; hãy lưu ảnh sang một trong các dạng đó.")
    w, h = int(v.get("width") or 0), int(v.get("height") or 0)
    if max(w, h) > limits.max_image_px:
        raise _bad(f"Ảnh {w}x{h} quá lớn (tối đa {limits.max_image_px} điểm mỗi chiều); hãy thu nhỏ.")
    return Probe("image", IMAGE_FORMATS[fmt_name], 0, w, h)


def _video(
    v: dict[str, Any], audio: list[dict[str, Any]], fmt: dict[str, Any], duration_ms: int, limits: MediaConfig
) -> Probe:
    fmt_name = fmt.get("format_name", "")
    if fmt_name == MP4 and (fmt.get("tags") or {}).get("major_brand", "").strip() == "qt":
        raise _bad(f"Tệp QuickTime (.mov) không phát được trên bảng tin. {VIDEO_HINT}.")
    if fmt_name not in VIDEO_CODECS:
        raise _bad(f"{VIDEO_HINT}; tệp này là '{fmt_name or 'không rõ'}'.")
    vcodecs, acodecs = VIDEO_CODECS[fmt_name]
    if v.get("codec_name") not in vcodecs or any(a.get("codec_name") not in acodecs for a in audio):
        raise _bad(f"{VIDEO_HINT}; mã hóa '{v.get('codec_name')}' không dùng được trong tệp này.")
    w, h = int(v.get("width") or 0), int(v.get("height") or 0)
    if w > limits.max_video_width or h > limits.max_video_height:
        raise _bad(
            f"Video {w}x{h} vượt quá {limits.max_video_width}x{limits.max_video_height}; hãy thu nhỏ "
            "(bảng tin lớn nhất 1920x384)."
        )
    if duration_ms <= 0:
        raise _bad("Video không có thời lượng.")
    if duration_ms > limits.max_video_s * 1000:
        raise _bad(
            f"Video dài {duration_ms // 1000} giây, quá {limits.max_video_s} giây cho phép; hãy cắt ngắn."
        )
    return Probe("video", "video/webm" if fmt_name == WEBM else "video/mp4", duration_ms, w, h)


def _looks_like_subtitles(head: bytes) -> bool:
    """WEBVTT header, or text with cue arrows (an .srt sent by mistake: check_webvtt says what to fix)."""
    if head.removeprefix(b"\xef\xbb\xbf").startswith(b"WEBVTT"):
        return True
    if b"-->" not in head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3  # only a character cut at the 4 KB boundary
    return True


def probe(path: Path, limits: MediaConfig | None = None) -> Probe:
    """What the file is (audio, PNG/JPEG/WebP image, MP4/WebM video, WebVTT); Invalid saying what to fix."""
    limits = limits or MediaConfig()
    with path.open("rb") as fh:
        head = fh.read(4096)
    if _looks_like_subtitles(head):
        check_webvtt(path.read_bytes(), max_bytes=limits.max_subtitles_kb * 1024)
        return Probe("subtitles", "text/vtt", 0)
    info = _ffprobe(path)
    fmt = info.get("format") or {}
    fmt_name = fmt.get("format_name", "")
    # cover art inside an MP3 shows up as a video stream; it is not a video
    streams = [s for s in info.get("streams") or [] if not (s.get("disposition") or {}).get("attached_pic")]
    video = [s for s in streams if s.get("codec_type") == "video"]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not video and not audio:
        raise _bad("Tệp không phải âm thanh, hình ảnh hay video mà hệ thống đọc được.")
    try:
        duration_ms = int(float(fmt.get("duration") or 0) * 1000)
    except ValueError:
        duration_ms = 0
    if video:
        if fmt_name.endswith("_pipe") or fmt_name in ("image2", "gif", "bmp"):
            image = _image(video[0], fmt_name, limits)
            _check_decoded(path, "image", 0)
            return image
        checked = _video(video[0], audio, fmt, duration_ms, limits)
        return replace(checked, duration_ms=_check_decoded(path, "video", duration_ms))
    if duration_ms <= 0 and ("matroska" in fmt_name or fmt_name == "ogg"):
        # a browser's recording (MediaRecorder) is written as it is made: no duration in its header, so
        # decoding says how long it is
        duration_ms = _check_decoded(path, "audio", 0)
    if duration_ms <= 0:
        raise _bad("Tệp âm thanh không có thời lượng.")
    if duration_ms > limits.max_audio_s * 1000:
        raise _bad(f"Tệp âm thanh dài quá {limits.max_audio_s // 60} phút; hãy cắt ngắn.")
    mime = AUDIO_MIME.get(fmt_name) or ("audio/wav" if "wav" in fmt_name else "audio/mpeg")
    # the decoded length is the one that plays (a VBR MP3 without a header may announce less)
    return Probe("audio", mime, _check_decoded(path, "audio", duration_ms))


class MediaService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.dir = ctx.config.media_dir
        # the Opus copies that ride in alerts (hub/services/alert_audio.py)
        self.alert_audio = AlertAudio(
            ctx.config.data_dir / "alert-audio", self.path_for, ctx.config.tts.ffmpeg_binary
        )

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

    def upload(
        self,
        actor: Actor,
        data: bytes,
        *,
        filename: str = "",
        declared_mime: str = "",
        purpose: str | None = None,
    ) -> dict[str, Any]:
        """Check, store and register an uploaded file; the same content twice is stored once.

        `purpose` "radio" accepts audio only (loudspeakers play sound); "led" anything a board shows.
        """
        require(actor, "media.upload", filename)
        if purpose not in (None, *DEVICE_KINDS):
            raise Invalid("Tham số 'for' là 'radio' hoặc 'led'.", field="for")
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
            info = probe(tmp, self.ctx.config.media)
            if purpose == "radio" and info.kind != "audio":
                raise _bad(
                    f"Loa truyền thanh chỉ phát âm thanh; tệp này là {KIND_VI[info.kind]}. "
                    "Hình ảnh, video và phụ đề chỉ dùng cho bảng tin điện tử (LED)."
                )
            sha = hashlib.sha256(data).hexdigest()
            return self._register(actor, tmp, sha, size=len(data), info=info, name=filename)
        finally:
            tmp.unlink(missing_ok=True)

    def store_speech(self, sess: Session, actor: Actor, result: SpeechResult) -> Media:
        """Copy a tts SpeechResult into the store (file first); add its row to `sess` (same transaction)."""
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
            row = Media(
                sha256=result.sha256,
                mime=result.mime,
                kind="audio",
                size=result.size,
                duration_ms=int(result.duration_ms),
                width=None,
                height=None,
                path=str(dest),
                original_name=f"speech-{result.engine}",
                created_by=actor.user_id,
                created_at=self.ctx.now(),
            )
            sess.add(row)
            sess.flush()
        return row

    def _register(
        self, actor: Actor, tmp: Path, sha: str, *, size: int, info: Probe, name: str
    ) -> dict[str, Any]:
        dest = self._store_file(tmp, sha)
        with self.ctx.tx(actor) as sess:
            row = sess.get(Media, sha)
            if row is None:
                row = Media(
                    sha256=sha,
                    mime=info.mime,
                    kind=info.kind,
                    size=size,
                    duration_ms=info.duration_ms,
                    width=info.width,
                    height=info.height,
                    path=str(dest),
                    original_name=name[:300],
                    created_by=actor.user_id,
                    created_at=self.ctx.now(),
                )
                sess.add(row)
                self.ctx.audit(sess, actor, "media.upload", sha, detail={"mime": info.mime, "size": size})
            return media_dict(row)

    def get(self, sha256: str) -> Media:
        with self.ctx.db.session() as sess:
            row = sess.get(Media, sha256)
            if row is None:
                raise NotFound(f"Không có tệp {sha256}.", field="media")
            return row
