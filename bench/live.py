"""Bench: words at the microphone to sound at the loudspeakers of a live announcement (issue 20).

Real parts: a private Mosquitto, a private Icecast (hub/icecast.py), the hub as production runs it
(`python -m hub serve`), and N real agent cores in worker processes (bench/_fanout_worker.py, as
bench/fanout.py), each playing the stream with its own ffmpeg into its simulated speaker's WAV file. The
speaker is a websocket client forwarding an ffmpeg "microphone" that makes its sound in real time (-re) and
writes WebM/Opus in 250 ms clusters, as the page's MediaRecorder: 3 s of silence, then a tone. The tone is
"said" 3 s after the microphone's first bytes (its header, written as the sound starts); it is "heard" when
the first loud samples reach the agent's audio output (its WAV, written packet by packet and polled every
20 ms; the same clock, all on this machine). Prints ONE JSON line.

    .venv/bin/python bench/live.py --agents 100 [--workers 2]
"""

from __future__ import annotations

import argparse
import array
import asyncio
import contextlib
import json
import shutil
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
    PROVINCE,
    SHM,
    BenchError,
    agent_raw,
    api,
    devices_for,
    hub_toml,
    percentile,
    province_tree,
    seed_hub,
    spawn_workers,
    start_hub,
    stop_workers,
    wait_hub,
)
from hub.icecast import IcecastProcess
from hub.mosquitto import MosquittoProcess, free_port

SLICE_S = 0.25  # MediaRecorder's slice in the page (hub/web/static/live.js)
SILENCE_S = 3.0
TONE_S = 3.0
LOUD = 2000  # int16 sample above this: the tone (silence is 0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/live.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--workers", type=int, default=0, help="agent processes (default one per 50 agents)")
    p.add_argument("--ready-timeout", type=float, default=180.0)
    p.add_argument("--keep", action="store_true", help="keep the run's directory (logs, WAVs) and print it")
    args = p.parse_args(argv)
    if not 1 <= args.agents <= 1000:
        p.error("--agents must be from 1 to 1000")
    return args


def microphone() -> list[str]:
    """ffmpeg as a browser's microphone and MediaRecorder: 3 s of silence then a 440 Hz tone, made in real
    time (-re) and written as WebM/Opus in 250 ms clusters as soon as each is encoded."""
    return [
        "ffmpeg", "-nostdin", "-v", "error", "-re",
        "-f", "lavfi", "-i", f"anullsrc=r=48000:cl=mono:d={SILENCE_S}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={TONE_S}",
        "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", "-c:a", "libopus", "-b:a", "32k",
        "-cluster_time_limit", str(int(SLICE_S * 1000)), "-flush_packets", "1", "-f", "webm", "pipe:1",
    ]


class Ears:
    """When each agent's audio output first carried the tone (wall clock)."""

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs
        self.heard: dict[str, float] = {}
        self._pos: dict[Path, int] = {}

    def poll(self) -> None:
        for dev, d in self.dirs.items():
            if dev in self.heard:
                continue
            for wav in sorted((d / "played").glob("*-live*.wav")):
                start = self._pos.get(wav, 44)
                try:
                    with wav.open("rb") as fh:
                        fh.seek(start)
                        data = fh.read()
                except OSError:
                    continue
                usable = len(data) - len(data) % 2
                self._pos[wav] = start + usable
                samples = array.array("h", data[:usable])
                if samples and max(*samples, -min(samples)) > LOUD:
                    self.heard[dev] = time.time()
                    break

    async def run(self) -> None:
        while True:
            self.poll()
            await asyncio.sleep(0.02)


