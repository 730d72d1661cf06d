"""Benchmark tts: a 1,500-character bulletin through normalise + synthesise + encode, and a cache hit.

Prints one JSON line. Targets: whole path < 2 s, cache hit < 10 ms.
Usage: .venv/bin/python bench/tts.py [--format mp3|opus|wav] [--runs N]
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
