"""Bench: approval-to-play latency of a province-wide emergency on N real agents (issue 2).

Real parts: a private Mosquitto, the real hub (HubRuntime, SQLite, espeak-ng speech made at submit time,
before approval), and N real agent cores (edge_agent.__main__.run: own Store, MQTT connection, signature
check, media download + sha256, simulated hardware) hosted W to a process by bench/_fanout_worker.py.
Latency = the simulated audio output's start (played/index.jsonl) minus the moment the approve request is
sent; one clock (time.time(), all on this machine). Prints ONE JSON line.

    .venv/bin/python bench/fanout.py --agents 1000 --workers 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from bench.fanout_parts import (
    ADMIN_PASSWORD,
    DEFAULT_AGENT_DIR,
    DEFAULT_TEXT,
    PROVINCE,
    SHM,
    BenchError,
    Observer,
    agent_raw,
    api,
    cpu_s,
    devices_for,
    fetched_at,
    hub_toml,
    machine_probe,
    own_cpu_s,
    percentile,
    play_starts,
    province_tree,
    sample_cpu,
    seed_hub,
    spawn_workers,
    start_hub,
    start_profilers,
    stop_workers,
    wait_for,
    wait_hub,
)
from hub.mosquitto import MosquittoProcess, free_port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/fanout.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=100, help="number of radio agents (default 100)")
    p.add_argument("--workers", type=int, default=0, help="agent host processes (default: 1 per 250, 1..4)")
    p.add_argument("--districts", type=int, default=10, help="districts in the generated province")
    p.add_argument("--communes", type=int, default=100, help="communes in the generated province")
    p.add_argument("--emergency-text", default=DEFAULT_TEXT, help="text of the emergency bulletin")
    p.add_argument(
        "--sim-speed",
        type=float,
        default=1.0,
        help="simulated audio speed (default 1.0: real time, so end-of-play reports fall after the "
        "measured window, as they would on separate devices)",
    )
    p.add_argument(
        "--record-audio",
        action="store_true",
        help="sim twins keep a WAV copy of each play (an ffmpeg decode per agent on this machine)",
    )
    p.add_argument(
        "--agent-dir",
        default=DEFAULT_AGENT_DIR,
        help="parent dir of the agents' data (default /dev/shm: each real device writes its own "
        "storage in parallel; '' = the temp dir on disk)",
    )
    p.add_argument(
        "--attach-kb",
        type=int,
        default=256,
        help="hub media.alert_inline_kb: the emergency's audio rides in the alert up to this size "
        "(default 256; 0 = every agent downloads it, as before 25 Nov 2026)",
    )
    p.add_argument("--ready-timeout", type=float, default=0.0, help="s to wait for all agents (0 = auto)")
    p.add_argument("--play-timeout", type=float, default=60.0, help="s to wait for every agent to play")
    p.add_argument(
        "--profile",
        default="",
        metavar="DIR",
        help="py-spy (if installed) samples the hub and each worker around the approval into DIR",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, agents' data) and print it")
    args = p.parse_args(argv)
    if not 1 <= args.agents <= 5000:
        p.error("--agents must be from 1 to 5000")
    if args.workers == 0:
        args.workers = min(4, max(1, (args.agents + 249) // 250))
    if not 1 <= args.workers <= min(64, args.agents):
        p.error("--workers must be from 1 to min(64, agents)")
    if not 1 <= args.districts <= args.communes <= 2000:
        p.error("need 1 <= --districts <= --communes <= 2000")
    if args.sim_speed <= 0:
        p.error("--sim-speed must be above 0")
    if not args.emergency_text.strip():
        p.error("--emergency-text must not be empty")
    if args.ready_timeout <= 0:
        args.ready_timeout = 30.0 + args.agents * 0.06
    return args



async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:  # noqa: PLR0915 - one story, in order
    from hub.config import build_config  # noqa: PLC0415

    tree, communes = province_tree(args.districts, args.communes)
    devices = devices_for(communes, args.agents)
    agent_root = Path(args.agent_dir) / tmp.name if args.agent_dir else tmp / "agents"
    agent_root.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    hub_proc: subprocess.Popen[bytes] | None = None
    hub_code: int | None = None
    with MosquittoProcess(tmp / "mosquitto", extra_config="max_keepalive 600\n") as broker:
        http_port = free_port()
        cfg = build_config(hub_toml(tmp, http_port, broker.port, attach_kb=args.attach_kb), environ={})
        key = await asyncio.to_thread(seed_hub, cfg, tree, devices)
        hub_url = f"http://127.0.0.1:{http_port}"
        obs = Observer()
        obs_connected = asyncio.Event()
        obs_task = asyncio.create_task(obs.run(broker.port, obs_connected), name="observer")
        try:
            hub_proc = start_hub(tmp)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
                await wait_hub(http, hub_url, hub_proc, tmp)
                await asyncio.wait_for(obs_connected.wait(), 15)
                base = f"{hub_url}/api/v1"
                token = (
                    await api(
                        http,
                        "POST",
                        f"{base}/auth/login",
                        json={"username": "admin", "password": ADMIN_PASSWORD},
                    )
                )["token"]
                # Submitting speaks the text (espeak-ng + ffmpeg) now, before approval: outside the measure.
                created = await api(
                    http,
                    "POST",
                    f"{base}/bulletins",
                    token=token,
                    json={
                        "title": "Khẩn cấp: cảnh báo lũ quét (thử tải)",
                        "priority": "emergency",
                        "form": "text",
                        "text": args.emergency_text,
                        "targets": [PROVINCE],
                        "kinds": ["radio"],
                    },
                )
                obs.bulletin_id = created["id"]
                per = -(-len(devices) // args.workers)
                max_s = args.ready_timeout + args.play_timeout + 120
                specs = [
                    {
                        "max_s": max_s,
                        "agents": [
                            agent_raw(
                                d,
                                a,
                                agent_root / d,
                                hub_url=hub_url,
                                key=key,
                                mqtt_port=broker.port,
                                sim_speed=args.sim_speed,
                                record=args.record_audio,
                            )
                            for d, a in devices[i : i + per]
                        ],
                    }
                    for i in range(0, len(devices), per)
                ]
                t_spawn = time.monotonic()
                procs = spawn_workers(specs, tmp)
                ids = [d for d, _ in devices]
                await wait_for(
                    lambda: obs.ready(ids) == len(ids),
                    obs.changed,
                    args.ready_timeout,
                    f"all {len(ids)} agents connected with their programme "
                    f"(ready: {obs.ready(ids)}; see {tmp}/worker*.log)",
                )
                ready_s = time.monotonic() - t_spawn
                # Let the connection burst settle (statuses stored by the hub) so it is not measured.
                await _settle(obs)
                probe = machine_probe()  # before the approval: not in the measured window
                spies = start_profilers(args.profile, [hub_proc.pid, *(p.pid for p in procs)])
                watched = {
                    "hub": hub_proc.pid,
                    "broker": broker.proc.pid if broker.proc else 0,
                    **{f"worker{i}": p.pid for i, p in enumerate(procs)},
                }
                cpu0 = {k: cpu_s(v) for k, v in watched.items()}
                cpu0["bench"] = own_cpu_s()
                samples: list[tuple[float, dict[str, float]]] = []
                sampler = asyncio.create_task(sample_cpu(watched, samples))
                t_approve = time.time()
                await api(http, "POST", f"{base}/bulletins/{obs.bulletin_id}/approve", token=token)
                t_response = time.time()
                # The window: until every agent's status says it plays the emergency (profiles and CPU).
                with contextlib.suppress(BenchError):
                    await wait_for(
                        lambda: len(obs.started) >= len(ids),
                        obs.changed,
                        args.play_timeout,
                        "every agent's status 'playing'",
                    )
                window_s = time.time() - t_approve
                cpu = {k: round(cpu_s(v) - cpu0[k], 2) for k, v in watched.items()}
                sampler.cancel()
                await asyncio.gather(sampler, return_exceptions=True)
                await asyncio.to_thread(stop_workers, spies, 20.0, signal.SIGINT)
                with contextlib.suppress(BenchError):
                    await wait_for(
                        lambda: len(obs.played) >= len(ids),
                        obs.changed,
                        args.play_timeout,
                        "every agent's play event",
                    )
                reported = len(obs.played)
                codes = await asyncio.to_thread(stop_workers, procs)
                procs = []
        finally:
            if procs:
                await asyncio.to_thread(stop_workers, procs)
            if hub_proc is not None:
                hub_code = (await asyncio.to_thread(stop_workers, [hub_proc], 20.0))[0]
            obs_task.cancel()
            await asyncio.gather(obs_task, return_exceptions=True)
    lat = sorted(
        (s - t_approve) * 1000
        for d, _ in devices
        if (s := play_starts(agent_root / d, obs.bulletin_id)) is not None
    )
    fetched = sorted(
        (s - t_approve) * 1000
        for d, _ in devices
        if (s := fetched_at(agent_root / d, obs.bulletin_id)) is not None
    )
    p99_at = t_approve + percentile(lat, 99) / 1000 if lat else t_approve
    before = [c for t, c in samples if t <= p99_at]
    cpu_p99 = {k: round(v - cpu0.get(k, 0.0), 2) for k, v in (before[-1] if before else {}).items()}
    return {
        "agents": len(devices),
        "played": len(lat),
        "p50_ms": round(percentile(lat, 50), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "max_ms": round(lat[-1], 1) if lat else None,
        "min_ms": round(lat[0], 1) if lat else None,
        "approve_to_publish_ms": round((obs.alert_at - t_approve) * 1000, 1) if obs.alert_at else None,
        # where the time goes: alert verified + media downloaded and sha256-checked, before the output starts
        "media_ready_p50_ms": round(percentile(fetched, 50), 1),
        "media_ready_p99_ms": round(percentile(fetched, 99), 1),
        # CPU seconds each process used from approval until every agent reported playing (window_s)
        "window_s": round(window_s, 2),
        "cpu_s": cpu,
        # CPU seconds each process used from approval until the p99 play start (sampled every 50 ms; "bench"
        # is this script's own observer): what the plays actually competed with
        "cpu_to_p99_s": cpu_p99,
        "approve_http_ms": round((t_response - t_approve) * 1000, 1),
        "play_events_at_hub_side": reported,
        "workers": len(specs),
        "agents_per_process": per,
        "communes": len(communes),
        "attach_kb": args.attach_kb,
        "sim_speed": args.sim_speed,
        "sim_record_audio": args.record_audio,
        "relay_lead_s": 0.0,
        "ready_s": round(ready_s, 1),
        "worker_exit_codes": codes,
        "hub_exit_code": hub_code,
        "agent_data": "tmpfs" if str(agent_root).startswith(SHM) else "disk",
        "machine": probe,
    }


async def _settle(obs: Observer, quiet_s: float = 1.5, limit_s: float = 30.0) -> None:
    """Wait until no device message went by for `quiet_s` (bounded by `limit_s`)."""
    deadline = time.monotonic() + limit_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_count = obs.received
        if now_count != last:
            last, since = now_count, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        await asyncio.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish calls" during bursts
    tmp = Path(tempfile.mkdtemp(prefix="nguon-fanout-"))
    failed = True
    try:
        result = asyncio.run(asyncio.wait_for(bench(args, tmp), args.ready_timeout + args.play_timeout + 240))
        failed = False
    except (BenchError, TimeoutError) as exc:
        # the temp dir stays for the logs the message points to
        print(json.dumps({"agents": args.agents, "error": str(exc) or "bench timed out", "tmp": str(tmp)}))
        return 1
    finally:
        if not args.keep and not failed:
            shutil.rmtree(tmp, ignore_errors=True)
            if args.agent_dir:
                shutil.rmtree(Path(args.agent_dir) / tmp.name, ignore_errors=True)
    if args.keep:
        result["tmp"] = str(tmp)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["played"] == result["agents"] else 1


if __name__ == "__main__":
    sys.exit(main())
