"""The speech cache is bounded (tts/cache.py): past its limit the least recently used entries go, one used
recently stays, and writers in several threads and processes never leave an entry whose audio does not
match its metadata."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from tts.cache import SpeechCache, SpeechResult

AUDIO = 4000


def put(cache: SpeechCache, key: str, fill: bytes = b"a", size: int = AUDIO) -> SpeechResult:
    with cache.work_dir() as work:
        encoded = Path(work) / "encoded.mp3"
        encoded.write_bytes(fill * size)
        return cache.put(key, encoded, extension=".mp3", duration_ms=1000, mime="audio/mpeg",
                         engine="espeak-ng", voice="vi", normalized_text=key, engines_tried=[])


def used(cache: SpeechCache, key: str, ago_s: float) -> None:
    """As if `key` was written and last used `ago_s` ago."""
    when = time.time() - ago_s
    for path in cache.directory.glob(f"{key}.*"):
        os.utime(path, (when, when))


def test_past_the_limit_the_least_recently_used_go_and_a_recent_hit_stays(tmp_path: Path) -> None:
    probe = SpeechCache(tmp_path / "probe")
    put(probe, "p")
    entry = probe.size()  # audio + its JSON
    cache = SpeechCache(tmp_path / "c", max_bytes=int(entry * 3.5), keep_recent_s=0, background=False)
    for i, key in enumerate("abc"):
        put(cache, key)
        used(cache, key, 300 - 100 * i)  # a oldest, then b, then c
    assert cache.get("a") is not None  # a hit: a is now the most recently used
    put(cache, "d")  # four entries: past the limit, back under 90 % of it
    assert cache.get("b") is None and not list(cache.directory.glob("b.*"))
    assert all(cache.get(k) is not None for k in "acd")
    assert cache.size() <= cache.max_bytes
    for i, key in enumerate("acd"):
        used(cache, key, 300 - 100 * i)
    put(cache, "e")
    assert cache.get("a") is None and all(cache.get(k) is not None for k in "cde")


def test_an_entry_used_within_keep_recent_is_never_evicted(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path / "c", max_bytes=AUDIO, keep_recent_s=600, background=False)
    put(cache, "old")
    used(cache, "old", 3600)
    for key in ("x", "y", "z"):
        put(cache, key)  # the caller may still be copying these: kept although past the limit
    assert cache.get("old") is None
    assert all(cache.get(k) is not None for k in "xyz") and cache.size() > cache.max_bytes


def test_concurrent_writers_in_two_processes_keep_every_entry_whole(tmp_path: Path) -> None:
    shared = tmp_path / "c"
    # two SpeechCache objects on one directory are two hub processes (each its own count and lock handle)
    # passes in the background, as in the hub
    caches = [SpeechCache(shared, max_bytes=12 * (AUDIO + 600), keep_recent_s=0) for _ in range(2)]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            cache = caches[n % 2]
            for i in range(25):
                key = f"w{n}-{i % 15}"  # writers meet on the same keys too
                put(cache, key, fill=bytes([65 + n]), size=AUDIO + 97 * i)
                hit = cache.get(f"w{(n + 1) % 4}-{i % 15}")
                if hit is not None:  # the metadata of one of that writer's puts, never a mix
                    assert (hit.size - AUDIO) % 97 == 0 and hit.normalized_text == hit.path.stem
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for cache in caches:
        cache.wait_evicted()
    assert len(list(shared.glob("*.json"))) < 4 * 15  # the passes ran
    caches[0].evict()
    assert caches[0].size() <= caches[0].max_bytes
    left = [p.stem for p in shared.glob("*.json")]
    assert not list(shared.glob(".tmp-*")) and not list(shared.glob(".work-*"))
    # keep_recent_s=0 lets a pass delete what a put had just written: such an entry is a miss (spoken
    # again), never audio that does not match its metadata
    hits = [h for h in map(caches[1].get, left) if h is not None]
    assert len(hits) >= len(left) - 4, (len(hits), len(left))
    for hit in hits:
        data = hit.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == hit.sha256 and len(data) == hit.size
