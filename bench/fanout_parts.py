"""The fan-out bench's parts (bench/fanout.py tells the story): the generated province, the hub and agent
worker processes, the observer of the devices' MQTT traffic, and the measurements (play starts, CPU,
percentiles)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt

WORKER = Path(__file__).with_name("_fanout_worker.py")
PROVINCE = "90"
PREFIX = "nguon/v1"
ADMIN_PASSWORD = "Bench-fanout-2026-mat-khau"  # noqa: S105 - a throw-away hub in a temp dir
DEFAULT_TEXT = (
    "Thông báo khẩn cấp: lũ quét có thể xảy ra trong đêm nay ở các xã ven suối. "
    "Người dân di chuyển ngay đến nơi cao, an toàn."
)


# tmpfs on purpose (see PERFORMANCE.md); each run gets its own fresh subdirectory
SHM = "/dev/shm"  # noqa: S108
DEFAULT_AGENT_DIR = SHM if Path(SHM).is_dir() else ""


class BenchError(RuntimeError):
    """The bench could not reach a measurable state; the message says which step and why."""


def province_tree(districts: int, communes: int) -> tuple[dict[str, Any], list[str]]:
    """A generated 3-tier province, communes spread over the districts; returns (tree, commune paths)."""
    tree: dict[str, Any] = {"code": PROVINCE, "name": "Tỉnh thử tải", "level": "province", "children": []}
    paths = []
    for d in range(districts):
        dcode = f"{PROVINCE}{d + 1:02d}"
        kids = []
        for c in range(d, communes, districts):
            ccode = f"{dcode}{c + 1:04d}"
            kids.append({"code": ccode, "name": f"Xã thử {c + 1}", "level": "commune"})
            paths.append(f"{PROVINCE}/{dcode}/{ccode}")
        tree["children"].append(
            {"code": dcode, "name": f"Huyện thử {d + 1}", "level": "district", "children": kids}
        )
    return tree, sorted(paths)


def devices_for(communes: list[str], n: int) -> list[tuple[str, str]]:
    return [
        (
            f"loa-{communes[i % len(communes)].rsplit('/', 1)[1]}-{i // len(communes) + 1}",
            communes[i % len(communes)],
        )
        for i in range(n)
    ]


def seed_hub(cfg: Any, tree: dict[str, Any], devices: list[tuple[str, str]]) -> str:
    """Areas, the admin account and the devices, straight into the hub's database; returns the public key."""
    from hub.app import build_services  # noqa: PLC0415
    from hub.roles import SYSTEM  # noqa: PLC0415
    from hub.speech import NoSpeech  # noqa: PLC0415
    from protocol.keys import public_key_b64  # noqa: PLC0415

    services = build_services(cfg, speech=NoSpeech())
    try:
        services.areas.import_tree(tree, SYSTEM)
        services.accounts.create_user(SYSTEM, username="admin", password=ADMIN_PASSWORD, role="admin")
        for dev_id, area in devices:
            services.devices.register(SYSTEM, device_id=dev_id, kind="radio", area=area)
        return public_key_b64(services.envelopes.key.public)
    finally:
        services.ctx.db.dispose()


def agent_raw(
    dev_id: str,
    area: str,
    data_dir: Path,
    *,
    hub_url: str,
    key: str,
    mqtt_port: int,
    sim_speed: float,
    record: bool,
) -> dict[str, Any]:
    """One agent's settings, as its TOML file would hold them."""
    return {
        "device_id": dev_id,
        "kind": "radio",
        "area": area,
        "data_dir": str(data_dir),
        "hub_url": hub_url,
        "hub_public_keys": [key],
        "topic_prefix": PREFIX,
        "clock_trust": "always",
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port},
        # relay_lead_s 0: the amplifier warm-up is a configured constant added on top (PERFORMANCE.md).
        "hardware": {
            "mode": "sim",
            "sim_speed": sim_speed,
            "sim_record": record,
            "relay_lead_s": 0.0,
            "relay_idle_off_s": 5.0,
        },
    }


