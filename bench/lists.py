"""How long each list page of the web UI takes at a province's size (issue 19: under 300 ms each).

    .venv/bin/python bench/lists.py [--runs 5] [--devices 2000] [--bulletins 500] [--audit 10000]
                                    [--only /map --only /stats]

A hub on SQLite in a temp dir with the sample province plus 100 generated communes, filled by
tests/dbfill.fill_province (2,000 devices, 500 bulletins, 10,000 audit entries, 20,000 plays); each page
is fetched over HTTP by a logged-in person (aiohttp client, the real app), `--runs` times after one warm-up.
One JSON line: per page, the median and the worst milliseconds of wall time, and the median CPU time of
the process (server and client: what the page costs, whatever else the machine is doing), and the
warm-up's milliseconds (`first_ms`: nothing cached yet, e.g. the Thống kê charts not drawn).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web import Application, Request

from hub.app import build_app
from protocol.clock import FrozenClock
from tests.dbfill import fill_province
from tests.web.conftest import PASSWORD, T0, make_services

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')

# (who, path): every list, its search and a deep page, and each role's start page
PAGES = [
    ("editor67", "/"),
    ("reviewer67", "/"),
    ("oper", "/"),
    ("admin1", "/"),
    ("chair24613", "/"),
    ("editor67", "/bulletins"),
    ("editor67", "/bulletins?q=ti%C3%AAm+ch%E1%BB%A7ng"),
    ("editor67", "/bulletins?q=hoa+binh"),
    ("editor67", "/bulletins?page=9&sort=title"),
    ("oper", "/devices"),
    ("oper", "/devices?q=loa-30007"),
    ("oper", "/devices?state=attention"),
    ("oper", "/devices?state=offline&sort=seen&page=2"),
    ("admin1", "/audit"),
    ("admin1", "/audit?q=editor67&page=20"),
    ("admin1", "/audit?action=bulletin.approve&outcome=denied"),
    ("editor67", "/plays?date=2026-11-20"),
    ("editor67", "/plays?bulletin=b-fill-0007"),
    ("admin1", "/users"),
    ("editor67", "/bulletins/b-fill-0007"),
    ("editor67", "/bulletins/b-fill-0007/devices?view=recall&missing=1"),
    ("admin1", "/stats"),
    ("admin1", "/stats?period=half"),
    ("editor67", "/stats?period=half"),
    ("admin1", "/map"),
    ("oper", "/map"),
]


async def login(server: TestServer, who: str) -> TestClient[Request, Application]:
    client = TestClient(server)
    await client.start_server()
    token = CSRF_RE.search(await (await client.get("/login")).text())
    assert token
    r = await client.post(
        "/login",
        data={"username": who, "password": PASSWORD, "csrf": token.group(1), "next": "/"},
        allow_redirects=False,
    )
    assert r.status == 303, await r.text()
    return client


async def run(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    tmp = Path(tempfile.mkdtemp(prefix="nguon-bench-lists-"))
    clock = FrozenClock(T0)
    services = make_services(tmp, clock)
    fill_province(
        services, clock.now(), devices=args.devices, bulletins=args.bulletins, audit=args.audit
    )
    server = TestServer(build_app(services.ctx.config, services=services))
    await server.start_server()
    clients: dict[str, TestClient[Request, Application]] = {}
    out: dict[str, dict[str, float]] = {}
    try:
        for who, path in PAGES:
            if args.only and not any(o in path for o in args.only):
                continue
            if who not in clients:
                clients[who] = await login(server, who)
            c = clients[who]
            times, cpu = [], []
            for i in range(args.runs + 1):
                t, p = time.perf_counter(), time.process_time()
                r = await c.get(path, allow_redirects=False)
                await r.read()
                if not i:
                    first = (time.perf_counter() - t) * 1000
                else:
                    times.append((time.perf_counter() - t) * 1000)
                    cpu.append((time.process_time() - p) * 1000)
                assert r.status == 200, (path, r.status)
            out[f"{who} {path}"] = {
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                "cpu_ms": round(statistics.median(cpu), 1),
                "first_ms": round(first, 1),
            }
    finally:
        for c in clients.values():
            await c.close()
        await server.close()
        services.ctx.db.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="bench/lists.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--devices", type=int, default=2000)
    p.add_argument("--bulletins", type=int, default=500)
    p.add_argument("--audit", type=int, default=10_000)
    p.add_argument("--only", action="append", default=[], help="only the pages whose path contains this")
    args = p.parse_args()
    print(json.dumps(asyncio.run(run(args)), ensure_ascii=False))


if __name__ == "__main__":
    main()
