"""Media uploads checked with ffprobe: LED images, videos, WebVTT within limits; radio audio only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hub.config import MediaConfig
from hub.errors import Invalid
from hub.models import Media
from hub.services.media import probe
from tests.hub.conftest import Hub

VTT = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nNước lên nhanh, sơ tán ngay\n\n"
    "01:02.000 --> 01:03.000 align:start\nHết\n"
)
SRT = "1\n00:00:00,000 --> 00:00:01,500\nNước lên nhanh\n"
LAVFI_V = "testsrc=size={size}:rate=10:duration={d}"


def ff(out: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(out)], check=True, timeout=60)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    sine = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    still = ["-f", "lavfi", "-i", "testsrc=size=192x96:rate=1", "-frames:v", "1"]
    out = {
        "png": ff(d / "a.png", *still),
        "jpeg": ff(d / "a.jpg", *still),
        "webp": ff(d / "a.webp", *still),
        "gif": ff(d / "a.gif", *still),
        "huge_png": ff(d / "huge.png", "-f", "lavfi", "-i", "color=c=red:size=5000x16", "-frames:v", "1"),
        "wav": ff(d / "a.wav", *sine),
        "mp4": ff(
            d / "a.mp4",
            "-f",
            "lavfi",
            "-i",
            LAVFI_V.format(size="320x96", d=2),
            *sine,
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ),
        "webm": ff(d / "a.webm", "-f", "lavfi", "-i", LAVFI_V.format(size="192x96", d=1), "-c:v", "libvpx"),
        "wide": ff(
            d / "wide.webm", "-f", "lavfi", "-i", LAVFI_V.format(size="2560x96", d=1), "-c:v", "libvpx"
        ),
        "mkv_h264": ff(
            d / "a.mkv", "-f", "lavfi", "-i", LAVFI_V.format(size="192x96", d=1), "-c:v", "libx264"
        ),
        "mov": ff(d / "a.mov", "-f", "lavfi", "-i", LAVFI_V.format(size="192x96", d=1), "-c:v", "libx264"),
    }
    out["mp3_cover"] = ff(
        d / "cover.mp3",
        *sine,
        "-i",
        str(out["png"]),
        "-map",
        "0",
        "-map",
        "1",
        "-c:a",
        "libmp3lame",
        "-c:v",
        "png",
        "-disposition:v",
        "attached_pic",
    )
    for name, text, enc in (
        ("vtt", VTT, "utf-8"),
        ("srt", SRT, "utf-8"),
        ("vtt_comma", VTT.replace("01.500", "01,500"), "utf-8"),
        (
            "vtt_backwards",
            VTT.replace("00:00:01.500", "00:00:00.000", 1).replace("00:00:00.000 -->", "00:00:02.000 -->"),
            "utf-8",
        ),
        ("vtt_latin1", VTT, "utf-16"),
    ):
        (d / name).write_bytes(text.encode(enc))
        out[name] = d / name
    (d / "junk").write_bytes(b"\x00\x01 not media --> at all" * 50)
    out["junk"] = d / "junk"
    return out


async def upload(hub: Hub, path: Path, query: str = "") -> tuple[int, dict]:  # type: ignore[type-arg]
    return await hub.call(
        "POST",
        f"/api/v1/media{query}",
        "editor67",
        data=path.read_bytes(),  # noqa: ASYNC240 - a small test file
        headers={"Content-Type": "application/octet-stream"},
    )


GOOD = [
    ("png", "image", "image/png"),
    ("jpeg", "image", "image/jpeg"),
    ("webp", "image", "image/webp"),
    ("wav", "audio", "audio/wav"),
    ("mp3_cover", "audio", "audio/mpeg"),
    ("mp4", "video", "video/mp4"),
    ("webm", "video", "video/webm"),
    ("vtt", "subtitles", "text/vtt"),
]
BAD = [
    ("gif", "PNG, JPEG hoặc WebP"),
    ("huge_png", "quá lớn"),
    ("wide", "vượt quá 1920x1080"),
    ("mkv_h264", "MP4 (H.264) hoặc WebM"),
    ("mov", "QuickTime"),
    ("srt", "dòng đầu phải là 'WEBVTT'"),
    ("vtt_comma", "dòng 3"),
    ("vtt_backwards", "kết thúc phải sau"),
    ("vtt_latin1", "không phải"),
    ("junk", "không phải"),
]


async def test_uploads_accepted_and_refused(hub: Hub, files: dict[str, Path]) -> None:
    for name, kind, mime in GOOD:
        status, m = await upload(hub, files[name])
        assert status == 201, (name, m)
        assert (m["kind"], m["mime"]) == (kind, mime), name
    status, m = await upload(hub, files["mp4"])
    assert (m["width"], m["height"]) == (320, 96) and 1800 <= m["duration_ms"] <= 2300
    rows, stored = hub.count(Media), sorted(p.name for p in hub.s.media.dir.rglob("*") if p.is_file())
    for name, words in BAD:
        status, err = await upload(hub, files[name])
        assert status == 422, (name, err)
        assert err["error"]["code"] == "bad_media" and words in err["error"]["message"], (name, err)
    # refusals leave nothing behind: no row, no file, no temp file
    assert hub.count(Media) == rows
    assert sorted(p.name for p in hub.s.media.dir.rglob("*") if p.is_file()) == stored


async def test_radio_accepts_audio_only(hub: Hub, files: dict[str, Path]) -> None:
    status, m = await upload(hub, files["wav"], "?for=radio")
    assert status == 201 and m["kind"] == "audio"
    for name in ("png", "webm", "vtt"):
        status, err = await upload(hub, files[name], "?for=radio")
        assert status == 422 and "Loa truyền thanh chỉ phát âm thanh" in err["error"]["message"], name
    status, err = await upload(hub, files["wav"], "?for=tv")
    assert status == 422 and err["error"]["field"] == "for"
    _, video = await upload(hub, files["webm"], "?for=led")
    _, subs = await upload(hub, files["vtt"], "?for=led")
    _, image = await upload(hub, files["png"], "?for=led")
    base = {"title": "Video phòng chống lũ", "priority": "normal", "targets": ["67/660"]}
    status, err = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={**base, "form": "audio", "media": image["sha256"], "kinds": ["radio"]},
    )
    assert status == 422 and err["error"]["field"] == "media"
    status, err = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={
            **base,
            "form": "image",
            "media": image["sha256"],
            "subtitles": subs["sha256"],
            "kinds": ["led"],
        },
    )
    assert status == 422 and err["error"]["field"] == "subtitles"
    status, b = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={
            **base,
            "form": "video",
            "media": video["sha256"],
            "subtitles": subs["sha256"],
            "kinds": ["led"],
        },
    )
    assert status == 201 and b["duration_ms"] > 0 and b["subtitles"] == subs["sha256"], b


def test_video_duration_limit(files: dict[str, Path]) -> None:
    assert probe(files["mp4"], MediaConfig(max_video_s=3)).kind == "video"
    with pytest.raises(Invalid, match="quá 1 giây"):
        probe(files["mp4"], MediaConfig(max_video_s=1))
