"""Test harness: a small signing fake hub (protocol.Signer + aiohttp /media), agent processes, a collector."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest
from aiohttp import web

from hub.mosquitto import MosquittoProcess, free_port
from protocol import KeyPair, ShiftedClock, Signer, Topics
from protocol.messages import (
    AlertBody,
    BulletinInfo,
    CommandBody,
    MediaRef,
    ProgrammeBody,
    ProgrammeDay,
    ProgrammeItem,
    Repeat,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parents[2]
AREA = "67/660/24613"


# ASYNC109: a polling helper with its own deadline, so each failure names what it waited for
async def wait_until(
    pred: Callable[[], Any],
    timeout: float = 15.0,  # noqa: ASYNC109
    what: str = "condition",
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def make_tone(path: Path, seconds: float, freq: int = 440) -> bytes:
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:duration={seconds}",
            "-ac",
            "1",
            "-ar",
            "16000",
            str(path),
        ],
        check=True,
        timeout=30,
    )
    return path.read_bytes()


class FakeHub:
    """Signs what the real hub would send; serves /media/<sha256>."""

    def __init__(self, workdir: Path, broker: MosquittoProcess, clock: ShiftedClock, prefix: str) -> None:
        self.dir = workdir
        self.broker = broker
        self.mirrors: list[MosquittoProcess] = []  # more brokers every message also goes to (two brokers)
        self.clock = clock
        self.keys = KeyPair.generate()
        self.signer = Signer(self.keys.private)
        self.topics = Topics(prefix)
        self.seq = int(time.time() * 1000)
        self.media: dict[str, bytes] = {}
        self.port = free_port()
        self.requests: list[str] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def audio(self, name: str, seconds: float, freq: int = 440) -> MediaRef:
        data = make_tone(self.dir / f"{name}.wav", seconds, freq)
        sha = hashlib.sha256(data).hexdigest()
        self.media[sha] = data
        return MediaRef(sha, len(data), f"/media/{sha}", "audio/wav", int(seconds * 1000))

    def bulletin(
        self,
        bid: str,
        seconds: float,
        *,
        priority: str = "normal",
        freq: int = 440,
        after_interrupt: str = "restart",
        valid_until: datetime | None = None,
    ) -> BulletinInfo:
        ref = self.audio(bid, seconds, freq)
        return BulletinInfo(
            bid,
            f"Bản tin {bid}",
            priority,
            "province",
            "audio",
            ref.duration_ms,
            valid_until=valid_until.isoformat() if valid_until else None,
            media=ref,
            after_interrupt=after_interrupt,
        )

    async def start(self) -> None:
        async def media(request: web.Request) -> web.StreamResponse:
            self.requests.append(request.match_info["sha"])
            data = self.media.get(request.match_info["sha"])
            if data is None:
                raise web.HTTPNotFound()
            return web.Response(body=data, content_type="application/octet-stream")

        app = web.Application()
        app.router.add_get("/media/{sha}", media)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def sign(
        self,
        type_: str,
        body: dict[str, Any],
        *,
        to: str | list[str],
        expires: datetime | None = None,
        seq: int | None = None,
        issued: datetime | None = None,
        signer: Signer | None = None,
        attachments: list[bytes] = (),  # type: ignore[assignment]
    ) -> bytes:
        """`to`: the topic(s) the message is for (its signed audience), as the hub names them."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        return (signer or self.signer).sign(
            type=type_,
            id=str(uuid.uuid4()),
            seq=seq,
            issued_at=issued or self.clock.now(),
            expires_at=expires,
            body=body,
            audience=[to] if isinstance(to, str) else to,
            attachments=attachments,
        )

    def programme(
        self,
        items: list[tuple[BulletinInfo, datetime]],
        *,
        version: int = 1,
        emergencies: Sequence[BulletinInfo] = (),
        recalled: Sequence[str] = (),
    ) -> ProgrammeBody:
        today = self.clock.now().astimezone(TZ).date().isoformat()
        pitems = [
            ProgrammeItem(
                b.id, at.isoformat(), (at + timedelta(milliseconds=b.duration_ms)).isoformat(), "05:00-06:30"
            )
            for b, at in items
        ]
        infos = {b.id: b for b, _ in items} | {b.id: b for b in emergencies}
        return ProgrammeBody(
            AREA,
            "radio",
            version,
            "Asia/Ho_Chi_Minh",
            [ProgrammeDay(today, ["05:00-06:30", "17:00-18:30"], pitems)],
            list(infos.values()),
            [b.id for b in emergencies],
            list(recalled),
        )

    def alert(
        self,
        b: BulletinInfo | None,
        *,
        msg_type: str = "Alert",
        identifier: str | None = None,
        expires_in_s: float = 600,
        repeat: Repeat = Repeat(),  # noqa: B008 - frozen, so one shared default is safe
    ) -> tuple[AlertBody, datetime]:
        now = self.clock.now()
        expires = now + timedelta(seconds=expires_in_s)
        body = AlertBody(
            identifier or (b.id if b else ""),
            msg_type,
            "Actual",
            now.isoformat(),
            expires.isoformat(),
            [AREA],
            b,
            repeat,
        )
        return body, expires

    async def publish(self, topic: str, wire: bytes, *, retain: bool = False) -> None:
        """To the broker and each mirror that runs (as the hub publishes to every broker)."""
        for broker in (self.broker, *self.mirrors):
            if self.mirrors and broker.proc is None:
                continue  # one of two brokers, killed by the test
            async with aiomqtt.Client(
                broker.host,
                broker.port,
                identifier=f"hub-{uuid.uuid4().hex[:6]}",
                protocol=aiomqtt.ProtocolVersion.V5,
            ) as client:
                await client.publish(topic, wire, qos=1, retain=retain, timeout=10)

    async def send_programme(self, p: ProgrammeBody) -> None:
        topic = self.topics.program(AREA, p.kind)
        await self.publish(topic, self.sign("programme", p.to_dict(), to=topic), retain=True)

    async def send_command(self, device_id: str, command: str, args: dict[str, Any] | None = None) -> str:
        """A signed command as the hub sends it: expires 60 s after issue. Returns the envelope id."""
        body = CommandBody(command, dict(args or {})).to_dict()
        expires = self.clock.now() + timedelta(seconds=60)
        topic = self.topics.cmd(device_id)
        wire = self.sign("command", body, to=topic, expires=expires)
        await self.publish(topic, wire)
        return str(json.loads(wire)["envelope"]["id"])

    def image(self, name: str, size: str = "384x192") -> MediaRef:
        """A PNG test card (ffmpeg), served like any media."""
        path = self.dir / f"{name}.png"
        subprocess.run(
            [
                "ffmpeg",
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size={size}:rate=1",
                "-frames:v",
                "1",
                str(path),
            ],
            check=True,
            timeout=30,
        )
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        self.media[sha] = data
        return MediaRef(sha, len(data), f"/media/{sha}", "image/png")

    def led_programme(self, items: list[tuple[BulletinInfo, datetime]], *, version: int = 1) -> ProgrammeBody:
        """An LED board's programme for today (windows 05:00-07:00 and 17:00-22:00)."""
        today = self.clock.now().astimezone(TZ).date().isoformat()
        pitems = [
            ProgrammeItem(
                b.id, at.isoformat(), (at + timedelta(milliseconds=b.duration_ms)).isoformat(), "05:00-07:00"
            )
            for b, at in items
        ]
        return ProgrammeBody(
            AREA,
            "led",
            version,
            "Asia/Ho_Chi_Minh",
            [ProgrammeDay(today, ["05:00-07:00", "17:00-22:00"], pitems)],
            [b for b, _ in items],
            [],
            [],
        )

    async def send_alert(
        self,
        body: AlertBody,
        expires: datetime,
        *,
        area: str = "67",
        issued: datetime | None = None,
        attach: bool = False,
    ) -> bytes:
        """attach: the bulletin's audio rides along, as the real hub sends it (no download needed)."""
        files = (
            [self.media[body.bulletin.media.sha256]]
            if attach and body.bulletin and body.bulletin.media
            else []
        )
        topic = self.topics.alert(area)
        wire = self.sign("alert", body.to_dict(), to=topic, expires=expires, issued=issued, attachments=files)
        await self.publish(topic, wire)
        return wire


