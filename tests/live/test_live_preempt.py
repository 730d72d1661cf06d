"""A live announcement preempts the programme on a real agent and the programme resumes after it: the item
that was playing is cut off ("nhường phát trực tiếp"), the stream plays, and after the stop the item plays
again (its after_interrupt). A signing fake hub, a real Icecast fed by ffmpeg, a real agent process."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from hub.icecast import AUTH_HEADER, IcecastProcess
from protocol.messages import LiveBody
from tests.agent.harness import AgentProcess, FakeHub, wait_until
from tests.live.harness import loud_ms

pytestmark = pytest.mark.slow
TOKEN = "4102444800.test-token"  # noqa: S105 - what the fake hub lets in


async def auth(request: web.Request) -> web.Response:
    form = await request.post()
    if form.get("pass") == TOKEN:
        name, value = AUTH_HEADER.split(": ")
        return web.Response(text="ok", headers={name: value})
    return web.Response(text="no")


async def test_live_preempts_the_programme_which_resumes(hub: FakeHub, tmp_path: Path) -> None:
    app = web.Application()
    app.router.add_post("/stream/auth", auth)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    agent = AgentProcess(tmp_path / "agent", hub, clock=hub.clock, sim_speed=1.0)
    with IcecastProcess(tmp_path / "icecast", auth_url=f"http://127.0.0.1:{port}/stream/auth") as ice:
        source = await asyncio.create_subprocess_exec(  # the hub's encoder, as a plain ffmpeg source
            "ffmpeg", "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "sine=frequency=440:duration=30",
            "-c:a", "libmp3lame", "-b:a", "64k", "-content_type", "audio/mpeg", "-f", "mp3",
            f"icecast://source:{ice.source_password}@{ice.host}:{ice.port}/live/live-x.mp3",
        )
        try:
            now = hub.clock.now()
            item = hub.bulletin("thong-bao", 6, freq=300, after_interrupt="restart")
            await hub.send_programme(hub.programme([(item, now + timedelta(seconds=2))]))
            agent.start()
            await agent.ready()
            await wait_until(lambda: agent.status().get("now_playing") == "thong-bao", 15, "the item playing")
            expires = hub.clock.now() + timedelta(seconds=60)
            body = LiveBody("live-x", "start", "priority", "Họp khẩn", f"{ice.url}/live/live-x.mp3", TOKEN,
                            expires.isoformat(), ["67/660/24613"])
            topic = hub.topics.alert("67/660/24613")
            await hub.publish(topic, hub.sign("live", body.to_dict(), to=topic, expires=expires))
            cut = await wait_until(
                lambda: [p for p in agent.plays() if p["bulletin_id"] == "thong-bao"], 15, "the item cut off"
            )
            assert cut[0]["outcome"] == "interrupted" and "phát trực tiếp live-x" in cut[0]["detail"], cut
            await asyncio.sleep(3)  # the official speaks
            stop = LiveBody("live-x", "stop", "priority", areas=["67/660/24613"])
            await hub.publish(topic, hub.sign("live", stop.to_dict(), to=topic, expires=expires))
            again = ("thong-bao", "completed")
            done = await wait_until(
                lambda: [p for p in agent.plays() if (p["bulletin_id"], p["outcome"]) == again],
                20, "the item played again after the live session",
            )
            live = [p for p in agent.plays() if p["bulletin_id"] == "live-x"]
            assert live and live[0]["outcome"] == "completed" and live[0]["ended_at"] <= done[0]["started_at"]
            wavs = sorted((agent.data / "played").glob("*-live*.wav"))
            assert sum(loud_ms(w, threshold=1000) for w in wavs) >= 1500
        finally:
            source.terminate()
            await source.wait()
            agent.stop()
            await runner.cleanup()