def statuses(dirs: dict[str, Path]) -> dict[str, dict[str, Any]]:
    out = {}
    for dev, d in dirs.items():
        try:
            out[dev] = json.loads((d / "status.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out[dev] = {}
    return out


async def until(cond: Any, timeout: float, what: str) -> None:  # noqa: ASYNC109 - a bench's own bound
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


async def speak(http: aiohttp.ClientSession, url: str, token: str) -> float:
    """Stream the microphone's sound as it is made; returns the wall time the tone was said."""
    async with http.ws_connect(url, headers={"Authorization": f"Bearer {token}"}) as ws:
        mic = await asyncio.create_subprocess_exec(*microphone(), stdout=asyncio.subprocess.PIPE)
        assert mic.stdout is not None
        first: float | None = None
        while data := await mic.stdout.read(65536):
            if first is None:
                first = time.time()  # the WebM header, written as the sound starts
            await ws.send_bytes(data)
        await mic.wait()
    assert first is not None
    return first + SILENCE_S


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from hub.config import build_config  # noqa: PLC0415

    tree, communes = province_tree(2, 10)
    devices = devices_for(communes, args.agents)
    dirs = {d: tmp / "agents" / d for d, _ in devices}
    procs: list[subprocess.Popen[bytes]] = []
    with MosquittoProcess(tmp / "mosquitto", extra_config="max_keepalive 600\n") as broker:
        http_port = free_port()
        auth = f"http://127.0.0.1:{http_port}/api/v1/stream/auth"
        with IcecastProcess(tmp / "icecast", auth_url=auth) as ice:
            stream = {"enabled": True, "port": ice.port, "refresh_s": 10,
                      "source_password_file": str(ice.source_password_file)}
            cfg = build_config(hub_toml(tmp, http_port, broker.port, extra={"stream": stream}), environ={})
            key = await asyncio.to_thread(seed_hub, cfg, tree, devices)
            hub_url = f"http://127.0.0.1:{http_port}"
            hub_proc = start_hub(tmp)
            try:
                async with aiohttp.ClientSession(hub_url, timeout=aiohttp.ClientTimeout(total=120)) as http:
                    await wait_hub(http, hub_url, hub_proc, tmp)
                    workers = args.workers or -(-len(devices) // 50)
                    per = -(-len(devices) // workers)
                    specs = [
                        {"max_s": args.ready_timeout + 120, "agents": [
                            agent_raw(d, a, dirs[d], hub_url=hub_url, key=key, mqtt_port=broker.port,
                                      sim_speed=1.0, record=False)
                            for d, a in devices[i:i + per]]}
                        for i in range(0, len(devices), per)
                    ]
                    procs = spawn_workers(specs, tmp)
                    await until(lambda: all(s.get("connected") for s in statuses(dirs).values()),
                                args.ready_timeout, f"{len(dirs)} agents connected (see {tmp}/worker*.log)")
                    login = {"username": "admin", "password": ADMIN_PASSWORD}
                    token = (await api(http, "POST", "/api/v1/auth/login", json=login))["token"]
                    live = await api(http, "POST", "/api/v1/live", token=token,
                                     json={"areas": [PROVINCE], "priority": "emergency", "title": "Bench"})
                    sid = live["id"]
                    t_start = time.time()
                    await until(lambda: all(s.get("now_playing") == sid for s in statuses(dirs).values()),
                                60, "every loudspeaker taking the live session")
                    ready_s = time.time() - t_start
                    ears = Ears(dirs)
                    listening = asyncio.create_task(ears.run(), name="ears")
                    said = await speak(http, f"/api/v1/live/{sid}/audio", token)
                    await until(lambda: len(ears.heard) == len(dirs) or time.time() > said + 15, 20, "tone")
                    listening.cancel()
                    with contextlib.suppress(BenchError):  # it may have ended: the speaker left grace_s ago
                        await api(http, "POST", f"/api/v1/live/{sid}/stop", token=token)
            finally:
                stop_workers(procs)
                stop_workers([hub_proc])
    lat = sorted((t - said) * 1000 for t in ears.heard.values())
    return {
        "bench": "live",
        "agents": len(dirs),
        "workers": len(procs),
        "heard": len(lat),
        "p50_ms": round(percentile(lat, 50)),
        "p90_ms": round(percentile(lat, 90)),
        "p99_ms": round(percentile(lat, 99)),
        "max_ms": round(lat[-1]) if lat else None,
        "min_ms": round(lat[0]) if lat else None,
        "start_to_all_taking_s": round(ready_s, 2),
        "with_stream_output": sum(1 for d in dirs.values() if any((d / "played").glob("*-live*.wav"))),
        "target_ms": 3000,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="nguon-live-", dir=SHM if Path(SHM).is_dir() else None))
    try:
        print(json.dumps(asyncio.run(bench(args, tmp))), flush=True)
        return 0
    except BenchError as exc:
        print(json.dumps({"bench": "live", "error": str(exc)}), flush=True)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
