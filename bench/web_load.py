"""Bench: what web load (logins and page loads) adds to an emergency's approve-to-alert time (issue 18).

Real parts: a private Mosquitto and a real `python -m hub serve` process (SQLite, espeak-ng). Emergencies
are written first (their speech made at submit); then each is approved through the API and timed from the
moment the approve request is sent to the moment its alert arrives at an MQTT subscriber, first on an idle
hub, then while another process (at nice 10: browsers are not on the hub's machine) runs C browser-like
clients, each sending its next request half a second after the previous one was answered: half of them log
in again and again (the login page, then the form: argon2id), the other half, logged in, load the bulletin
list and the device page again and again. Prints ONE JSON line.

    .venv/bin/python bench/web_load.py [--clients 50] [--approvals 6]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import aiomqtt

from hub.mosquitto import MosquittoProcess
from hub.services.accounts import SESSION_COOKIE

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "province_3tier.json"  # the tests' province: 67, three tiers
PASSWORD = "Bench-web-load-2026-mat-khau"  # noqa: S105 - a throw-away hub in a temp dir
PREFIX = "nguon/v1"
VIEWERS = 5
LOAD_NICE = 10
THINK_S = 0.5  # a browser's next request, after its previous one is answered: 50 browsers ~ 100 requests/s
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/web_load.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=50, help="concurrent browser-like clients (default 50)")
    p.add_argument("--approvals", type=int, default=6, help="emergencies approved idle, and again loaded")
    p.add_argument("--load", default="", help=argparse.SUPPRESS)  # internal: be the load process for URL
    p.add_argument("--seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--cookies", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not 1 <= args.clients <= 500:
        p.error("--clients must be from 1 to 500")
    if not 1 <= args.approvals <= 50:
        p.error("--approvals must be from 1 to 50")
    return args


# --- the load process ---


async def browse(
    http: aiohttp.ClientSession, url: str, *, n: int, cookie: str, stop: float, done: dict[str, int]
) -> None:
    """One browser until `stop`: an even one logs in again and again (the login page, then the form), an
    odd one, already logged in, loads the bulletin list and the device page again and again."""
    user = f"viewer{n % VIEWERS}"
    while time.monotonic() < stop:
        done["rounds"] += 1
        if n % 2 == 0:
            http.cookie_jar.clear()
            async with http.get(f"{url}/login") as r:
                token = CSRF_RE.search(await r.text())
            csrf = token.group(1) if token else ""
            form = {"username": user, "password": PASSWORD, "csrf": csrf, "next": "/"}
            async with http.post(f"{url}/login", data=form, allow_redirects=False) as r:
                done["logins" if r.status == 303 else "login_failures"] += 1
            await asyncio.sleep(THINK_S)
            continue
        for page in ("/bulletins", "/devices"):
            async with http.get(f"{url}{page}", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}) as r:
                await r.read()
                done["pages" if r.status == 200 else "page_failures"] += 1
            await asyncio.sleep(THINK_S)


async def load(url: str, clients: int, seconds: float, cookies: list[str]) -> dict[str, int]:
    done = {"rounds": 0, "logins": 0, "login_failures": 0, "pages": 0, "page_failures": 0}
    stop = time.monotonic() + seconds
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(clients)]
    tasks = [
        asyncio.create_task(browse(s, url, n=i, cookie=cookies[i % len(cookies)], stop=stop, done=done))
        for i, s in enumerate(sessions)
    ]
    try:
        _, pending = await asyncio.wait(tasks, timeout=seconds)  # a login still queued: given up
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        for s in sessions:
            await s.close()
    return done


# --- the measuring process ---


def seed(data_dir: Path) -> list[str]:
    """The province, an editor and VIEWERS viewers; returns a browser session cookie of each viewer."""
    from hub.app import build_services  # noqa: PLC0415
    from hub.config import build_config  # noqa: PLC0415
    from hub.roles import SYSTEM  # noqa: PLC0415
    from hub.speech import NoSpeech  # noqa: PLC0415

    cfg = build_config({"data_dir": str(data_dir), "mqtt": {"enabled": False}}, environ={})
    s = build_services(cfg, speech=NoSpeech())
    try:
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        s.accounts.create_user(SYSTEM, username="editor", password=PASSWORD, role="editor", area="67")
        cookies = []
        for i in range(VIEWERS):
            s.accounts.create_user(SYSTEM, username=f"viewer{i}", password=PASSWORD, role="viewer", area="67")
            cookies.append(s.accounts.login_session(f"viewer{i}", PASSWORD, ip="127.0.0.1").cookie)
        return cookies
    finally:
        s.ctx.db.dispose()


def start_hub(tmp: Path, broker: MosquittoProcess) -> tuple[subprocess.Popen[str], str]:
    conf = tmp / "hub.toml"
    conf.write_text(
        f'data_dir = "{tmp / "hub"}"\n[http]\nhost = "127.0.0.1"\nport = 0\n'
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
        "[programme]\nscheduler = false\n"
        "[review]\nself_approve = { central = true, province = true, district = true, commune = true }\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGUON_")}
    log = (tmp / "hub.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "--config", str(conf), "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if m := re.search(r"nguon hub: (http://\S+)", line):
            return proc, m.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"the hub did not start: {(tmp / 'hub.log').read_text()[-2000:]}")


class Alerts:
    """Arrival times (time.monotonic()) of alerts, by bulletin id."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}

    async def run(self, broker: MosquittoProcess, ready: asyncio.Event) -> None:
        async with aiomqtt.Client(broker.host, broker.port, identifier="bench-web-load") as client:
            await client.subscribe(f"{PREFIX}/area/67/alert", qos=1)
            ready.set()
            async for msg in client.messages:
                at = time.monotonic()
                payload = msg.payload if isinstance(msg.payload, bytes) else b""
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    body = json.loads(payload)["envelope"]["body"]
                    self.seen.setdefault(str(body.get("identifier")), at)

    async def wait(self, bid: str, timeout: float = 30.0) -> float:  # noqa: ASYNC109 - its own deadline
        deadline = time.monotonic() + timeout
        while bid not in self.seen:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no alert for {bid} within {timeout} s")
            await asyncio.sleep(0.002)
        return self.seen[bid]


