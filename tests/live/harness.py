"""A live-announcement stack of real parts: Mosquitto, Icecast, the hub (HubRuntime) and agent processes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp

from hub.app import HubRuntime
from hub.config import HubConfig
from hub.icecast import IcecastProcess
from hub.mosquitto import MosquittoProcess, free_port
from hub.roles import SYSTEM
from protocol.clock import ShiftedClock
from protocol.keys import public_key_b64
from tests.agent.harness import AgentProcess, window_clock
from tests.hub.conftest import PASSWORD, SAMPLE, broker_config

COMMUNE = "67/660/24613"
OTHER = "67/660/24611"


@dataclass(frozen=True)
class Speech:
    data: bytes
    seconds: float


def make_speech(path: Path, seconds: float, freq: int = 440) -> Speech:
    """What a browser's MediaRecorder sends: WebM/Opus (here a tone, so the loudspeakers' copy is checked)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency={freq}:duration={seconds}", "-ac", "1", "-c:a", "libopus", "-b:a", "32k",
         "-f", "webm", str(path)],
        check=True, timeout=30,
    )
    return Speech(path.read_bytes(), seconds)


def loud_ms(path: Path, threshold: int = 2000) -> int:
    """Milliseconds of a 16-bit mono WAV whose samples go above `threshold` (a tone, not silence)."""
    try:
        with wave.open(str(path), "rb") as w:
            rate, frames = w.getframerate(), w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error):
        return 0
    loud = 0
    step = rate // 100  # 10 ms blocks
    for i in range(0, len(frames) // 2 - step, step):
        block = memoryview(frames)[i * 2:(i + step) * 2].cast("h")
        if max(-min(block), *block) > threshold:
            loud += 10
    return loud


@dataclass
class LiveStack:
    hub: HubRuntime
    icecast: IcecastProcess
    clock: ShiftedClock
    http: aiohttp.ClientSession
    agents: list[AgentProcess] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    async def auth(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            r = await self.http.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status == 200, await r.text()
            self.tokens[user] = (await r.json())["token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    async def call(self, method: str, path: str, user: str, **kw: Any) -> tuple[int, Any]:
        r = await self.http.request(method, path, headers=await self.auth(user), **kw)
        return r.status, await r.json()

    async def speak(self, user: str, session_id: str, speech: Speech, *, pace: float = 1.0,
                    stop: bool = False) -> None:
        """Send `speech` on the session's audio websocket at the pace a microphone would (250 ms slices)."""
        data = speech.data
        step = max(int(len(data) / speech.seconds / 4), 256)
        url = f"/api/v1/live/{session_id}/audio"
        async with self.http.ws_connect(url, headers=await self.auth(user)) as ws:
            t0 = time.monotonic()
            for n, i in enumerate(range(0, len(data), step)):
                await ws.send_bytes(data[i:i + step])
                await asyncio.sleep(max(t0 + (n + 1) * 0.25 / pace - time.monotonic(), 0))
            if stop:
                await ws.send_str("stop")

    def agent(self, tmp: Path, device_id: str, area: str) -> AgentProcess:
        hub = SimpleNamespace(
            url=self.hub.url,
            keys=SimpleNamespace(public_b64=public_key_b64(self.hub.services.envelopes.key.public)),
            topics=SimpleNamespace(prefix=self.hub.config.mqtt.topic_prefix),
            broker=SimpleNamespace(host=self.hub.config.mqtt.host, port=self.hub.config.mqtt.port),
        )
        a = AgentProcess(tmp / device_id, hub, clock=self.clock, sim_speed=1.0, device_id=device_id,
                         area=area)
        self.hub.services.devices.register(SYSTEM, device_id=device_id, kind="radio", area=area)
        self.agents.append(a)
        return a


def live_config(tmp: Path, broker: MosquittoProcess, icecast: IcecastProcess, http_port: int,
                **stream: Any) -> HubConfig:
    cfg = broker_config(tmp, broker.host, broker.port)
    data = cfg.model_dump(mode="json")
    data["http"]["port"] = http_port
    data["stream"] = {"enabled": True, "host": icecast.host, "port": icecast.port,
                      "source_password_file": str(icecast.source_password_file), "refresh_s": 2,
                      "token_ttl_s": 20, "grace_s": 2.0, **stream}
    return HubConfig.model_validate(data)


@asynccontextmanager
async def live_stack(tmp: Path, broker: MosquittoProcess, **stream: Any) -> AsyncIterator[LiveStack]:
    http_port = free_port()
    clock = window_clock()
    with IcecastProcess(tmp / "icecast", auth_url=f"http://127.0.0.1:{http_port}/api/v1/stream/auth") as ice:
        cfg = live_config(tmp, broker, ice, http_port, **stream)
        async with HubRuntime(cfg, clock=clock, scheduler=False) as hub:
            s = hub.services
            assert s is not None
            s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
            for name, role, area in (("editor67", "editor", "67"), ("chair24613", "commune_chair", COMMUNE),
                                     ("chair24611", "commune_chair", OTHER)):
                s.accounts.create_user(SYSTEM, username=name, password=PASSWORD, role=role, area=area)
            async with aiohttp.ClientSession(hub.url) as http:
                stack = LiveStack(hub, ice, clock, http)
                try:
                    yield stack
                finally:
                    for a in stack.agents:
                        a.stop()
