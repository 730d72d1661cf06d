"""End to end with a real broker, hub and agents: the central system (its reference peer's client) sends a
CAP emergency over signed HTTP; every loudspeaker of the targeted communes plays it and no other; an Update
replaces it, a Cancel stops it mid-air; an exercise plays as an exercise; a test plays nowhere; a request
signed by another key is refused and plays nowhere."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hub.app import HubRuntime
from hub.central.peer import send_cap
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from protocol import KeyPair, ShiftedClock, Topics
from tests.agent.harness import AgentProcess, wait_until
from tests.central.conftest import SENDER, vi_alert
from tests.hub.conftest import SAMPLE, _task_leak_check, broker_config, no_leaked_tasks  # noqa: F401

pytestmark = pytest.mark.slow
TARGETED = (("loa-24611-1", "67/660/24611"), ("loa-24611-2", "67/660/24611"), ("loa-24613-1", "67/660/24613"))
OTHER = ("loa-24631-1", "67/660/24631")
LONG = " ".join(["Mưa lớn tiếp tục, nước suối dâng cao, bà con tuyệt đối không qua ngầm tràn."] * 6)


def plays_of(agent: AgentProcess, bulletin_id: str, outcome: str | None = None) -> list[dict[str, Any]]:
    return [
        p
        for p in agent.plays()
        if p["bulletin_id"] == bulletin_id and (outcome is None or p["outcome"] == outcome)
    ]


async def test_central_cap_emergency_end_to_end(tmp_path: Path, broker: MosquittoProcess) -> None:
    central = KeyPair.generate()
    cfg = broker_config(tmp_path, broker.host, broker.port)
    cfg = cfg.model_copy(
        update={
            "central": cfg.central.model_copy(update={"enabled": True, "public_keys": [central.public_b64]})
        }
    )
    clock = ShiftedClock()  # real time: the agents check what the hub signs against their own clocks
    async with HubRuntime(cfg, clock=clock, scheduler=False) as rt:
        s = rt.services
        assert s is not None and rt.ingest is not None
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        await asyncio.wait_for(rt.ingest.connected.wait(), 10)
        hubish = SimpleNamespace(
            url=rt.url, keys=s.envelopes.key, topics=Topics(cfg.mqtt.topic_prefix), broker=broker
        )
        agents = []
        for device_id, area in (*TARGETED, OTHER):
            s.devices.register(SYSTEM, device_id=device_id, kind="radio", area=area)
            agents.append(
                AgentProcess(tmp_path / device_id, hubish, clock=clock, device_id=device_id, area=area)
            )
        *targeted, other = agents
        try:
            for a in agents:
                a.start()
            await asyncio.gather(*(a.ready(30) for a in agents))
            sent = datetime.now(UTC).replace(microsecond=0)

            # 1. Alert: every loudspeaker of 24611 and 24613 plays it; 24631's stays silent
            status, first = await send_cap(
                rt.url, central, vi_alert("TW-1", codes=("24611", "24613"), sent=sent)
            )
            assert status == 200 and first["outcome"] == "aired", first
            for a in targeted:
                await wait_until(
                    lambda a=a: plays_of(a, first["bulletin"], "completed"), 60, f"{a.device_id} plays"
                )

            # 2. Update: a longer text replaces it; 3. Cancel stops it while it plays
            status, upd = await send_cap(
                rt.url,
                central,
                vi_alert(
                    "TW-2",
                    msg_type="Update",
                    sent=sent + timedelta(seconds=1),
                    references=((SENDER, "TW-1", sent),),
                    headline="Cập nhật: lũ quét lan rộng",
                    description=LONG,
                    codes=("24611", "24613"),
                ),
            )
            assert status == 200 and upd["outcome"] == "aired", upd
            for a in targeted:
                await wait_until(
                    lambda a=a: a.status().get("now_playing") == upd["bulletin"],
                    60,
                    f"{a.device_id} plays the update",
                )
            status, cancel = await send_cap(
                rt.url,
                central,
                vi_alert(
                    "TW-3",
                    msg_type="Cancel",
                    sent=sent + timedelta(seconds=2),
                    references=((SENDER, "TW-2", sent + timedelta(seconds=1)),),
                ),
            )
            assert status == 200 and cancel["outcome"] == "cancelled", cancel
            for a in targeted:
                await wait_until(
                    lambda a=a: plays_of(a, upd["bulletin"], "interrupted"), 30, f"{a.device_id} stops"
                )
                assert not plays_of(a, upd["bulletin"], "completed")
            assert s.bulletins.get(SYSTEM, upd["bulletin"])["status"] == "cancelled"

            # an Exercise plays as an exercise; a Test and a request signed by another key play nowhere
            status, ex = await send_cap(
                rt.url,
                central,
                vi_alert("TW-4", status="Exercise", codes=("24631",), sent=sent + timedelta(seconds=3)),
            )
            assert status == 200
            await wait_until(lambda: plays_of(other, ex["bulletin"], "completed"), 60, "the exercise plays")
            assert all(p["exercise"] for p in plays_of(other, ex["bulletin"]))
            status, test = await send_cap(
                rt.url,
                central,
                vi_alert("TW-5", status="Test", codes=("24631",), sent=sent + timedelta(seconds=4)),
            )
            assert status == 200 and test["outcome"] == "test" and test["bulletin"] is None
            status, refused = await send_cap(
                rt.url,
                KeyPair.generate(),
                vi_alert("TW-6", codes=("24631",), sent=sent + timedelta(seconds=5)),
            )
            assert status == 401 and refused["error"]["code"] == "bad_signature"
            before = len(other.plays())
            await asyncio.sleep(3)
            assert len(other.plays()) == before
            assert [p["bulletin_id"] for p in other.plays()] == [ex["bulletin"]]  # never the others
        finally:
            for a in agents:
                a.stop()
