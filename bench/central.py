"""Bench: a CAP 1.2 emergency from the central system, request received to first loudspeaker sound, on N
real agents (issue 16).

The same rig as bench/fanout.py (a private Mosquitto, the hub as its own process `python -m hub serve`, N real
agent cores in worker processes, simulated hardware), with the central link on and the bench holding the
central system's key. At t0 the bench sends a signed CAP alert for the whole province
(`POST /api/v1/central/cap`, hub/central/peer.py's client); the hub checks the signature, the nonce and the
schema, speaks the text (espeak-ng, no cache: a fresh hub), approves and publishes the alert. Latency = each
agent's simulated audio output start (played/index.jsonl) minus t0; one clock (time.time(), one machine).
Prints ONE JSON line.

    .venv/bin/python bench/central.py --agents 100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from bench.fanout import _settle
from bench.fanout_parts import (
    PROVINCE,
    BenchError,
    Observer,
    agent_raw,
    devices_for,
    hub_toml,
    percentile,
    play_starts,
    province_tree,
    seed_hub,
    spawn_workers,
    start_hub,
    stop_workers,
    wait_for,
    wait_hub,
)
from hub.central import capwrite
from hub.central.peer import send_cap
from hub.mosquitto import MosquittoProcess, free_port
from protocol.keys import KeyPair

TEXT = (
    "Thông báo khẩn cấp của Trung ương: lũ quét có thể xảy ra trong đêm nay ở các xã ven suối. "
    "Người dân di chuyển ngay đến nơi cao, an toàn."
)


def alert(identifier: str) -> bytes:
    sent = datetime.now(UTC).replace(microsecond=0)
    return capwrite.write(
        capwrite.AlertOut(
            identifier=identifier,
            sender="canhbao@httt-nguon.gov.vn",
            sent=sent,
            infos=[
                capwrite.InfoOut(
                    event="Lũ quét",
                    urgency="Immediate",
                    severity="Extreme",
                    certainty="Likely",
                    headline="Cảnh báo lũ quét",
                    description=TEXT,
                    expires=sent + timedelta(hours=1),
                    areas=[capwrite.AreaOut("Toàn tỉnh", geocodes=[("VN-DVHC", PROVINCE)])],
                )
            ],
        )
    )


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from hub.config import build_config  # noqa: PLC0415

    tree, communes = province_tree(args.districts, args.communes)
    devices = devices_for(communes, args.agents)
    agent_root = Path(args.agent_dir) / tmp.name if args.agent_dir else tmp / "agents"
    agent_root.mkdir(parents=True, exist_ok=True)
    central = KeyPair.generate()
    procs = []
    hub_proc = None
    with MosquittoProcess(tmp / "mosquitto", extra_config="max_keepalive 600\n") as broker:
        http_port = free_port()
        toml = hub_toml(
            tmp,
            http_port,
            broker.port,
            extra={"central": {"enabled": True, "public_keys": [central.public_b64]}},
        )
        cfg = build_config(toml, environ={})
        key = await asyncio.to_thread(seed_hub, cfg, tree, devices)
        hub_url = f"http://127.0.0.1:{http_port}"
        obs = Observer()
        connected = asyncio.Event()
        obs_task = asyncio.create_task(obs.run(broker.port, connected), name="observer")
        try:
            hub_proc = start_hub(tmp)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http:
                await wait_hub(http, hub_url, hub_proc, tmp)
            await asyncio.wait_for(connected.wait(), 15)
            per = -(-len(devices) // args.workers)
            specs = [
                {
                    "max_s": args.ready_timeout + 180,
                    "agents": [
                        agent_raw(
                            d,
                            a,
                            agent_root / d,
                            hub_url=hub_url,
                            key=key,
                            mqtt_port=broker.port,
                            sim_speed=1.0,
                            record=False,
                        )
                        for d, a in devices[i : i + per]
                    ],
                }
                for i in range(0, len(devices), per)
            ]
            procs = spawn_workers(specs, tmp)
            ids = [d for d, _ in devices]
            await wait_for(
                lambda: obs.ready(ids) == len(ids),
                obs.changed,
                args.ready_timeout,
                f"all {len(ids)} agents connected (see {tmp}/worker*.log)",
            )
            await _settle(obs)
            body = alert(f"TW-bench-{int(time.time())}")
            t0 = time.time()
            status, out = await send_cap(hub_url, central, body)
            t_response = time.time()
            if status != 200:
                raise BenchError(f"the hub refused the CAP request: {status} {out}")
            obs.bulletin_id = out["bulletin"]
            with contextlib.suppress(BenchError):
                await wait_for(lambda: len(obs.started) >= len(ids), obs.changed, 60, "every agent playing")
        finally:
            if procs:
                await asyncio.to_thread(stop_workers, procs)
            if hub_proc is not None:
                await asyncio.to_thread(stop_workers, [hub_proc], 20.0)
            obs_task.cancel()
            await asyncio.gather(obs_task, return_exceptions=True)
    lat = sorted(
        (s - t0) * 1000 for d, _ in devices if (s := play_starts(agent_root / d, obs.bulletin_id)) is not None
    )
    return {
        "agents": len(devices),
        "played": len(lat),
        "p50_ms": round(percentile(lat, 50), 1),
        "p99_ms": round(percentile(lat, 99), 1),
        "max_ms": round(lat[-1], 1) if lat else None,
        "min_ms": round(lat[0], 1) if lat else None,
        # the request's answer comes once the alert is published: signature, schema, speech, approval
        "request_http_ms": round((t_response - t0) * 1000, 1),
        "request_to_alert_on_broker_ms": round((obs.alert_at - t0) * 1000, 1) if obs.alert_at else None,
        "workers": len(specs),
        "communes": len(communes),
        "cap_bytes": len(body),
        "agent_data": "tmpfs" if str(agent_root).startswith("/dev/shm") else "disk",  # noqa: S108
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/central.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--districts", type=int, default=10)
    p.add_argument("--communes", type=int, default=100)
    p.add_argument("--agent-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else "")  # noqa: S108
    p.add_argument("--ready-timeout", type=float, default=0.0)
    args = p.parse_args(argv)
    if args.ready_timeout <= 0:
        args.ready_timeout = 30.0 + args.agents * 0.06
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="nguon-central-"))
    try:
        result = asyncio.run(bench(args, tmp))
    except (BenchError, TimeoutError) as exc:
        print(json.dumps({"agents": args.agents, "error": str(exc) or "timed out", "tmp": str(tmp)}))
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    if args.agent_dir:
        shutil.rmtree(Path(args.agent_dir) / tmp.name, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["played"] == result["agents"] else 1


if __name__ == "__main__":
    sys.exit(main())
