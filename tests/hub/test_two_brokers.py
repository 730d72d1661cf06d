"""The hub's MQTT with two brokers (hub/mqtt.py: one BrokerPublisher per broker behind `Publisher`): a broker
that is down does not slow the other and only fills its own bounded queue (everything is republished
when it is back); a publish resolves on the first broker's acknowledgement; an emergency goes to both
together; a bad broker list is refused; a stale status kept by the broker a device left is ignored. Real
Mosquittos; the whole story with agents is tests/e2e/test_two_brokers.py."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path

import aiomqtt
import pytest

import hub.__main__ as cli
from hub import mqtt
from hub.app import HubRuntime, build_services
from hub.broker import MESSAGE_SIZE_LIMIT
from hub.config import ConfigError, HubConfig
from hub.mosquitto import MosquittoProcess, free_port
from hub.mqtt import MessageTooLarge, Publisher
from hub.roles import SYSTEM
from hub.services.publishing import RecordingPublisher
from hub.speech import NoSpeech
from protocol.brokers import broker_name
from tests.agent.harness import wait_until
from tests.hub.conftest import SAMPLE, broker_config, make_config


def _two(tmp: Path, a: tuple[str, int], b: tuple[str, int]) -> HubConfig:
    data = broker_config(tmp, *a).model_dump(mode="json")
    del data["mqtt"]["host"], data["mqtt"]["port"]
    data["mqtt"]["brokers"] = [broker_name(*a), broker_name(*b)]
    return HubConfig.model_validate(data)


async def _collect(
    broker: MosquittoProcess, topic: str, got: list[tuple[float, bytes]], ready: asyncio.Event
) -> None:
    async with aiomqtt.Client(broker.host, broker.port, identifier=f"sub-{uuid.uuid4().hex[:6]}") as sub:
        await sub.subscribe(topic, qos=1)
        ready.set()
        async for msg in sub.messages:
            got.append((time.monotonic(), bytes(msg.payload)))  # type: ignore[arg-type]


async def test_a_broker_down_fills_only_its_own_bounded_queue_then_gets_everything_again(
    tmp_path: Path, broker: MosquittoProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mqtt, "MAX_QUEUED_PER_BROKER", 5)
    down_port = free_port()
    cfg = _two(tmp_path, (broker.host, broker.port), ("127.0.0.1", down_port))
    topic = f"{cfg.mqtt.topic_prefix}/area/67/alert"
    pub = Publisher(cfg.mqtt)
    gaps: list[float] = []
    pub.on_gap = lambda: gaps.append(time.monotonic())
    got_a: list[tuple[float, bytes]] = []
    got_b: list[tuple[float, bytes]] = []
    ready_a, ready_b = asyncio.Event(), asyncio.Event()
    late_b = MosquittoProcess(tmp_path / "mq-b", port=down_port)
    tasks = [
        asyncio.create_task(pub.run(), name="pub"),
        asyncio.create_task(_collect(broker, topic, got_a, ready_a), name="sub-a"),
    ]
    try:
        await asyncio.wait_for(ready_a.wait(), 10)
        await asyncio.wait_for(pub.brokers[0].connected.wait(), 10)
        assert pub.connected.is_set() and not pub.brokers[1].connected.is_set()
        t0 = time.monotonic()
        futs = [pub.publish(topic, f"m{n}".encode(), retain=False) for n in range(20)]
        await asyncio.wait_for(asyncio.gather(*futs), 5)  # acknowledged by A: B being down slows nothing
        assert time.monotonic() - t0 < 2.0
        assert pub.brokers[1].pending == 5 and pub.brokers[1].dropped == 15  # bounded, the newest kept
        assert pub.pending == 5 and not gaps
        # B comes up: it gets what it kept, and the hub is asked to republish everything (on_gap)
        late_b.start()
        tasks.append(asyncio.create_task(_collect(late_b, topic, got_b, ready_b), name="sub-b"))
        await asyncio.wait_for(pub.brokers[1].connected.wait(), 15)
        assert len(gaps) == 1
        await pub.drain(10)
        assert pub.brokers[1].pending == 0
        # an emergency now goes to both brokers together (each broker's own task, not one after the other)
        await asyncio.wait_for(ready_b.wait(), 10)
        await asyncio.wait_for(pub.publish(topic, b"khan-cap", urgent=True), 5)
        await wait_until(lambda: any(p == b"khan-cap" for _, p in got_b), 5, "the emergency on B")
        await wait_until(lambda: any(p == b"khan-cap" for _, p in got_a), 5, "the emergency on A")
        assert [p for _, p in got_a][:20] == [f"m{n}".encode() for n in range(20)]
        at_a = next(t for t, p in got_a if p == b"khan-cap")
        at_b = next(t for t, p in got_b if p == b"khan-cap")
        assert abs(at_a - at_b) < 0.5
        # B restarts (its retained store may be older than what it missed): everything again, once more
        late_b.stop()
        await wait_until(lambda: not pub.brokers[1].connected.is_set(), 10, "B seen gone")
        late_b.start()
        await asyncio.wait_for(pub.brokers[1].connected.wait(), 15)
        assert len(gaps) == 2 and pub.connected.is_set()
        # too big for any broker: refused at once, by the facade as by one broker
        with pytest.raises(MessageTooLarge):
            await pub.publish(topic, b"x" * (MESSAGE_SIZE_LIMIT + 1))
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        pub.abandon()
        late_b.stop()


def test_the_hubs_broker_list_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="broker 'b' has no port"):
        make_config(tmp_path, mqtt={"brokers": ["a:1883", "b"]})
    with pytest.raises(ConfigError, match=r"mqtt\.brokers and mqtt\.host/mqtt\.port are both set"):
        make_config(tmp_path, mqtt={"brokers": ["a:1883"], "port": 1884})
    with pytest.raises(ConfigError, match="listed twice"):
        make_config(tmp_path, mqtt={"brokers": ["a:1883", "a:1883"]})
    cfg = make_config(tmp_path, mqtt={"brokers": ["a:1883", "[fd00::5]:8883"]})
    assert cfg.mqtt.endpoints == (("a", 1883), ("fd00::5", 8883))
    assert make_config(tmp_path, mqtt={"host": "h", "port": 1884}).mqtt.endpoints == (("h", 1884),)


def test_a_stale_status_kept_by_the_broker_a_device_left_is_ignored(tmp_path: Path) -> None:
    rt = HubRuntime(make_config(tmp_path))
    new = {"state": "offline", "at": "2026-11-30T05:10:00+07:00"}
    old = {"state": "idle", "at": "2026-11-30T05:00:00+07:00"}
    assert not rt._stale_status("loa-1", new, retained=False)
    assert rt._stale_status("loa-1", old, retained=True)  # broker A's copy from before the move: ignored
    assert not rt._stale_status("loa-1", old, retained=False)  # a live one counts (a clock set back)
    assert not rt._stale_status("loa-2", old, retained=True)  # the first heard of a device counts
    assert not rt._stale_status("loa-1", {"state": "idle", "at": "not a time"}, retained=True)


async def test_hub_processes_of_one_share_group_split_the_device_reports(
    tmp_path: Path, broker: MosquittoProcess
) -> None:
    """mqtt.ingest_share_group: each report reaches one ingest of the group ($share/<group>/..., as the hubs
    of a clustered broker would read them), with its real topic; a bad group name is refused."""
    got: dict[str, list[str]] = {"h1": [], "h2": []}
    prefix = f"t{uuid.uuid4().hex[:8]}/v1"
    ingests = []
    for name, seen in got.items():
        cfg = broker_config(
            tmp_path / name, broker.host, broker.port, topic_prefix=prefix, ingest_share_group="hubs"
        )

        def handler(topic: str, payload: bytes, retained: bool, seen: list[str] = seen) -> None:
            seen.append(f"{topic} {payload.decode()}")

        ingests.append(mqtt.Ingest(cfg.mqtt, "", [f"{prefix}/device/+/event"], handler))
    tasks = [asyncio.create_task(i.run(), name=f"ingest-{n}") for n, i in enumerate(ingests)]
    try:
        for i in ingests:
            await asyncio.wait_for(i.connected.wait(), 10)
        async with aiomqtt.Client(broker.host, broker.port, identifier="loa-1") as dev:
            for n in range(20):
                await dev.publish(f"{prefix}/device/loa-1/event", f"e{n}", qos=1)
        await wait_until(lambda: len(got["h1"]) + len(got["h2"]) >= 20, 10, "every report")
        both = got["h1"] + got["h2"]
        assert sorted(both) == sorted(f"{prefix}/device/loa-1/event e{n}" for n in range(20))  # once each
        assert got["h1"] and got["h2"], got
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    with pytest.raises(ConfigError, match="ingest_share_group"):
        make_config(tmp_path, mqtt={"ingest_share_group": "hubs/#"})


def test_what_both_brokers_need_is_written_by_the_hub(tmp_path: Path) -> None:
    """The CLI's parts (docs/OPERATIONS.md "Two brokers"): the same ACL in two files, a hub listener with TLS
    for a broker on another machine, and a device's broker list checked before it reaches a Pi."""
    cfg = make_config(tmp_path)
    s = build_services(cfg, publisher=RecordingPublisher(), speech=NoSpeech())
    try:
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        s.devices.register(SYSTEM, device_id="loa-24613-1", kind="radio", area="67/660/24613")
        a, b = tmp_path / "acl-a", tmp_path / "acl-b"
        cli._broker(argparse.Namespace(bcmd="acl", hub_user="hub", output=[str(a), str(b)]), cfg, s)
        assert a.read_text() == b.read_text() and "user loa-24613-1" in a.read_text()
    finally:
        s.ctx.db.dispose()
    with pytest.raises(ConfigError, match="--mqtt-broker: broker 'mqtt-b' has no port"):
        cli._brokers_arg(["mqtt-a:8883", "mqtt-b"])
    assert cli._brokers_arg([" mqtt-a:8883", "mqtt-b:8883"]) == ("mqtt-a:8883", "mqtt-b:8883")
    conf = cli._broker_conf(argparse.Namespace(dir=str(tmp_path), hub_host="10.67.0.12", hub_port=1883,
                                               device_port=8883, no_tls=False, hub_tls=True))  # fmt: skip
    hub_part = conf.split("listener 1883 10.67.0.12", 1)[1].split("listener 8883", 1)[0]
    assert f"certfile {tmp_path}/certs/broker.pem" in hub_part and "passwd-hub" in hub_part
