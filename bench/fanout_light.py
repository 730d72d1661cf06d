"""Bench: the hub's and the broker's share of a province-wide emergency's reach at N MQTT sessions (issue 18).

Real parts: a private Mosquitto (max_connections unlimited, this process's fd limit raised so that it and
the subscribers inherit it), the real hub (`python -m hub serve`, SQLite, the emergency spoken at submit
time, before approval) and N light subscriber sessions (bench/_fanout_light_worker.py: plain aiomqtt
clients, W to a process, each subscribed at QoS 1 to the province's alert topic as an agent is) that
record when the WHOLE alert arrived. No agent work (signature, store, player): bench/fanout.py measures
that on real agents; this one measures the delivery that every agent waits for, at 10,000 sessions.

Each round measures two reaches, one after the other:
- hub: from the approve request sent (POST .../approve) to each session's arrival of the alert;
- broker alone: from a plain client's publish of the very same bytes (the alert captured off the broker)
  on the same topic at QoS 1 to each session's arrival.
hub/broker of p50 and p99 is the hub path's cost over the broker's fan-out (target: at most 1.3x).
Prints ONE JSON line.

    .venv/bin/python bench/fanout_light.py --sessions 10000 --workers 4 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import aiomqtt

from bench.fanout_parts import (
    ADMIN_PASSWORD,
    DEFAULT_TEXT,
    PREFIX,
    PROVINCE,
    BenchError,
    api,
    hub_toml,
    percentile,
    province_tree,
    seed_hub,
    start_hub,
    stop_workers,
    wait_hub,
)
from hub.mosquitto import MosquittoProcess, free_port

WORKER = Path(__file__).resolve().parent / "_fanout_light_worker.py"
TOPIC = f"{PREFIX}/area/{PROVINCE}/alert"
AFTER_ALERT_S = 4.0  # the hub republishes programmes 2 s after an alert: let that pass before the next step


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/fanout_light.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=1000, help="subscriber sessions (default 1000)")
    p.add_argument("--workers", type=int, default=0, help="subscriber processes (default: 1 per 2500, >= 2)")
    p.add_argument("--rounds", type=int, default=3, help="emergencies, each measured hub then broker alone")
    p.add_argument("--attach-kb", type=int, default=256, help="hub media.alert_inline_kb (audio in alerts)")
    p.add_argument("--emergency-text", default=DEFAULT_TEXT)
    p.add_argument("--timeout", type=float, default=0.0, help="s to wait for one reach (0 = auto)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs) and print it")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= 50_000:
        p.error("--sessions must be from 1 to 50000")
    if args.workers == 0:
        args.workers = max(2, -(-args.sessions // 2500))
    if not 1 <= args.workers <= min(64, args.sessions) or not 1 <= args.rounds <= 20:
        p.error("--workers must be from 1 to min(64, sessions); --rounds from 1 to 20")
    if args.timeout <= 0:
        args.timeout = 30.0 + args.sessions * 0.02
    return args


def raise_fd_limit(sessions: int) -> int:
    """The soft (and, as root, hard) limit on open files, for Mosquitto (one fd per session) and workers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = sessions + 4096
    if hard != resource.RLIM_INFINITY and hard < want:
        with contextlib.suppress(ValueError, OSError):  # only root may raise the hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
    new = want if hard == resource.RLIM_INFINITY else min(max(soft, want), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return new


class Workers:
    """The subscriber processes and the counts they print."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []
        self.ready: dict[int, int] = {}
        self.counts: dict[int, int] = {}
        self.errors: list[str] = []
        self.changed = asyncio.Event()
        self._readers: list[asyncio.Task[None]] = []

    async def start(self, specs: list[dict[str, Any]], tmp: Path) -> None:
        for i, spec in enumerate(specs):
            path = tmp / f"light{i}.json"
            path.write_text(json.dumps(spec))
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(WORKER), str(path),
                stdout=asyncio.subprocess.PIPE, stderr=(tmp / f"light{i}.log").open("ab"),
            )  # fmt: skip
            self.procs.append(proc)
            self._readers.append(asyncio.create_task(self._read(i, proc)))

    async def _read(self, i: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            word, _, rest = raw.decode().strip().partition(" ")
            if word == "READY":
                self.ready[i] = int(rest)
            elif word == "COUNT":
                self.counts[i] = int(rest)
            else:
                self.errors.append(f"worker {i}: {raw.decode().strip()}")
            self.changed.set()

    @property
    def received(self) -> int:
        return sum(self.counts.values())

    async def until(self, cond: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while not cond():
            if self.errors:
                raise BenchError(f"{what}: {self.errors[0]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"{what}: not within {timeout:.0f} s (received {self.received})")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))

    async def stop(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                await asyncio.wait_for(p.wait(), 60)
            except TimeoutError:
                p.kill()
        for t in self._readers:
            t.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


def stats(ms: list[float]) -> dict[str, float | int | None]:
    ms = sorted(ms)
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(ms[-1], 1) if ms else None,
    }


def reaches(
    specs: list[dict[str, Any]], starts: list[tuple[str, float]], rounds: int
) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Each session's k-th message is the k-th measured publish (the alert topic carries nothing else)."""
    reach: dict[str, list[float]] = {"hub": [], "broker": []}
    per_round: list[dict[str, Any]] = [{} for _ in range(rounds)]
    sessions = [s for spec in specs for s in json.loads(Path(spec["out"]).read_text())["arrivals"]]
    for k, (path, t0) in enumerate(starts):
        got = [(s[k][0] - t0) * 1000 for s in sessions if len(s) > k]
        reach[path] += got
        per_round[k // 2][path] = stats(got)
    return reach, per_round


async def bench(args: argparse.Namespace, tmp: Path, fd_limit: int) -> dict[str, Any]:  # noqa: PLR0915
    from hub.config import build_config  # noqa: PLC0415

    tree, _ = province_tree(10, 100)
    workers = Workers()
    hub_proc = None
    starts: list[tuple[str, float]] = []  # ("hub" | "broker", t0) in the order the sessions receive them
    captured: list[bytes] = []
    conf = "max_keepalive 600\nmax_connections -1\n"
    with MosquittoProcess(tmp / "mosquitto", extra_config=conf) as broker:
        http_port = free_port()
        cfg = build_config(hub_toml(tmp, http_port, broker.port, attach_kb=args.attach_kb), environ={})
        await asyncio.to_thread(seed_hub, cfg, tree, [])
        try:
            hub_proc = start_hub(tmp)
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as http,
                aiomqtt.Client("127.0.0.1", broker.port, identifier="light-capture", keepalive=600) as cap,
                aiomqtt.Client("127.0.0.1", broker.port, identifier="light-publisher", keepalive=600) as pub,
            ):
                await wait_hub(http, f"http://127.0.0.1:{http_port}", hub_proc, tmp)
                base = f"http://127.0.0.1:{http_port}/api/v1"
                login = {"username": "admin", "password": ADMIN_PASSWORD}
                token = (await api(http, "POST", f"{base}/auth/login", json=login))["token"]
                ids = []
                for r in range(args.rounds):  # spoken now (espeak-ng + ffmpeg), before anything is measured
                    body = {
                        "title": f"Khẩn cấp: cảnh báo lũ quét (thử tải {r + 1})", "priority": "emergency",
                        "form": "text", "text": args.emergency_text, "targets": [PROVINCE],
                        "kinds": ["radio"],
                    }  # fmt: skip
                    ids.append((await api(http, "POST", f"{base}/bulletins", token=token, json=body))["id"])
                await cap.subscribe(TOPIC, qos=1)

                got_one = asyncio.Event()

                async def capture() -> None:
                    async for msg in cap.messages:
                        if isinstance(msg.payload, bytes):
                            captured.append(msg.payload)
                            got_one.set()

                cap_task = asyncio.create_task(capture())
                per = -(-args.sessions // args.workers)
                specs = [
                    {"port": broker.port, "topic": TOPIC, "count": min(per, args.sessions - i),
                     "prefix": f"light{i // per}", "out": str(tmp / f"arrivals{i // per}.json")}
                    for i in range(0, args.sessions, per)
                ]  # fmt: skip
                t_spawn = time.monotonic()
                await workers.start(specs, tmp)
                await workers.until(
                    lambda: sum(workers.ready.values()) >= args.sessions,
                    60 + args.sessions * 0.05,
                    f"{args.sessions} sessions subscribed",
                )
                ready_s = time.monotonic() - t_spawn
                await asyncio.sleep(3)  # the subscription burst settles
                load_before = os.getloadavg()
                t_responses = []
                for r in range(args.rounds):
                    want = workers.received + args.sessions
                    t0 = time.time()
                    starts.append(("hub", t0))
                    await api(http, "POST", f"{base}/bulletins/{ids[r]}/approve", token=token)
                    t_responses.append((time.time() - t0) * 1000)
                    await workers.until(lambda w=want: workers.received >= w, args.timeout, "hub reach")
                    await asyncio.wait_for(got_one.wait(), 30)  # the capture client has it too
                    got_one.clear()
                    await asyncio.sleep(AFTER_ALERT_S)
                    want = workers.received + args.sessions
                    t0 = time.time()
                    starts.append(("broker", t0))
                    await pub.publish(TOPIC, captured[r], qos=1)
                    await workers.until(lambda w=want: workers.received >= w, args.timeout, "broker reach")
                    await asyncio.sleep(2)
                load_after = os.getloadavg()
                cap_task.cancel()
                await asyncio.gather(cap_task, return_exceptions=True)
        finally:
            await workers.stop()
            if hub_proc is not None:
                await asyncio.to_thread(stop_workers, [hub_proc], 20.0)
    reach, per_round = await asyncio.to_thread(reaches, specs, starts, args.rounds)
    hub, brk = stats(reach["hub"]), stats(reach["broker"])
    return {
        "sessions": args.sessions,
        "workers": len(specs),
        "rounds": args.rounds,
        "alert_bytes": len(captured[0]) if captured else None,
        "hub": hub,
        "broker_alone": brk,
        "ratio_p50": round(float(hub["p50_ms"] or 0) / float(brk["p50_ms"] or 1), 2),
        "ratio_p99": round(float(hub["p99_ms"] or 0) / float(brk["p99_ms"] or 1), 2),
        "hub_share_p50_ms": round(float(hub["p50_ms"] or 0) - float(brk["p50_ms"] or 0), 1),
        "approve_http_ms": [round(t, 1) for t in t_responses],
        "per_round": per_round,
        "ready_s": round(ready_s, 1),
        "fd_limit": fd_limit,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fd_limit = raise_fd_limit(args.sessions)
    tmp = Path(tempfile.mkdtemp(prefix="nguon-fanout-light-"))
    try:
        result = asyncio.run(bench(args, tmp, fd_limit))
    except BenchError as exc:
        print(json.dumps({"sessions": args.sessions, "error": str(exc), "tmp": str(tmp)}, ensure_ascii=False))
        return 1
    if args.keep:
        result["tmp"] = str(tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
