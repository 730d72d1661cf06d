"""Bench: what one agent spends, in-process, on a province-wide emergency's alert (issue 2's fan-out).

N real agent cores (edge_agent.agent.Agent with its own Store/SQLite file, MediaCache and simulated
hardware, as edge_agent.__main__.run builds them; no MQTT connection) each get the same signed alert with
its audio attached, as the hub sends it, through `Agent.handle`: signature check, seq, the emergency
stored, the attachment checked against its signed sha256 and written to the cache. No broker, no hub, no
event loop turns: this is the per-device floor under bench/fanout.py's p99 (which is roughly N times this,
plus MQTT and asyncio, divided by the cores). Prints ONE JSON line.

    .venv/bin/python bench/alert_path.py --agents 300 [--audio-kb 49] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import json
import logging
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge_agent.agent import Agent
from edge_agent.clocktrust import ClockTrust
from edge_agent.config import load_settings
from edge_agent.players import radio_player
from edge_agent.store import Store
from hardware import build_hardware
from protocol import KeyPair, ShiftedClock, Signer, Topics
from protocol.messages import AlertBody, BulletinInfo, MediaRef, Repeat

PREFIX = "nguon/v1"
SHM = "/dev/shm"  # noqa: S108 - tmpfs on purpose, as bench/fanout.py (PERFORMANCE.md)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/alert_path.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--agents", type=int, default=300, help="agents, each handles the alert once (default 300)"
    )
    p.add_argument("--audio-kb", type=int, default=49, help="size of the attached audio (default 49 KB)")
    p.add_argument("--profile", action="store_true", help="add cProfile's top functions (by own time)")
    args = p.parse_args(argv)
    if not 1 <= args.agents <= 5000:
        p.error("--agents must be from 1 to 5000")
    if not 1 <= args.audio_kb <= 512:
        p.error("--audio-kb must be from 1 to 512 (the hub attaches at most media.alert_inline_kb)")
    return args


def signed_alert(keys: KeyPair, clock: ShiftedClock, audio: bytes, sha: str) -> bytes:
    ref = MediaRef(sha, len(audio), f"/media/{sha}", "audio/mpeg", 8000)
    info = BulletinInfo("bench-khan-cap", "Khẩn cấp", "emergency", "province", "text", 8000, media=ref)
    now = clock.now()
    expires = now + timedelta(minutes=30)
    body = AlertBody(info.id, "Alert", "Actual", now.isoformat(), expires.isoformat(), ["90"], info, Repeat())
    return Signer(keys.private).sign(
        type="alert",
        id=str(uuid.uuid4()),
        seq=int(time.time() * 1000),
        issued_at=now,
        expires_at=expires,
        body=body.to_dict(),
        audience=[Topics(PREFIX).alert("90")],
        attachments=[audio],
    )


def make_agents(n: int, root: Path, keys: KeyPair, clock: ShiftedClock) -> list[Agent]:
    agents = []
    for i in range(n):
        raw = {
            "device_id": f"loa-bench-{i}",
            "kind": "radio",
            "area": "90/9001/90010001",
            "data_dir": str(root / f"d{i}"),
            "hub_url": "http://127.0.0.1:9",
            "hub_public_keys": [keys.public_b64],
            "topic_prefix": PREFIX,
            "clock_trust": "always",
            "mqtt": {"host": "127.0.0.1", "port": 9},
            "hardware": {"mode": "sim", "sim_record": False},
        }
        s = load_settings(None, env={}, raw=raw)
        hw = build_hardware(mode="sim", data_dir=s.data_path, now=clock.now, sim_record=False)
        store = Store(s.data_path / "agent.db")
        trust = ClockTrust(mode="always", now=clock.now)
        agents.append(Agent(s, clock=clock, hw=hw, store=store, trust=trust, player=radio_player))
    return agents


async def measure(args: argparse.Namespace, root: Path) -> dict[str, object]:
    keys, clock = KeyPair.generate(), ShiftedClock(0)
    audio = os.urandom(args.audio_kb * 1000)
    sha = hashlib.sha256(audio).hexdigest()
    wire = signed_alert(keys, clock, audio, sha)
    topic = Topics(PREFIX).alert("90")
    agents = make_agents(args.agents, root, keys, clock)
    prof = cProfile.Profile() if args.profile else None
    t_wall, t_cpu = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    for agent in agents:
        agent.handle(topic, wire, retained=False)
    if prof:
        prof.disable()
    wall, cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu
    stored = sum(1 for a in agents if a.book.known("bench-khan-cap"))
    cached = sum(1 for a in agents if a.media.has(sha))
    result: dict[str, object] = {
        "agents": args.agents,
        "audio_kb": args.audio_kb,
        "wire_kb": round(len(wire) / 1000, 1),
        "handle_ms_per_agent_cpu": round(cpu / args.agents * 1000, 3),
        "handle_ms_per_agent_wall": round(wall / args.agents * 1000, 3),
        "emergency_stored": stored,
        "audio_cached": cached,
    }
    if prof:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
        lines = out.getvalue().splitlines()
        head = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
        result["profile_top"] = [" ".join(ln.split()) for ln in lines[head : head + 13] if ln.strip()]
    for agent in agents:
        agent.store.close()
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="nguon-alert-path-", dir=SHM if Path(SHM).is_dir() else None))
    # the agent's per-alert log line is part of its cost (as in bench/fanout.py's workers), not output
    logging.basicConfig(level=logging.WARNING, filename=root / "agents.log")
    try:
        result = asyncio.run(measure(args, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["emergency_stored"] == result["audio_cached"] == args.agents else 1


if __name__ == "__main__":
    sys.exit(main())