class Collector:
    """Subscribes to every device's events and status, like the hub; flattens batches; counts ids."""

    def __init__(self, broker: MosquittoProcess, prefix: str) -> None:
        self.broker = broker
        self.topics = Topics(prefix)
        self.events: list[dict[str, Any]] = []
        self.status: dict[str, Any] = {}
        self.statuses: list[dict[str, Any]] = []  # every status received, in order
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="collector")
        await asyncio.wait_for(self._ready.wait(), 10)

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    self.broker.host,
                    self.broker.port,
                    identifier="collector-hub",
                    protocol=aiomqtt.ProtocolVersion.V5,
                    clean_start=False,
                ) as client:
                    await client.subscribe([(self.topics.all_events(), 1), (self.topics.all_status(), 1)])
                    self._ready.set()
                    async for msg in client.messages:
                        data = json.loads(msg.payload)
                        if str(msg.topic).endswith("/status"):
                            self.status = data
                            self.statuses.append(data)
                        else:
                            self.events.extend(data if isinstance(data, list) else [data])
            except aiomqtt.MqttError:
                await asyncio.sleep(0.3)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def plays(self, bulletin_id: str | None = None, outcome: str | None = None) -> list[dict[str, Any]]:
        seen, out = set(), []
        for ev in self.events:
            if ev["type"] != "play" or ev["id"] in seen:
                continue
            seen.add(ev["id"])
            d = ev["data"]
            if (bulletin_id is None or d["bulletin_id"] == bulletin_id) and (
                outcome is None or d["outcome"] == outcome
            ):
                out.append(d)
        return out

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["type"] == type_]


