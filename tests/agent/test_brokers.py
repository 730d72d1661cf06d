"""An agent with two brokers (mqtt.brokers): on the first, on the second when the first dies (the programme
retained there, a new emergency from there), back on the first when it answers again; every message arrives
from both brokers and is acted on once, none refused. Real Mosquittos, a real agent process; the hub's side
with two brokers is tests/e2e/test_two_brokers.py."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from edge_agent.config import ConfigError, load_settings
from hub.mosquitto import MosquittoProcess
from protocol.brokers import broker_name, parse_broker
from tests.agent.harness import AgentProcess, FakeHub, wait_until
from tests.agent.test_units import BASE


def _completed(agent: AgentProcess, bulletin_id: str) -> bool:
    return any(p["bulletin_id"] == bulletin_id and p["outcome"] == "completed" for p in agent.plays())


@pytest.fixture
def broker_b(tmp_path: Path) -> Iterator[MosquittoProcess]:
    with MosquittoProcess(tmp_path / "mosquitto-b") as proc:
        yield proc


async def test_the_agent_moves_to_the_other_broker_and_back_acting_once(
    hub: FakeHub, fresh_broker: MosquittoProcess, broker_b: MosquittoProcess, tmp_path: Path
) -> None:
    a, b = fresh_broker, broker_b
    hub.mirrors.append(b)
    names = [broker_name(a.host, a.port), broker_name(b.host, b.port)]
    agent = AgentProcess(
        tmp_path / "agent", hub, clock=hub.clock, brokers=names, mqtt_extra="return_after_s = 1"
    )
    try:
        await hub.send_programme(hub.programme([]))  # v1, on both
        agent.start()
        await agent.ready()
        assert agent.status()["broker"] == names[0]
        first = hub.bulletin("khan-1", 5, priority="emergency")
        await hub.send_alert(*hub.alert(first))  # on both brokers: one play
        await wait_until(lambda: _completed(agent, "khan-1"), 15, "khan-1")

        # v2 is retained on B only (as if A had lost it): the agent, on A, does not know it yet
        item = hub.bulletin("tin-sang", 20)  # 2 s at sim_speed 10
        v2 = hub.programme([(item, hub.clock.now() + timedelta(seconds=4))], version=2)
        hub.broker, hub.mirrors = b, []
        await hub.send_programme(v2)
        hub.broker, hub.mirrors = a, [b]
        assert agent.status()["programme_version"] == 1

        a.kill()  # the first broker dies: the agent is on the second within seconds, and gets v2 there
        await wait_until(lambda: agent.status().get("broker") == names[1], 10, "agent on broker B")
        second = hub.bulletin("khan-2", 5, priority="emergency", freq=660)
        await hub.send_alert(*hub.alert(second))  # only B runs now
        await wait_until(lambda: _completed(agent, "khan-2"), 15, "khan-2")
        # v2 (retained on B only) reached it there; the status says so within its 1 s debounce (on a quiet
        # machine the 0.5 s emergency above ends before the status that carries v2 goes out)
        await wait_until(lambda: agent.status().get("programme_version") == 2, 5, "v2 from broker B")
        await wait_until(lambda: _completed(agent, "tin-sang"), 20, "v2's item played")

        a.start()  # back: the agent returns to it (return_after_s = 1), B's copies dropped as duplicates
        await wait_until(lambda: agent.status().get("broker") == names[0], 15, "agent back on broker A")
        third = hub.bulletin("khan-3", 5, priority="emergency", freq=550)
        await hub.send_alert(*hub.alert(third))
        await wait_until(lambda: _completed(agent, "khan-3"), 15, "khan-3")

        played = [p["bulletin_id"] for p in agent.plays() if p["outcome"] == "completed"]
        assert sorted(played) == ["khan-1", "khan-2", "khan-3", "tin-sang"], agent.plays()
        assert agent.status()["rejected"] == 0, agent.log_text()[-2000:]
    finally:
        agent.stop()


@pytest.mark.parametrize(
    ("mqtt", "says"),
    [
        ({"brokers": ["10.0.0.5"]}, "broker '10.0.0.5' has no port: write each broker as \"host:port\""),
        ({"brokers": ["10.0.0.5:99999"]}, "port '99999' must be a number from 1 to 65535"),
        ({"brokers": ["a b:1883"]}, "'a b' is not a host name or IP address"),
        ({"brokers": ["h:1883", "h:1883"]}, "broker 'h:1883' is listed twice"),
        ({"brokers": [f"h{n}:1883" for n in range(9)]}, "9 brokers: at most 8"),
        ({"brokers": ["[zz]:1883"]}, "'zz' is not an IPv6 address"),
        ({"brokers": ["h" * 5000 + ":1883"]}, 'write each broker as "host:port"'),
        ({"brokers": ["h:1883\nlistener 1"]}, "port '1883\\nlistener 1' must be a number"),
        ({"brokers": ["h:1883"], "host": "other"}, "mqtt.brokers and mqtt.host/mqtt.port are both set"),
        ({"brokers": [1883]}, "mqtt.brokers = [1883] is not a valid list of strings"),
        ({"brokers": ["h:1883"], "return_after_s": 0}, "return_after_s = 0.0 must be at least 1"),
    ],
)
def test_a_bad_broker_list_is_refused_saying_what_to_write(mqtt: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, env={}, raw={**BASE, "mqtt": mqtt})
    assert says in str(err.value)


def test_brokers_or_the_old_single_host() -> None:
    old = load_settings(None, env={}, raw={**BASE, "mqtt": {"host": "10.0.0.5", "port": 8883}})
    assert old.mqtt.endpoints == (("10.0.0.5", 8883),)
    two = load_settings(
        None, env={"NGUON_AGENT_MQTT__BROKERS": '["a.example:8883", "[fd00::5]:8883"]'}, raw=BASE
    )
    assert two.mqtt.endpoints == (("a.example", 8883), ("fd00::5", 8883))
    assert broker_name(*parse_broker("[fd00::5]:8883")) == "[fd00::5]:8883"


def test_the_hubs_device_config_with_two_brokers_is_one_the_agent_reads() -> None:
    from hub.__main__ import agent_config  # noqa: PLC0415 - the hub's CLI, imported only here

    text = agent_config(
        device_id="loa-1", kind="radio", area=BASE["area"], hub_url="https://hub.example", public_key=BASE[
            "hub_public_keys"][0], prefix="nguon/v1", mqtt_host="", mqtt_port=0, mqtt_tls=True,
        mqtt_brokers=["mqtt-a.example:8883", "mqtt-b.example:8883"],
    )  # fmt: skip
    raw = tomllib.loads(text)
    raw["hardware"]["mode"] = "sim"
    s = load_settings(None, env={}, raw=raw)
    assert s.mqtt.endpoints == (("mqtt-a.example", 8883), ("mqtt-b.example", 8883)) and s.mqtt.tls
