"""Helpers for tests that decode and measure real audio with ffmpeg."""

import re
import subprocess
from pathlib import Path

import pytest

from tts import Synthesizer, TtsSettings


def measure(path: Path) -> tuple[float, float]:
    """(integrated loudness LUFS, decoded duration s) of a file, measured independently by ffmpeg."""
    proc = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=framelog=40",
         "-f", "null", "-"], capture_output=True, text=True, timeout=60, check=True)
    lufs = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", proc.stderr)[-1])
    times = re.findall(r"time=(\d+):(\d+):([\d.]+)", proc.stderr)
    h, m, s = times[-1]
    return lufs, int(h) * 3600 + int(m) * 60 + float(s)


@pytest.fixture
def make_synth(tmp_path: Path):
    def make(**kwargs: object) -> Synthesizer:
        return Synthesizer(TtsSettings(**kwargs), tmp_path / "cache")  # type: ignore[arg-type]

    return make
