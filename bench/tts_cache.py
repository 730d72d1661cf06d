"""Benchmark the bounded speech cache (tts/cache.py): a full cache of N entries (a 2 GB cache of 1-2 minute
MP3 bulletins at 48 kb/s holds 3,000-6,000; of short ones up to ~20,000), one eviction pass over it, a put
that starts one (in the background), and hits (each touches the entry's JSON for the LRU order).

Prints one JSON line. Targets: a hit stays < 10 ms (bench/tts.py); an eviction pass, paid once per
10 % of the limit written, well under a second.
Usage: PYTHONPATH=. .venv/bin/python bench/tts_cache.py [--entries 20000] [--audio-bytes 2000]
(entries are small files: the pass's cost is per entry, not per byte.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# bench/tts.py would shadow the tts package: the repository root in place of this folder on the path
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from tts.cache import SpeechCache, SpeechResult  # noqa: E402


def _put(cache: SpeechCache, key: str, data: bytes) -> SpeechResult:
    with cache.work_dir() as work:
        encoded = Path(work) / "encoded.mp3"
        encoded.write_bytes(data)
        return cache.put(key, encoded, extension=".mp3", duration_ms=60000, mime="audio/mpeg",
                         engine="espeak-ng", voice="vi", normalized_text="x", engines_tried=[])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=20000)
    ap.add_argument("--audio-bytes", type=int, default=2000)
    args = ap.parse_args()
    data = os.urandom(args.audio_bytes)
    with tempfile.TemporaryDirectory() as root:
        cache = SpeechCache(Path(root) / "c", max_bytes=1 << 62, keep_recent_s=0)
        t = time.perf_counter()
        for i in range(args.entries):
            _put(cache, f"{i:064x}", data)
        fill_s = time.perf_counter() - t
        past = time.time() - 86400
        for i, meta in enumerate(sorted(cache.directory.glob("*.json"))):
            os.utime(meta, (past + i, past + i))  # distinct last uses, oldest first
        size = cache.size()
        t = time.perf_counter()
        cold = SpeechCache(cache.directory, max_bytes=int(size * 0.95), keep_recent_s=0)  # a hub starting
        start_scan_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        gone = cold.evict()
        evict_ms = (time.perf_counter() - t) * 1000
        keys = [f"{i:064x}" for i in range(args.entries - 200, args.entries)]
        hits = []
        for key in keys:
            t = time.perf_counter()
            assert cold.get(key) is not None
            hits.append((time.perf_counter() - t) * 1000)
        cold.max_bytes = int(cold.size() * 0.99)
        t = time.perf_counter()
        _put(cold, "f" * 64, data * 50)  # past the limit: this put starts a pass in the background
        put_evicting_ms = (time.perf_counter() - t) * 1000
        cold.wait_evicted()
        background_pass_ms = (time.perf_counter() - t) * 1000
        print(json.dumps({
            "entries": args.entries, "fill_s": round(fill_s, 2), "start_scan_ms": round(start_scan_ms, 1),
            "evict_pass_ms": round(evict_ms, 1), "evicted": len(gone),
            "put_starting_a_pass_ms": round(put_evicting_ms, 1),
            "background_pass_done_ms": round(background_pass_ms, 1),
            "hit_ms_median": round(statistics.median(hits), 3), "hit_ms_max": round(max(hits), 3),
            "load": os.getloadavg()[0],
        }))


if __name__ == "__main__":
    main()