class AgentProcess:
    """`python -m edge_agent run --config FILE` as a real process."""

    def __init__(
        self,
        workdir: Path,
        hub: Any,
        *,
        clock: ShiftedClock,
        sim_speed: float = 10.0,
        clock_trust: str = "always",
        extra: str = "",
        kind: str = "radio",
        env: dict[str, str] | None = None,
        device_id: str | None = None,
        area: str = AREA,
        root: Path = ROOT,
        brokers: Sequence[str] = (),
        mqtt_extra: str = "",
    ) -> None:
        """`hub`: a FakeHub, or anything with its url, keys.public_b64, topics.prefix and broker.host/port.
        `root`: the code the agent runs (another release's checkout, for compatibility tests)."""
        self.root = root
        self.dir = workdir
        self.data = workdir / "data"
        self.config = workdir / "agent.toml"
        self.log = workdir / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = env or {}
        self.device_id = device_id or f"{kind}-test-1"
        self.area = area
        workdir.mkdir(parents=True, exist_ok=True)
        where = (
            f"brokers = {json.dumps(list(brokers))}"
            if brokers
            else f'host = "{hub.broker.host}"\nport = {hub.broker.port}'
        )
        self.config.write_text(f'''
device_id = "{self.device_id}"
kind = "{kind}"
area = "{area}"
data_dir = "{self.data}"
hub_url = "{hub.url}"
hub_public_keys = ["{hub.keys.public_b64}"]
topic_prefix = "{hub.topics.prefix}"
clock_offset_s = {clock.offset_s}
clock_trust = "{clock_trust}"
heartbeat_s = 2
[mqtt]
{where}
reconnect_max_s = 2
{mqtt_extra}
[hardware]
mode = "sim"
sim_speed = {sim_speed}
relay_lead_s = 0.2
relay_idle_off_s = 1.0
{extra}
''')

    def start(self) -> AgentProcess:
        status = self.data / "status.json"
        status.unlink(missing_ok=True)
        env = {**os.environ, "PYTHONPATH": str(self.root), **self.env}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "edge_agent", "run", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                env=env,
                cwd=self.root,
            )
        return self

    def status(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.data / "status.json").read_text())
            return data
        except (OSError, ValueError):
            return {}

    async def ready(self, timeout: float = 20) -> None:  # noqa: ASYNC109 - passed on to wait_until
        proc = self.proc
        assert proc is not None, "start() the agent first"
        await wait_until(
            lambda: self.status().get("connected") and self.status().get("pid") == proc.pid,
            timeout,
            "agent connected",
        )

    def plays(self) -> list[dict[str, Any]]:
        path = self.data / "plays.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def relay_log(self) -> list[dict[str, Any]]:
        path = self.data / "relay.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.terminate()
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def window_clock(hhmm: str = "05:10") -> ShiftedClock:
    """A clock standing inside the morning window (computed from the real clock)."""
    return ShiftedClock.at_local(hhmm)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def run_check(
    config: Path, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m edge_agent check --config CONFIG` as a technician runs it (blocking: from a test's event
    loop, call it through asyncio.to_thread so a fake hub on that loop can still answer)."""
    return subprocess.run(
        [sys.executable, "-m", "edge_agent", "check", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        check=False,
    )


def previous_release(dest: Path, commit: str) -> Path:
    """The agent's code at `commit` (an earlier release), unpacked from this repository's history."""
    probe = subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    if probe.returncode != 0:
        pytest.skip(f"commit {commit} is not in this checkout's history (shallow clone?)")
    archive = dest.with_suffix(".tar")
    subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "archive",
            "-o",
            str(archive),
            commit,
            "edge_agent",
            "protocol",
            "playlists",
            "hardware",
        ],
        check=True,
        timeout=60,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest
