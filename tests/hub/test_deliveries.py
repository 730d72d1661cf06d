"""Emergency confirmations: first status showing a device playing, play events, recall, per device."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from sqlalchemy import select

from hub.app import HubRuntime
from hub.db import Database
from hub.models import Bulletin, FirstSeenPlaying
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from hub.services.deliveries import record_first_playing
from protocol.clock import FrozenClock
from protocol.topics import Topics
from tests.hub.conftest import PASSWORD, SAMPLE, T0, Hub, broker_config

COMMUNE = "67/660/24613"
EMERGENCY = {
    "title": "Cảnh báo lũ quét",
    "priority": "emergency",
    "form": "text",
    "text": "Lũ đang lên, người dân di chuyển lên vùng cao.",
    "targets": [COMMUNE],
    "kinds": ["radio"],
    "exercise": True,
}


def status(device: str, bulletin: str | None, at: datetime, state: str = "emergency") -> dict[str, Any]:
    return {
        "device_id": device,
        "kind": "radio",
        "state": state,
        "at": at.isoformat(),
        "area": COMMUNE,
        "now_playing": bulletin,
        "volume": 80,
    }


def play(device: str, n: int, bulletin: str, started: datetime, outcome: str = "completed") -> dict[str, Any]:
    return {
        "id": f"{device}:{n}",
        "type": "play",
        "at": started.isoformat(),
        "data": {
            "bulletin_id": bulletin,
            "outcome": outcome,
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(seconds=9)).isoformat(),
            "emergency": True,
        },
    }


async def _sent(hub: Hub, body: dict[str, Any]) -> tuple[str, datetime]:
    status_, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=body)
    assert status_ == 201, b
    status_, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status_ == 200, b
    return b["id"], datetime.fromisoformat(b["approved_at"])


def seen_rows(hub: Hub) -> list[tuple[str, str, datetime]]:
    with hub.s.ctx.db.session() as sess:
        return [
            (r.bulletin_id, r.device_id, r.at)
            for r in sess.scalars(select(FirstSeenPlaying).order_by(FirstSeenPlaying.device_id))
        ]


async def test_first_status_or_play_event_whichever_is_earlier(hub: Hub) -> None:
    for dev, kind, area in (
        ("loa-1", "radio", COMMUNE),
        ("loa-2", "radio", COMMUNE),
        ("loa-3", "radio", COMMUNE),
        ("loa-4", "radio", COMMUNE),
        ("bang-1", "led", COMMUNE),
        ("loa-611", "radio", "67/660/24611"),
    ):
        hub.s.devices.register(SYSTEM, device_id=dev, kind=kind, area=area)
    bid, sent = await _sent(hub, EMERGENCY)
    normal = (
        await hub.call(
            "POST",
            "/api/v1/bulletins",
            "editor67",
            json={**EMERGENCY, "priority": "normal", "title": "Họp dân"},
        )
    )[1]["id"]
    hub.clock.advance(5)
    devices = hub.s.devices
    devices.ingest_statuses(
        {
            "loa-1": status("loa-1", bid, sent + timedelta(seconds=1.2)),
            "loa-2": status("loa-2", bid, sent - timedelta(seconds=30)),  # its clock runs behind
            "loa-3": status(
                "loa-3", normal, sent + timedelta(seconds=1), state="playing"
            ),  # not an emergency
            "loa-4": status("loa-4", bid, sent + timedelta(seconds=1), state="offline"),  # last will
            "loa-611": status("loa-611", bid, sent + timedelta(seconds=1)),  # another commune: not a target
            "ghost": {
                **status("ghost", bid, sent),
                "area": "99/999",
            },  # unknown device, unknown area: ignored
        }
    )
    # a later heartbeat (and a redelivery) does not move the first time
    devices.ingest_status("loa-1", status("loa-1", bid, sent + timedelta(seconds=4)))
    devices.ingest_statuses({"loa-1": status("loa-1", bid, sent + timedelta(seconds=1.2))})
    assert seen_rows(hub) == [
        (bid, "loa-1", sent + timedelta(seconds=1.2)),
        (bid, "loa-2", sent),
    ]  # loa-611 was not sent it: its claim proves nothing (a device anomaly, tests/security)

    assert devices.ingest_events("loa-2", [play("loa-2", 1, bid, sent + timedelta(seconds=3))]) == 1
    devices.ingest_events(
        "loa-3",
        [
            play("loa-3", 1, bid, sent + timedelta(seconds=0.5), "failed"),
            play("loa-3", 2, bid, sent + timedelta(seconds=2.5)),
        ],
    )
    status_, dl = await hub.call("GET", f"/api/v1/bulletins/{bid}/deliveries", "viewer")
    assert status_ == 200, dl
    rows = {r["device_id"]: r for r in dl["devices"]}
    assert set(rows) == {"loa-1", "loa-2", "loa-3", "loa-4"}  # the LED board is not a target kind
    assert (dl["total"], dl["confirmed"], dl["sent_at"]) == (4, 3, sent.isoformat())
    one, two, three, far = rows["loa-1"], rows["loa-2"], rows["loa-3"], rows["loa-4"]
    assert (one["latency_ms"], one["confirmed_by"], one["outcome"], one["plays"]) == (
        1200,
        "status",
        "playing",
        0,
    )
    assert (two["latency_ms"], two["confirmed_by"], two["outcome"]) == (0, "status", "completed")
    assert (three["latency_ms"], three["confirmed_by"], three["outcome"], three["plays"]) == (
        2500,
        "play",
        "completed",
        2,
    )
    assert datetime.fromisoformat(three["first_play_at"]) == sent + timedelta(seconds=2.5)
    assert (far["first_play_at"], far["latency_ms"], far["outcome"]) == (None, None, None)

    # a commune chair sees only devices of their commune; another commune's chair does not see the bulletin
    status_, dl = await hub.call("GET", f"/api/v1/bulletins/{bid}/deliveries", "chair24611")
    assert status_ == 404, dl
    status_, dl = await hub.call("GET", f"/api/v1/bulletins/{bid}/deliveries", "chair24613")
    assert status_ == 200 and {r["device_id"] for r in dl["devices"]} == {"loa-1", "loa-2", "loa-3", "loa-4"}
    status_, err = await hub.call("GET", "/api/v1/bulletins/khong-co/deliveries", "viewer")
    assert status_ == 404 and err["error"]["field"] == "id"


async def test_latency_is_when_the_device_started_not_when_its_status_was_sent(hub: Hub) -> None:
    """Agents send a status up to a second after a change (debounced) and say when the play started."""
    for dev in ("loa-1", "loa-2", "loa-3", "loa-4"):
        hub.s.devices.register(SYSTEM, device_id=dev, kind="radio", area=COMMUNE)
    bid, sent = await _sent(hub, EMERGENCY)
    hub.clock.advance(5)

    def since(dev: str, at: float, started: Any) -> dict[str, Any]:
        return {**status(dev, bid, sent + timedelta(seconds=at)), "playing_since": started}

    hub.s.devices.ingest_statuses(
        {
            "loa-1": since("loa-1", 1.3, (sent + timedelta(seconds=0.4)).isoformat()),
            "loa-2": since("loa-2", 1.1, (sent - timedelta(seconds=20)).isoformat()),  # clock behind
            "loa-3": since("loa-3", 1.2, "không phải thời gian"),  # unreadable: the status's own time
            "loa-4": status("loa-4", bid, sent + timedelta(seconds=1.5)),  # an older agent: no playing_since
        }
    )
    status_, dl = await hub.call("GET", f"/api/v1/bulletins/{bid}/deliveries", "viewer")
    assert status_ == 200, dl
    latency = {r["device_id"]: r["latency_ms"] for r in dl["devices"]}
    assert latency == {"loa-1": 400, "loa-2": 0, "loa-3": 1200, "loa-4": 1500}


async def test_recall_confirmations_per_device(hub: Hub) -> None:
    for dev in ("loa-1", "loa-2"):
        hub.s.devices.register(SYSTEM, device_id=dev, kind="radio", area=COMMUNE)
    bid, _ = await _sent(
        hub, {**EMERGENCY, "priority": "priority", "title": "Lịch tiêm chủng", "exercise": False}
    )
    status_, _b = await hub.call(
        "POST", f"/api/v1/bulletins/{bid}/recall", "editor67", json={"reason": "Sai ngày"}
    )
    assert status_ == 200
    hub.clock.advance(3)
    ev = {
        "id": "loa-2:r",
        "type": "recall_confirmed",
        "at": hub.clock.now().isoformat(),
        "data": {"bulletin_id": bid},
    }
    hub.s.devices.ingest_events("loa-2", [ev, ev])
    status_, dl = await hub.call("GET", f"/api/v1/bulletins/{bid}/deliveries", "viewer")
    assert status_ == 200 and dl["recall_confirmed"] == 1 and dl["status"] == "recalled"
    rows = {r["device_id"]: r for r in dl["devices"]}
    assert rows["loa-1"]["recall_confirmed_at"] is None
    assert datetime.fromisoformat(rows["loa-2"]["recall_confirmed_at"]) == hub.clock.now()
    assert dl["confirmed"] == 0 and rows["loa-2"]["latency_ms"] is None


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_record_first_playing_is_idempotent_on_both_databases(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}" if engine == "sqlite" else request.getfixturevalue("pg_url")
    db = Database(url)
    db.migrate()
    try:
        with db.session() as sess:
            sess.add(
                Bulletin(
                    id="b-em",
                    title="Lũ",
                    priority="emergency",
                    form="text",
                    origin="province",
                    status="approved",
                    kinds=["radio"],
                    repeat={},
                    created_at=T0,
                    updated_at=T0,
                    approved_at=T0,
                )
            )
        first = T0 + timedelta(seconds=3), status("loa-1", "b-em", T0 + timedelta(seconds=2))
        heartbeat = T0 + timedelta(seconds=40), status("loa-1", "b-em", T0 + timedelta(seconds=39))
        for now, st in (first, heartbeat, first):  # first sight, a heartbeat, a redelivery
            with db.session() as sess:
                assert record_first_playing(sess, {"loa-1": st}, now) == 1
        with db.session() as sess:
            rows = [(r.device_id, r.at, r.received_at) for r in sess.scalars(select(FirstSeenPlaying))]
        assert rows == [("loa-1", T0 + timedelta(seconds=2), T0 + timedelta(seconds=3))]
    finally:
        db.dispose()


async def test_status_over_the_broker_confirms_before_the_play_event(
    tmp_path: Path, broker: MosquittoProcess
) -> None:
    cfg = broker_config(tmp_path, broker.host, broker.port)
    prefix = cfg.mqtt.topic_prefix
    clock, topics = FrozenClock(T0), Topics(prefix)
    async with HubRuntime(cfg, clock=clock, scheduler=False) as hub:
        s = hub.services
        assert s is not None and hub.ingest is not None
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        s.accounts.create_user(SYSTEM, username="ed", password=PASSWORD, role="editor", area="67")
        s.devices.register(SYSTEM, device_id="radio-em", kind="radio", area=COMMUNE)
        await asyncio.wait_for(hub.ingest.connected.wait(), 10)
        async with aiohttp.ClientSession(hub.url) as http:
            r = await http.post("/api/v1/auth/login", json={"username": "ed", "password": PASSWORD})
            auth = {"Authorization": "Bearer " + (await r.json())["token"]}
            r = await http.post("/api/v1/bulletins", headers=auth, json=EMERGENCY)
            bid = (await r.json())["id"]
            r = await http.post(f"/api/v1/bulletins/{bid}/approve", headers=auth)
            sent = datetime.fromisoformat((await r.json())["approved_at"])
            clock.advance(2)

            async def delivery(want: Any) -> dict[str, Any]:
                while True:
                    r = await http.get(f"/api/v1/bulletins/{bid}/deliveries", headers=auth)
                    row = (await r.json())["devices"][0]
                    if want(row):
                        return dict(row)
                    await asyncio.sleep(0.05)

            async with aiomqtt.Client(broker.host, broker.port, identifier="radio-em") as dev:
                # playback starts: the retained status says so at once (the play event comes when it ends)
                st = status("radio-em", bid, sent + timedelta(seconds=1.5))
                await dev.publish(topics.status("radio-em"), json.dumps(st), qos=1, retain=True)
                row = await asyncio.wait_for(delivery(lambda r: r["first_play_at"]), 10)
                assert (row["latency_ms"], row["confirmed_by"], row["outcome"]) == (1500, "status", "playing")
                clock.advance(10)
                ev = play("radio-em", 1, bid, sent + timedelta(seconds=1.6))
                await dev.publish(topics.event("radio-em"), json.dumps(ev), qos=1)
                await dev.publish(
                    topics.status("radio-em"),
                    json.dumps({**st, "state": "idle", "now_playing": None, "at": clock.now().isoformat()}),
                    qos=1,
                    retain=True,
                )
                row = await asyncio.wait_for(delivery(lambda r: r["plays"] == 1), 10)
                assert (row["latency_ms"], row["confirmed_by"], row["outcome"]) == (
                    1500,
                    "status",
                    "completed",
                )
                await dev.publish(
                    topics.status("radio-em"), b"", qos=1, retain=True
                )  # leave the broker clean
