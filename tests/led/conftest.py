"""LED fixtures: test media made with ffmpeg (content-addressed like the agent's cache) and board settings."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .helpers import WINDOWS

VTT = """WEBVTT

00:00:00.000 --> 00:00:30.000
Phụ đề: Đường ngập nước, xin đi vòng
"""


@dataclass
class Settings:
    width: int = 192
    height: int = 96
    http_host: str = "127.0.0.1"
    http_port: int = 0
    standby: str = "clock"
    windows: list[str] = field(default_factory=lambda: list(WINDOWS))


@dataclass(frozen=True)
class Media:
    dir: Path
    png: str  # sha256 of a 800x600 PNG
    webm: str  # 2 s 320x180 VP8 with no audio
    vtt: str


def _store(media_dir: Path, path: Path) -> str:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    shutil.copyfile(path, media_dir / sha)
    return sha


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    work = tmp_path_factory.mktemp("led-src")
    media_dir = tmp_path_factory.mktemp("led-data") / "media"
    media_dir.mkdir()
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=800x600:rate=1", "-frames:v", "1", str(work / "a.png"))
    _ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=320x180:rate=15:duration=2",
        "-c:v",
        "libvpx",
        "-b:v",
        "200k",
        "-deadline",
        "realtime",
        str(work / "v.webm"),
    )
    (work / "s.vtt").write_text(VTT, encoding="utf-8")
    return Media(
        media_dir,
        _store(media_dir, work / "a.png"),
        _store(media_dir, work / "v.webm"),
        _store(media_dir, work / "s.vtt"),
    )
