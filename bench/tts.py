"""Benchmark tts: a 1,500-character bulletin through normalise + synthesise + encode, and a cache hit.

Prints one JSON line. Targets: whole path < 2 s, cache hit < 10 ms.
Usage: .venv/bin/python bench/tts.py [--format mp3|opus|wav] [--runs N] [--piper]

--piper adds a second line: the Piper path (tts/piper.py) with the TINY voice the test suite generates
(tests/tts/tiny_voice.py, ~3 KB, a tone per phoneme id; needs the dev dependency `onnx`). It measures
nguon's own part (checking and installing the voice, loading it in onnxruntime, espeak-ng phonemes, ids,
WAV, loudness and encoding) and NOT a real voice's inference: a real Vietnamese Piper voice (~60 MB,
VITS) is not available offline here and takes far longer per second of speech.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This file is itself called tts.py: put the repository root in place of its folder on the path,
# so `import tts` finds the package rather than this script.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from tts import Synthesizer, TtsSettings, normalize  # noqa: E402

PARAGRAPH = (
    "UBND xã thông báo: theo tin của BCH PCTT&TKCN tỉnh, lúc 17h30 ngày 20/12/2024 bão số 3 đã "
    "đổ bộ vào đất liền, gió mạnh cấp 8-9, giật 90km/h, lượng mưa phổ biến 100-200mm. Đề nghị "
    "1.500 hộ dân thôn 3, thôn 4 chủ động chằng chống nhà cửa, không ra biển, theo dõi bản tin "
    "lúc 5 giờ và 17 giờ hằng ngày. Khi cần hỗ trợ gọi đường dây nóng 0236 3822 123 hoặc 114. "
)


def bulletin(chars: int = 1500) -> str:
    text = ""
    n = 0
    while len(text) < chars:
        n += 1
        text += f"Mục {n}. " + PARAGRAPH
    return text[:chars].rsplit(" ", 1)[0] + "."


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--format", default="mp3", choices=["mp3", "opus", "wav"])
    parser.add_argument("--runs", type=int, default=3, help="cold runs (each in a fresh cache)")
    parser.add_argument("--piper", action="store_true", help="also the Piper path with the tiny test voice")
    args = parser.parse_args()
    text = bulletin()
    settings = TtsSettings(audio_format=args.format)
    started = time.perf_counter()
    normalize(text)
    normalize_ms = (time.perf_counter() - started) * 1000
    totals, hits, fresh_hits = [], [], []
    result = None
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="tts-bench-") as cache:
            synth = Synthesizer(settings, Path(cache))
            started = time.perf_counter()
            result = synth.synthesize(text)
            totals.append(time.perf_counter() - started)
            for _ in range(20):
                started = time.perf_counter()
                hit = synth.synthesize(text)
                hits.append((time.perf_counter() - started) * 1000)
                assert hit.cached
            # A new Synthesizer on the same cache (a restarted hub) must normalise again first.
            for _ in range(5):
                again = Synthesizer(settings, Path(cache))
                started = time.perf_counter()
                assert again.synthesize(text).cached
                fresh_hits.append((time.perf_counter() - started) * 1000)
    assert result is not None
    total = statistics.median(totals)
    print(json.dumps({
        "bench": "tts", "chars": len(text), "format": args.format, "engine": result.engine,
        "audio_s": round(result.duration_ms / 1000, 1), "normalize_ms": round(normalize_ms, 1),
        "total_s": round(total, 3), "total_s_runs": [round(t, 3) for t in totals],
        "chars_per_s": round(len(text) / total), "cache_hit_ms": round(statistics.median(hits), 2),
        "cache_hit_ms_max": round(max(hits), 2),
        "cache_hit_new_process_ms": round(statistics.median(fresh_hits), 2),
        "target_total_s": 2.0, "target_cache_hit_ms": 10.0,
        "ok": total < 2.0 and statistics.median(hits) < 10.0,
    }, ensure_ascii=False))
    if args.piper:
        print(json.dumps(piper_path(text, args.format, args.runs), ensure_ascii=False))
    return 0


def piper_path(text: str, audio_format: str, runs: int) -> dict[str, object]:
    """The Piper path's timings with the suite's tiny voice (see the module's docstring)."""
    from tests.tts import tiny_voice  # noqa: PLC0415 - only with --piper (needs onnx)
    from tts.piper import phoneme_ids, phonemize  # noqa: PLC0415 - as above
    from tts.voices import VoiceStore  # noqa: PLC0415 - as above

    with tempfile.TemporaryDirectory(prefix="tts-bench-piper-") as tmp:
        root = Path(tmp)
        model = tiny_voice.write(root / "src")
        store = VoiceStore(root / "voices")
        started = time.perf_counter()
        info = store.add(model)
        add_s = time.perf_counter() - started
        settings = TtsSettings(audio_format=audio_format, voices_dir=store.directory)
        firsts, warms = [], []
        result = None
        for run in range(runs):
            synth = Synthesizer(settings, root / f"cache-{run}")
            started = time.perf_counter()
            result = synth.synthesize(text, neural_voice=info.id)  # loads the model, then speaks
            firsts.append(time.perf_counter() - started)
            started = time.perf_counter()
            synth.synthesize(text + " Hết.", neural_voice=info.id)  # model loaded, cache cold
            warms.append(time.perf_counter() - started)
        assert result is not None and result.engine == "piper", result
        spoken = Synthesizer(settings, root / "cache-0").normalize(text)
        started = time.perf_counter()
        clauses = phonemize(spoken, "vi", binary="espeak-ng", timeout=60)
        phonemize_ms = (time.perf_counter() - started) * 1000
        voice = store.load(info.id)
        ids = [phoneme_ids(c, voice.config.phoneme_id_map) for c in clauses]
        started = time.perf_counter()
        for one in ids:
            voice.audio(one)
        inference_ms = (time.perf_counter() - started) * 1000
    return {
        "bench": "tts-piper", "model": "tiny generated test voice (~3 KB), not a real voice",
        "model_bytes": info.model_bytes, "chars": len(text), "format": audio_format,
        "audio_s": round(result.duration_ms / 1000, 1), "voice_add_s": round(add_s, 3),
        "first_s": round(statistics.median(firsts), 3), "loaded_s": round(statistics.median(warms), 3),
        "phonemize_ms": round(phonemize_ms, 1), "clauses": len(clauses),
        "inference_ms": round(inference_ms, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
