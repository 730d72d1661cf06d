"""Health checks for audio output: did the player die, did the output go silent."""

from __future__ import annotations

import array
import sys
import wave
from pathlib import Path

# A 16-bit peak below this (about -50 dBFS) counts as silence: dead feed, muted source, empty file.
SILENCE_PEAK = 100


def wav_peak(path: Path) -> int:
    """Largest absolute 16-bit sample value of a PCM WAV file (0 for an empty file)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path} is not 16-bit PCM")
        frames = wav.readframes(wav.getnframes())
    samples = array.array("h")
    samples.frombytes(frames[: len(frames) - len(frames) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    return max((abs(s) for s in samples), default=0)


def is_silent(path: Path, *, threshold: int = SILENCE_PEAK) -> bool:
    return wav_peak(path) < threshold


def alsa_playback_running(proc_asound: Path = Path("/proc/asound")) -> bool | None:
    """True if any ALSA playback substream is RUNNING, False if none is, None if ALSA is not visible."""
    if not proc_asound.is_dir():
        return None
    statuses = list(proc_asound.glob("card*/pcm*p/sub*/status"))
    if not statuses:
        return None
    for status in statuses:
        try:
            if "state: RUNNING" in status.read_text():
                return True
        except OSError:
            continue
    return False
