"""Two brokers (docs/OPERATIONS.md): the hub publishes to both and listens on both; one broker is killed in
the middle of a window: every agent still plays its programme, an emergency approved after the kill is
played by every agent within 5 s, the hub hears each play (from the broker the agent moved to), /healthz
names the dead broker, and no agent refuses anything. Real Mosquittos, the real hub (HubRuntime), real agent
processes (simulated speakers)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from hub.app import HubRuntime
from hub.config import HubConfig
from hub.models import Play
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from protocol.brokers import broker_name
from protocol.clock import ShiftedClock, parse_time
from protocol.keys import public_key_b64
from tests.agent.harness import AgentProcess, wait_until
from tests.hub.conftest import PASSWORD, SAMPLE, broker_config

COMMUNES = ("67/660/24611", "67/660/24613", "67/660/24631")
LEAD_S = 15  # the window opens this long after the agents start (a loaded machine starts them slowly)
WITHIN_S = 5.0


@pytest.fixture
def two_brokers(tmp_path: Path) -> Iterator[tuple[MosquittoProcess, MosquittoProcess]]:
    with MosquittoProcess(tmp_path / "mq-a") as a, MosquittoProcess(tmp_path / "mq-b") as b:
        yield a, b


def _config(tmp: Path, a: MosquittoProcess, b: MosquittoProcess) -> HubConfig:
    data = broker_config(tmp, a.host, a.port).model_dump(mode="json")
    del data["mqtt"]["host"], data["mqtt"]["port"]
    data["mqtt"]["brokers"] = [broker_name(a.host, a.port), broker_name(b.host, b.port)]
    return HubConfig.model_validate(data)


def _completed(agent: AgentProcess, bid: str) -> dict[str, Any] | None:
    return next((p for p in agent.plays() if p["bulletin_id"] == bid and p["outcome"] == "completed"), None)


async def test_one_broker_dies_mid_window_and_every_agent_plays_on(  # noqa: PLR0915 - one story
    tmp_path: Path, two_brokers: tuple[MosquittoProcess, MosquittoProcess]
) -> None:
    a, b = two_brokers
    names = [broker_name(a.host, a.port), broker_name(b.host, b.port)]
    clock = ShiftedClock.at_local("04:30")
    async with HubRuntime(_config(tmp_path, a, b), clock=clock, scheduler=False) as hub:
        s = hub.services
        assert s is not None and hub.ingest is not None and hub.publisher is not None
        assert [p.broker for p in hub.publisher.brokers] == names
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        s.accounts.create_user(SYSTEM, username="ed", password=PASSWORD, role="editor", area="67")
        for area in COMMUNES:  # the chairs' standing rule: the province's normal bulletins air (Art. 8.3)
            await s.set_standing(SYSTEM, area=area, origins=["province"], kinds=["radio"])
        await asyncio.wait_for(hub.ingest.connected.wait(), 10)
        async with aiohttp.ClientSession(hub.url) as http:
            r = await http.post("/api/v1/auth/login", json={"username": "ed", "password": PASSWORD})
            auth = {"Authorization": "Bearer " + (await r.json())["token"]}

            async def bulletin(title: str, priority: str = "normal") -> str:
                body = {"title": title, "priority": priority, "targets": ["67"], "kinds": ["radio"],
                        "text": f"{title}: người dân chú ý theo dõi."}
                r = await http.post("/api/v1/bulletins", json=body, headers=auth)
                assert r.status == 201, await r.text()
                return str((await r.json())["id"])

            async def approve(bid: str) -> None:
                r = await http.post(f"/api/v1/bulletins/{bid}/approve", headers=auth)
                assert r.status == 200, await r.text()

            first, second = await bulletin("Lịch tiêm phòng"), await bulletin("Lịch cắt điện")
            # the window (05:00) opens LEAD_S from now; hub and agents read the same shifted clock
            clock.offset_s = ShiftedClock.at_local("05:00").offset_s - LEAD_S
            key = public_key_b64(s.envelopes.key.public)
            ns = SimpleNamespace(url=hub.url, keys=SimpleNamespace(public_b64=key),
                                 topics=SimpleNamespace(prefix=hub.config.mqtt.topic_prefix))
            agents = []
            for n, area in enumerate(COMMUNES):
                dev = f"loa-{area.rsplit('/', 1)[1]}"
                s.devices.register(SYSTEM, device_id=dev, kind="radio", area=area)
                order = names if n < 2 else names[::-1]  # two on A first, one on B first
                agents.append(AgentProcess(tmp_path / dev, ns, clock=clock, device_id=dev, area=area,
                                           brokers=order, sim_speed=4.0))
            try:
                for ag in agents:
                    ag.start()
                await approve(first)
                await approve(second)
                await asyncio.gather(*(ag.ready() for ag in agents))
                assert [ag.status()["broker"] for ag in agents] == [names[0], names[0], names[1]]
                # the window is open and the first bulletin plays everywhere: then broker A dies
                await wait_until(lambda: all(_completed(ag, first) for ag in agents), LEAD_S + 30, "first")
                killed = time.monotonic()
                a.kill()
                await wait_until(lambda: all(ag.status().get("broker") == names[1] for ag in agents), 10,
                                 "every agent on broker B")
                print(f"two brokers: every agent on B {time.monotonic() - killed:.2f} s after the kill")
                # the programme goes on: the second bulletin plays everywhere (from the stored programme)
                await wait_until(lambda: all(_completed(ag, second) for ag in agents), 60, "second")
                # an emergency approved now reaches every agent (through B) within WITHIN_S
                storm = await bulletin("Bão số 9 đổ bộ", "emergency")
                sent = clock.now()
                await approve(storm)
                await wait_until(lambda: all(_started(ag, storm) for ag in agents), 15, "storm everywhere")
                starts = [parse_time((_started(ag, storm) or {})["started_at"]) for ag in agents]
                late = [(t - sent).total_seconds() for t in starts]
                print(f"two brokers: emergency started {sorted(round(x, 2) for x in late)} s after approval")
                assert max(late) < WITHIN_S, late

                # the hub heard each play through broker B; /healthz names A and stays up
                def heard() -> int:
                    with s.ctx.db.session() as sess:
                        rows = sess.scalars(select(Play.device_id).where(Play.bulletin_id == storm)).all()
                        return len(set(rows))

                await wait_until(lambda: heard() >= len(agents), 20, "the hub heard every play")
                r = await http.get("/healthz")
                health = await r.json()
                assert r.status == 200, health
                assert health["mqtt"]["brokers"][names[0]]["publisher"] is False
                assert health["mqtt"]["brokers"][names[1]]["publisher"] is True
                assert names[0] in health["mqtt"]["degraded"]
                for ag in agents:
                    assert ag.status()["rejected"] == 0, ag.log_text()[-2000:]
                    done = [p["bulletin_id"] for p in ag.plays() if p["outcome"] == "completed"]
                    assert done.count(first) == 1 and done.count(second) == 1, done
            finally:
                for ag in agents:
                    ag.stop()


def _started(agent: AgentProcess, bid: str) -> dict[str, Any] | None:
    return next((p for p in agent.plays() if p["bulletin_id"] == bid and p.get("started_at")), None)

