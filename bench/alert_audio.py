"""Bench: the emergency's audio in the alert, MP3 (the bulletin's file) vs its Opus copy (what rides along).

For each demo text (hub/demo.py's samples and bench/tts.py's storm bulletin) the hub's TTS path makes the
MP3 (48 kbit/s) and, with the same settings, a WAV (the reference: the same speech before any lossy codec);
the hub's transcoder (hub/services/alert_audio.py) makes the Opus copy from the MP3, as it does for an alert.
Reported per text: bytes and the ratio, durations (ffprobe), integrated loudness (EBU R128), and STOI (Short-
Time Objective Intelligibility, 0..1, Taal et al. 2011) of each codec's decoding against the WAV, when the
`pystoi` package is importable (it is not a dependency of the project: `pip install pystoi` in a scratch
venv with --system-site-packages to get it; without it, stoi is null). No speech recogniser for Vietnamese
runs offline from PyPI without downloading a model, so STOI stands in for "the same intelligibility".
Prints ONE JSON line.

    .venv/bin/python bench/alert_audio.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from hub.demo import SAMPLES
from hub.services.alert_audio import COMPACT_BITRATE, AlertAudio
from tts import Synthesizer, TtsSettings
from tts.audio import _loudness, duration_ms

RATE = 16_000  # STOI works at 10 kHz internally; 16 kHz keeps the whole speech band of both codecs
STORM = (
    "Tin khẩn cấp. Bão số 3 đã đổ bộ vào đất liền, gió mạnh cấp 8 đến 9, giật cấp 11. Đề nghị người dân "
    "thôn 3, thôn 4 chủ động chằng chống nhà cửa, không ra biển, di dời đến nơi an toàn ngay."
)


def decode(path: Path) -> np.ndarray:
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-ac", "1", "-ar", str(RATE),
         "-f", "f32le", "-"],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    return np.frombuffer(out.stdout, dtype=np.float32).astype(np.float64)


def loudness(path: Path) -> float:
    out = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-af", "ebur128=framelog=40",
         "-f", "null", "-"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return round(_loudness(out.stderr), 2)


def aligned(ref: np.ndarray, sig: np.ndarray) -> np.ndarray:
    """`sig` shifted onto `ref` (codec delay: MP3's encoder padding, Opus's pre-skip), same length."""
    n = min(len(ref), len(sig), RATE * 4)
    corr = np.correlate(sig[: n + 800], ref[:n], mode="valid")  # lags 0..800 samples (50 ms) of delay
    lag = int(np.argmax(corr)) if len(corr) else 0
    out = sig[lag:]
    out = np.pad(out, (0, max(0, len(ref) - len(out))))[: len(ref)]
    return out


def stoi_of(ref: np.ndarray, sig: np.ndarray) -> float | None:
    try:
        from pystoi import stoi  # type: ignore[import-not-found]  # noqa: PLC0415
    except ImportError:
        return None
    return round(float(stoi(ref, aligned(ref, sig), RATE, extended=False)), 4)


def main() -> int:
    texts = {f"demo-{i + 1}": str(s["text"]) for i, s in enumerate(SAMPLES)}
    texts["storm"] = STORM
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="alert-audio-") as tmp:
        root = Path(tmp)
        mp3_tts = Synthesizer(TtsSettings(), root / "mp3")
        wav_tts = Synthesizer(TtsSettings(audio_format="wav"), root / "wav")
        store = root / "media"
        copies = AlertAudio(store.parent / "alert-audio", lambda sha: store / sha[:2] / sha)
        settings = TtsSettings()
        for name, text in texts.items():
            mp3, wav = mp3_tts.synthesize(text), wav_tts.synthesize(text)
            data = copies.compact(mp3.path, mp3.sha256)
            assert data is not None, "ffmpeg could not make the Opus copy"
            opus = copies.path(mp3.sha256)
            ref = decode(wav.path)
            rows.append({
                "text": name,
                "chars": len(text),
                "mp3_bytes": mp3.size,
                "opus_bytes": len(data),
                "ratio": round(mp3.size / len(data), 2),
                "duration_ms": {"mp3": duration_ms(mp3.path, settings), "opus": duration_ms(opus, settings),
                                "wav": duration_ms(wav.path, settings)},
                "lufs": {"mp3": loudness(mp3.path), "opus": loudness(opus)},
                "stoi_vs_wav": {"mp3": stoi_of(ref, decode(mp3.path)), "opus": stoi_of(ref, decode(opus))},
            })  # fmt: skip
    total_mp3 = sum(r["mp3_bytes"] for r in rows)
    total_opus = sum(r["opus_bytes"] for r in rows)
    print(json.dumps({
        "bench": "alert_audio",
        "opus": f"libopus mono {COMPACT_BITRATE} CBR voip, Ogg",
        "mp3": f"libmp3lame mono {settings.bitrate}",
        "texts": rows,
        "total_mp3_bytes": total_mp3,
        "total_opus_bytes": total_opus,
        "min_ratio": min(r["ratio"] for r in rows),
        "overall_ratio": round(total_mp3 / total_opus, 2),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }, ensure_ascii=False))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