async def approve_timed(
    http: aiohttp.ClientSession, url: str, auth: dict[str, str], bid: str, alerts: Alerts
) -> float:
    t0 = time.monotonic()
    async with http.post(f"{url}/api/v1/bulletins/{bid}/approve", headers=auth) as r:
        if r.status != 200:
            raise RuntimeError(f"approve {bid}: {r.status} {await r.text()}")
    return (await alerts.wait(bid) - t0) * 1000


async def measure(
    url: str, broker: MosquittoProcess, args: argparse.Namespace, cookies: list[str]
) -> dict[str, Any]:
    alerts, ready = Alerts(), asyncio.Event()
    sub = asyncio.create_task(alerts.run(broker, ready))
    await asyncio.wait_for(ready.wait(), 10)
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{url}/api/v1/auth/login", json={"username": "editor", "password": PASSWORD}
        ) as r:
            auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
        ids = []
        for i in range(2 * args.approvals):
            body = {
                "title": f"Khẩn cấp {i}",
                "priority": "emergency",
                "text": f"Lũ quét ở bản {i}, sơ tán ngay.",
                "targets": ["67"],
                "kinds": ["radio"],
            }
            async with http.post(f"{url}/api/v1/bulletins", json=body, headers=auth) as r:
                if r.status != 201:
                    raise RuntimeError(f"create: {r.status} {await r.text()}")
                ids.append((await r.json())["id"])
        idle = []
        for bid in ids[: args.approvals]:
            idle.append(await approve_timed(http, url, auth, bid, alerts))
            await asyncio.sleep(0.2)
        seconds = 3.0 + args.approvals * 0.6
        loader = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--load",
            url,
            "--clients",
            str(args.clients),
            "--seconds",
            str(seconds),
            stdout=asyncio.subprocess.PIPE,
        )
        await asyncio.sleep(2.0)  # every client is logging in or loading pages
        loaded = []
        for bid in ids[args.approvals :]:
            loaded.append(await approve_timed(http, url, auth, bid, alerts))
            await asyncio.sleep(0.2)
        out, _ = await loader.communicate()
        done = json.loads(out)
    sub.cancel()
    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
        await sub
    return {
        "clients": args.clients,
        "approvals": args.approvals,
        "idle_ms_p50": round(statistics.median(idle), 1),
        "idle_ms_max": round(max(idle), 1),
        "loaded_ms_p50": round(statistics.median(loaded), 1),
        "loaded_ms_max": round(max(loaded), 1),
        "added_ms_p50": round(statistics.median(loaded) - statistics.median(idle), 1),
        "load_seconds": seconds,
        **done,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.load:
        # The browsers are on other machines in a province; here they share the hub's two cores: at a
        # lower priority, the load process takes the CPU the hub leaves rather than the hub's own.
        os.nice(LOAD_NICE)
        print(json.dumps(asyncio.run(load(args.load, args.clients, args.seconds, args.cookies.split(",")))))
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="nguon-web-load-") as d,
        MosquittoProcess(Path(d) / "mq") as broker,
    ):
        tmp = Path(d)
        cookies = seed(tmp / "hub")
        proc, url = start_hub(tmp, broker)
        try:
            result = asyncio.run(measure(url, broker, args, cookies))
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:  # logins the load process gave up are still queued
                proc.kill()
                proc.wait(15)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