@dataclass
class Observer:
    """One MQTT client watching what the hub sees: statuses, play events, and the alert itself."""

    bulletin_id: str = ""
    status: dict[str, dict[str, Any]] = field(default_factory=dict)
    played: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)  # status said now_playing = the bulletin (or it played)
    alert_at: float | None = None
    received: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def ready(self, device_ids: list[str]) -> int:
        return sum(
            1
            for d in device_ids
            if (s := self.status.get(d))
            and s.get("state") != "offline"
            and s.get("programme_version", 0) >= 1
        )

    def on_message(self, topic: str, payload: bytes) -> None:
        self.received += 1
        parts = topic.split("/")
        if topic.endswith("/alert"):
            if self.alert_at is None:
                self.alert_at = time.time()
        elif len(parts) >= 4 and parts[-3] == "device":
            data = json.loads(payload) if payload else None
            if parts[-1] == "status" and isinstance(data, dict):
                self.status[parts[-2]] = data
                if self.bulletin_id and data.get("now_playing") == self.bulletin_id:
                    self.started.add(parts[-2])
            elif parts[-1] == "event":
                for ev in data if isinstance(data, list) else [data]:
                    if (
                        isinstance(ev, dict)
                        and ev.get("type") == "play"
                        and ev.get("data", {}).get("bulletin_id") == self.bulletin_id
                    ):
                        self.played.add(parts[-2])
                        self.started.add(parts[-2])
        self.changed.set()

    async def run(self, port: int, connected: asyncio.Event) -> None:
        async with aiomqtt.Client(
            "127.0.0.1",
            port,
            identifier=f"bench-observer-{os.getpid()}",
            protocol=aiomqtt.ProtocolVersion.V5,
            timeout=15,
        ) as client:
            await client.subscribe(
                [
                    (f"{PREFIX}/device/+/status", 0),
                    (f"{PREFIX}/device/+/event", 0),
                    (f"{PREFIX}/area/{PROVINCE}/alert", 0),
                ]
            )
            connected.set()
            async for msg in client.messages:
                payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload or "").encode()
                self.on_message(str(msg.topic), payload)


async def wait_for(cond: Any, evt: asyncio.Event, timeout: float, what: str) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not cond():
        left = deadline - time.monotonic()
        if left <= 0:
            raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")
        evt.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(evt.wait(), timeout=min(left, 0.5))


def play_starts(data_dir: Path, bulletin_id: str) -> float | None:
    """When the simulated audio output first started this bulletin (epoch s), from played/index.jsonl."""
    index = data_dir / "played" / "index.jsonl"
    if not index.exists():
        return None
    starts = []
    for line in index.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            rec = json.loads(line)
            if rec.get("label") == bulletin_id and not rec.get("error"):
                starts.append(datetime.fromisoformat(rec["started_at"]).timestamp())
    return min(starts) if starts else None


def fetched_at(data_dir: Path, bulletin_id: str) -> float | None:
    """When the agent had the media verified and handed it to the audio output (plays.jsonl started_at)."""
    path = data_dir / "plays.jsonl"
    if not path.exists():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            rec = json.loads(line)
            if rec.get("bulletin_id") == bulletin_id and rec.get("started_at"):
                return datetime.fromisoformat(rec["started_at"]).timestamp()
    return None


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process used so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """User + system CPU seconds this bench process (its observer) used so far."""
    t = os.times()
    return t.user + t.system


async def sample_cpu(watched: dict[str, int], out: list[tuple[float, dict[str, float]]]) -> None:
    """Every 50 ms, the CPU seconds used so far by each watched process and by this one ("bench")."""
    while True:
        out.append((time.time(), {**{k: cpu_s(v) for k, v in watched.items()}, "bench": own_cpu_s()}))
        await asyncio.sleep(0.05)


