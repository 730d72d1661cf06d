"""Tiếp sóng on a real agent from a real Icecast mount fed by ffmpeg: the relay plays at its fixed time; when
the station's source dies the agent plays the programme instead and comes back when it returns; an emergency
cuts in over it; a silent source is a gap too; the report says how long it relayed and where the gaps were."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from hub.icecast import AUTH_HEADER, IcecastProcess
from hub.mosquitto import free_port
from protocol.messages import RelayEntry, WindowSpan
from tests.agent.harness import TZ, AgentProcess, Collector, FakeHub, wait_until
from tests.live.harness import loud_ms

MOUNT = "/relay/tinh.mp3"
TOKEN = "1900000000.relaytoken"  # noqa: S105 - the test auth server's listening token


@pytest.fixture
async def stream_server(tmp_path: Path) -> AsyncIterator[IcecastProcess]:
    """Icecast whose listener check (the hub's /stream/auth) lets in the relay's token on its mount only."""
    seen: list[tuple[str, str]] = []

    async def auth(request: web.Request) -> web.Response:
        form = await request.post()
        seen.append((str(form.get("mount")), str(form.get("pass"))))
        if str(form.get("mount")).split("?")[0] == MOUNT and form.get("pass") == TOKEN:
            name, value = AUTH_HEADER.split(": ")
            return web.Response(text="ok", headers={name: value})
        return web.Response(text="no")

    app = web.Application()
    app.router.add_post("/auth", auth)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        with IcecastProcess(tmp_path / "icecast", auth_url=f"http://127.0.0.1:{port}/auth") as ice:
            yield ice
    finally:
        await runner.cleanup()


class Source:
    """The higher-level station: ffmpeg sending a tone (or silence) to the mount, in real time."""

    def __init__(self, ice: IcecastProcess) -> None:
        self.ice = ice
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, lavfi: str) -> None:
        url = f"icecast://source:{self.ice.source_password}@{self.ice.host}:{self.ice.port}{MOUNT}"
        self.proc = subprocess.Popen(
            ["ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", lavfi, "-ac", "1", "-c:a",
             "libmp3lame", "-b:a", "32k", "-content_type", "audio/mpeg", "-f", "mp3", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def source(stream_server: IcecastProcess) -> Iterator[Source]:
    s = Source(stream_server)
    yield s
    s.stop()


def relay_files(agent: AgentProcess) -> list[dict[str, object]]:
    index = agent.data / "played" / "index.jsonl"
    lines = index.read_text().splitlines() if index.exists() else []
    return [r for r in map(json.loads, lines) if r.get("source") == "relay"]


def loud(agent: AgentProcess, n: int) -> int:
    """Milliseconds of tone in the relay's n-th recording (0 while it is not there)."""
    wavs = sorted((agent.data / "played").glob("*-relay*.wav")) if (agent.data / "played").exists() else []
    return loud_ms(wavs[n]) if len(wavs) > n else 0


async def test_relay_plays_falls_back_when_the_source_dies_or_goes_silent_and_comes_back(
    hub: FakeHub, collector: Collector, stream_server: IcecastProcess, source: Source, tmp_path: Path
) -> None:
    # a gap after 1.5 s of silence (default 3 s), so the test is short; no sound for 3 s (the default: the
    # station's source takes longer than 1.5 s to switch from the tone to silence below)
    agent = AgentProcess(tmp_path / "agent", hub, clock=hub.clock, extra="[radio]\nrelay_silence_s = 1.5")
    try:
        await _scenario(hub, collector, agent, stream_server, source)
    finally:
        agent.stop()


async def _scenario(hub: FakeHub, collector: Collector, agent: AgentProcess, stream_server: IcecastProcess,
                    source: Source) -> None:
    source.start("sine=frequency=440")
    now = hub.clock.now()
    start = now + timedelta(seconds=2)
    end = start + timedelta(seconds=26)
    # the programme's items of the window come after the relay; during a gap they play early
    b1, b2 = hub.bulletin("b1", 2.0, priority="priority"), hub.bulletin("b2", 2.0, priority="priority")
    p = hub.programme([(b1, end + timedelta(seconds=5)), (b2, end + timedelta(seconds=10))])
    today = now.astimezone(TZ).date()
    w_start, w_end = (datetime.combine(today, time(5), TZ), datetime.combine(today, time(6, 30), TZ))
    entry = RelayEntry("relay-1", "Đài tỉnh", stream_server.url + MOUNT, start.isoformat(), end.isoformat(),
                       "05:00-06:30", token=TOKEN, token_expires=(end + timedelta(minutes=5)).isoformat())
    day = dataclasses.replace(p.days[0], relays=[entry], window_spans=[
        WindowSpan("05:00-06:30", w_start.isoformat(), w_end.isoformat())])
    p = dataclasses.replace(p, days=[day])
    agent.start()
    await agent.ready()
    await hub.send_programme(p)

    # at its time: the station's tone on the loudspeaker
    await wait_until(lambda: loud(agent, 0) > 1500, 20, "the relay's tone on the loudspeaker")
    assert collector.plays("b1") == []  # nothing of the programme meanwhile
    # the station's source dies: after a few seconds the programme plays instead
    source.stop()
    await wait_until(lambda: collector.plays("b1", "completed"), 15, "the programme's item in the gap")
    # the source comes back: the relay again (a second recording with the tone)
    source.start("sine=frequency=660")
    await wait_until(lambda: loud(agent, 1) > 1000, 15, "the relay back on the loudspeaker")
    # an emergency cuts in over the relay; the relay comes back after it
    storm = hub.bulletin("bao-so-9", 10, priority="emergency", freq=880)  # 1 s at the agent's sim speed
    body, expires = hub.alert(storm)
    await hub.send_alert(body, expires, attach=True)
    await wait_until(lambda: collector.plays("bao-so-9", "completed"), 15, "the emergency over the relay")
    await wait_until(lambda: loud(agent, 2) > 500, 15, "the relay back after the emergency")
    # the station sends silence: a gap too, and the programme plays again
    source.stop()
    source.start("anullsrc=r=44100:cl=mono")
    await wait_until(lambda: collector.plays("b2", "completed"), 15, "the programme's item in the silence")

    # at the end: one report, the minutes relayed and the gaps with their causes
    left = (end - hub.clock.now()).total_seconds()
    [report] = await wait_until(lambda: collector.plays("relay-1"), left + 15, "the relay's report")
    assert report["outcome"] == "completed" and report["relay"] is True
    assert [g["why"] for g in report["gaps"]] == ["mất luồng", "nhường tin khẩn cấp", "luồng im lặng"], report
    assert 3 <= report["relayed_s"] <= 26 - 6, report
    assert report["scheduled_at"] == start.isoformat()
    assert len(relay_files(agent)) >= 3
