"""JSON throughput of the hub API with SQLite: reading a programme and submitting bulletins.

    .venv/bin/python bench/api.py [--reads 500] [--submits 40] [--concurrency 8]

Starts a real hub (HTTP on 127.0.0.1, SQLite WAL in a temp dir, no broker: publishing is recorded)
and prints one JSON line. Submitted text bulletins are spoken by espeak-ng (distinct texts, no cache hits).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.app import HubRuntime
from hub.config import build_config
from hub.roles import SYSTEM

PASSWORD = "Thu-nghiem-Mat-khau-2026"  # noqa: S105 - a throw-away hub in a temp dir
SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "province_3tier.json"


async def _timed(n: int, conc: int, fn) -> dict[str, float]:  # type: ignore[no-untyped-def]
    lat: list[float] = []
    sem = asyncio.Semaphore(conc)

    async def one(i: int) -> None:
        async with sem:
            t = time.perf_counter()
            await fn(i)
            lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    total = time.perf_counter() - t0
    lat.sort()
    return {
        "requests": n,
        "seconds": round(total, 3),
        "per_s": round(n / total, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p99_ms": round(lat[int(0.99 * (n - 1))] * 1000, 1),
    }


async def main(reads: int, submits: int, conc: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build_config(
            {
                "data_dir": tmp,
                "http": {"port": 0},
                "mqtt": {"enabled": False},
                "programme": {"scheduler": False},
            },
            environ={},
        )
        async with HubRuntime(cfg) as hub:
            s = hub.services
            assert s is not None
            s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
            # two editors: the author of a province bulletin does not approve it (review.self_approve)
            s.accounts.create_user(SYSTEM, username="bench", password=PASSWORD, role="editor", area="67")
            s.accounts.create_user(SYSTEM, username="bench2", password=PASSWORD, role="editor", area="67")
            async with aiohttp.ClientSession(hub.url) as http:
                r = await http.post("/api/v1/auth/login", json={"username": "bench", "password": PASSWORD})
                auth = {"Authorization": "Bearer " + (await r.json())["token"]}
                r = await http.post("/api/v1/auth/login", json={"username": "bench2", "password": PASSWORD})
                approver = {"Authorization": "Bearer " + (await r.json())["token"]}
                for i in range(20):  # a realistic day: 20 approved bulletins
                    r = await http.post(
                        "/api/v1/bulletins",
                        headers=auth,
                        json={
                            "title": f"Bản tin {i}",
                            "priority": "priority" if i % 2 else "normal",
                            "text": f"Thông báo số {i} của UBND tỉnh.",
                            "targets": ["67"],
                            "kinds": ["radio", "led"],
                        },
                    )
                    bid = (await r.json())["id"]
                    r = await http.post(f"/api/v1/bulletins/{bid}/approve", headers=approver)
                    assert r.status == 200, await r.text()

                async def read(_i: int) -> None:
                    async with http.get(
                        "/api/v1/programme?area=67/660/24613&kind=radio", headers=auth
                    ) as resp:
                        assert resp.status == 200
                        await resp.json()

                async def submit(i: int) -> None:
                    async with http.post(
                        "/api/v1/bulletins",
                        headers=auth,
                        json={
                            "title": f"Bench {i}",
                            "priority": "normal",
                            "text": f"Nội dung thử số {i * 7 + 3}.",
                            "targets": ["67/660"],
                            "kinds": ["radio"],
                        },
                    ) as resp:
                        assert resp.status == 201, await resp.text()

                read_stats = await _timed(reads, conc, read)
                submit_stats = await _timed(submits, conc, submit)
                # reads while speech is being made for a burst of submits (the chair's page at 7 a.m.)
                burst = asyncio.create_task(_timed(submits, conc, lambda i: submit(i + submits)))
                mixed = await _timed(reads, conc, read)
                mixed["submits_still_running_at_end"] = not burst.done()
                await burst
    return {
        "bench": "api",
        "db": "sqlite",
        "concurrency": conc,
        "programme_read": read_stats,
        "bulletin_submit_tts": submit_stats,
        "programme_read_during_submits": mixed,
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--reads", type=int, default=500)
    p.add_argument("--submits", type=int, default=40)
    p.add_argument("--concurrency", type=int, default=8)
    a = p.parse_args()
    print(json.dumps(asyncio.run(main(min(a.reads, 20000), min(a.submits, 1000), a.concurrency))))