def machine_probe(rounds: int = 500) -> dict[str, float]:
    """How fast this machine is right now, in the agents' own terms: one Ed25519 verify (every agent does
    one per alert) and one sha256 of 64 KiB. The same code's p99 moves with these (PERFORMANCE.md)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    key = Ed25519PrivateKey.generate()
    pub, msg = key.public_key(), b"x" * 600
    sig = key.sign(msg)
    t = time.perf_counter()
    for _ in range(rounds):
        pub.verify(sig, msg)
    verify_us = (time.perf_counter() - t) / rounds * 1e6
    blob = bytes(64 * 1024)
    t = time.perf_counter()
    for _ in range(rounds // 5):
        hashlib.sha256(blob).digest()
    sha_us = (time.perf_counter() - t) / (rounds // 5) * 1e6
    return {"ed25519_verify_us": round(verify_us, 1), "sha256_64k_us": round(sha_us, 1)}


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_ms:
        return float("nan")
    rank = max(1, min(len(sorted_ms), int(-(-q * len(sorted_ms) // 100))))
    return sorted_ms[rank - 1]


def spawn_workers(specs: list[dict[str, Any]], root: Path) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i, spec in enumerate(specs):
        path = root / f"worker{i}.json"
        path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        log = (root / f"worker{i}.log").open("ab")
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), str(path)],
                stdout=subprocess.PIPE,
                stderr=log,
                env=dict(os.environ, PYTHONUNBUFFERED="1"),
                start_new_session=True,
            )
        )
    return procs


def start_profilers(out_dir: str, pids: list[int]) -> list[subprocess.Popen[bytes]]:
    """py-spy record (collapsed stacks) of each pid until SIGINT; nothing when no DIR or no py-spy."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not out_dir or not Path(spy).exists():
        return []
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--format",
                "raw",
                "--nonblocking",
                "-o",
                str(Path(out_dir) / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in zip(["hub", *(f"worker{i}" for i in range(len(pids) - 1))], pids, strict=True)
    ]


def stop_workers(
    procs: list[subprocess.Popen[bytes]], timeout_s: float = 30.0, sig: int = signal.SIGTERM
) -> list[int | None]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(sig)
    deadline = time.monotonic() + timeout_s
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    return [p.returncode for p in procs]


async def api(http: aiohttp.ClientSession, method: str, url: str, *, token: str = "", **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, url, headers=headers, **kw) as r:
        body = await r.json()
        if r.status >= 300:
            raise BenchError(f"{method} {url} answered {r.status}: {body}")
        return body


def hub_toml(
    tmp: Path, http_port: int, mqtt_port: int, *, attach_kb: int = 256, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The hub's config, as a dict and written to tmp/hub.toml for `python -m hub serve --config`; `extra`
    adds sections (bench/central.py: [central])."""
    data = {
        "data_dir": str(tmp / "hub"),
        "log_level": "WARNING",
        "http": {"host": "127.0.0.1", "port": http_port},
        "mqtt": {
            "host": "127.0.0.1",
            "port": mqtt_port,
            "topic_prefix": PREFIX,
            "client_id": f"nguon-hub-bench{os.getpid()}",
        },
        "programme": {"scheduler": False},
        "media": {"alert_inline_kb": attach_kb},
        **(extra or {}),
    }
    lines = [f"{k} = {json.dumps(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for section, values in data.items():
        if isinstance(values, dict):
            lines += ["", f"[{section}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    (tmp / "hub.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


def start_hub(tmp: Path) -> subprocess.Popen[bytes]:
    """The hub as production runs it: its own process (`python -m hub serve`), logs in tmp/hub.log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGUON_")}
    log = (tmp / "hub.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "hub", "--config", str(tmp / "hub.toml"), "serve"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[1],
    )


async def wait_hub(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[bytes], tmp: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the hub exited with {proc.returncode}; see {tmp}/hub.log")
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                mqtt = (await r.json()).get("mqtt") or {}
                if r.status == 200 and mqtt.get("publisher") and mqtt.get("ingest"):
                    return
        await asyncio.sleep(0.2)
    raise BenchError(f"the hub did not come up within 60 s; see {tmp}/hub.log")

