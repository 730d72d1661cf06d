"""MediaCache against a real HTTP server: sha256 checked while writing, resume, deferred index, eviction."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from edge_agent import media as media_mod
from edge_agent.media import MediaCache, MediaError
from edge_agent.store import Store
from protocol.messages import MediaRef


def blob(n: int, seed: int) -> bytes:
    return bytes((i * seed + seed) % 251 for i in range(n))


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, dict[str, bytes], list[str]]]:
    """Serves /media/<name> from a dict, honouring Range; records each request's Range header."""
    files: dict[str, bytes] = {}
    ranges: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        data = files.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        rng = request.headers.get("Range", "")
        ranges.append(rng)
        if rng.startswith("bytes="):
            start = int(rng[6:].rstrip("-"))
            if start >= len(data):
                return web.Response(status=416)
            return web.Response(status=206, body=data[start:])
        return web.Response(body=data)

    app = web.Application()
    app.router.add_get("/media/{name}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", files, ranges
    finally:
        await runner.cleanup()


def ref_for(data: bytes, files: dict[str, bytes], name: str | None = None) -> MediaRef:
    sha = hashlib.sha256(data).hexdigest()
    files[name or sha] = data
    return MediaRef(sha, len(data), f"/media/{name or sha}", "audio/wav", 1000)


async def test_download_resume_bad_hash_deferred_index_and_eviction(
    tmp_path: Path, server: tuple[str, dict[str, bytes], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(media_mod, "TOUCH_FLUSH_S", 0.05)
    url, files, ranges = server
    store = Store(tmp_path / "a.db")
    needed: set[str] = set()
    cache = MediaCache(tmp_path / "media", store=store, hub_url=url, max_bytes=250_000, needed=lambda: needed)
    try:
        a, b, c = blob(100_000, 3), blob(100_000, 5), blob(100_000, 7)
        ra, rb, rc = ref_for(a, files), ref_for(b, files), ref_for(c, files)
        # a partial file from an earlier attempt is resumed with a Range request, and the whole is checked
        part = tmp_path / "media" / f"{ra.sha256}.part"
        part.write_bytes(a[:40_000])
        path = await cache.ensure(ra)
        assert path.read_bytes() == a and ranges[-1] == "bytes=40000-" and not part.exists()
        # the index write is deferred (the audio does not wait for it), then flushed in one commit
        assert store.media_index() == []
        await asyncio.sleep(0.2)
        assert [sha for sha, _, _ in store.media_index()] == [ra.sha256]
        # content that does not match its hash is refused and nothing stays behind
        bad = MediaRef("0" * 64, 10, f"/media/{rb.sha256}", "audio/wav", 1000)
        with pytest.raises(MediaError, match="sha256"):
            await cache.ensure(bad, attempts=1)
        assert not cache.has("0" * 64) and not list((tmp_path / "media").glob("*.part"))
        # over the limit: the least recently used goes, never one the programme needs
        needed.add(ra.sha256)
        await cache.ensure(rb)
        await cache.ensure(rc)
        await asyncio.sleep(0.2)
        assert cache.has(ra.sha256) and not cache.has(rb.sha256) and cache.has(rc.sha256)
    finally:
        await cache.aclose()
        store.close()


async def test_files_left_unindexed_by_a_kill_are_indexed_at_start(tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    data = blob(5_000, 11)
    sha = hashlib.sha256(data).hexdigest()
    (root / sha).write_bytes(data)
    (root / "notes.txt").write_text("not media")
    (root / f"{'1' * 64}.part").write_bytes(b"partial")
    os.utime(root / sha, (1_000_000, 1_000_000))
    store = Store(tmp_path / "a.db")
    cache = MediaCache(root, store=store, hub_url="http://127.0.0.1:9", max_bytes=1 << 20, needed=set)
    assert store.media_index() == [(sha, 5_000, 1_000_000.0)]
    await cache.aclose()
    store.close()


async def test_attached_audio_is_written_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """put(): a failing write (a full SD card) leaves neither the file nor a temp file; a later put works,
    and a temp file a power cut left behind is removed at the next start."""
    root = tmp_path / "media"
    store = Store(tmp_path / "a.db")
    cache = MediaCache(root, store=store, hub_url="http://127.0.0.1:9", max_bytes=1 << 20, needed=set)
    data = b"ID3" + bytes(range(256)) * 100
    sha = hashlib.sha256(data).hexdigest()

    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        cache.put(sha, data)
    assert sorted(p.name for p in root.iterdir()) == []
    monkeypatch.undo()
    cache.put(sha, data)
    assert (root / sha).read_bytes() == data and cache.has(sha)
    await cache.aclose()
    (root / f"{'2' * 64}.inline").write_bytes(b"half")
    MediaCache(root, store=store, hub_url="http://127.0.0.1:9", max_bytes=1 << 20, needed=set)
    assert sorted(p.name for p in root.iterdir()) == [sha]
    store.close()
