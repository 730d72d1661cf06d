"""Messages bound to their audience (docs/SECURITY.md), against a real hub, broker and agents.

Each attack here succeeded before the envelope named its topics: a genuine alert for commune 24611
re-published on 24613's alert topic played in 24613, and a command for one device re-published on another's
command topic was obeyed there (each device keeps its seq per topic, so a moved message looked new)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from protocol.envelope import Envelope, Signer, Verifier
from tests.agent.harness import wait_until
from tests.security import legacy_envelope_d38517f as legacy
from tests.security.wire import A_AREA, B_AREA, Attacker, Stack

pytestmark = pytest.mark.slow


async def eventually(
    probe: Callable[[], Awaitable[Any]],
    timeout: float = 20,  # noqa: ASYNC109 - a bound, not a cancel scope
    what: str = "condition",
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def emergency_for(st: Stack, area: str, title: str) -> str:
    """An emergency written and approved through the API, as the editor does; returns its id."""
    status, b = await st.call(
        "POST",
        "/bulletins",
        json={
            "title": title,
            "priority": "emergency",
            "text": "Nước lũ đang lên nhanh, người dân sơ tán ngay.",
            "targets": [area],
            "kinds": ["radio"],
        },
    )
    assert status == 201, b
    status, out = await st.call("POST", f"/bulletins/{b['id']}/approve")
    assert status == 200, out
    return str(b["id"])


def played(agent: Any, bulletin_id: str) -> bool:
    return any(p["bulletin_id"] == bulletin_id for p in agent.plays())


async def test_alert_replayed_into_another_commune_is_refused_and_reported(stack: Stack) -> None:
    st = stack
    st.a.start()
    st.b.start()
    await asyncio.gather(st.a.ready(), st.b.ready())
    async with Attacker(st.broker) as attacker:
        await attacker.listen(st.topics.alert(A_AREA))
        bid = await emergency_for(st, A_AREA, "Lũ ở phường Nghĩa Đức")
        genuine = await attacker.captured(st.topics.alert(A_AREA))
        await wait_until(lambda: played(st.a, bid), 30, "the emergency played in 24611")
        # the attack: the genuine, validly signed alert re-published on commune 24613's alert topic
        await attacker.publish(st.topics.alert(B_AREA), genuine)
        reasons = await eventually(
            lambda: st.rejected_reasons(st.b.device_id), 20, "24613's device reports the refusal"
        )
    assert reasons == ["misaddressed"]
    await wait_until(lambda: st.b.status().get("rejected") == 1, 10, "B's status counts one refusal")
    assert not played(st.b, bid) and not st.b.relay_log(), "the amplifier of 24613 never switched on"
    assert "misaddressed" in st.b.log_text() and st.topics.alert(B_AREA) in st.b.log_text()
    assert await st.rejected_reasons(st.a.device_id) == []  # the genuine audience was not disturbed


async def test_command_for_another_device_is_refused_and_reported(stack: Stack) -> None:
    st = stack
    st.a.start()
    st.b.start()
    await asyncio.gather(st.a.ready(), st.b.ready())
    before = st.b.status()["volume"]
    async with Attacker(st.broker) as attacker:
        await attacker.listen(st.topics.cmd(st.a.device_id))
        status, c = await st.call(
            "POST",
            f"/devices/{st.a.device_id}/commands",
            who="oper",
            json={"command": "volume", "args": {"level": 35}},
        )
        assert status == 202, c
        genuine = await attacker.captured(st.topics.cmd(st.a.device_id))
        await wait_until(lambda: st.a.status().get("volume") == 35, 15, "device A obeyed")
        await attacker.publish(st.topics.cmd(st.b.device_id), genuine)
        reasons = await eventually(lambda: st.rejected_reasons(st.b.device_id), 20, "B reports the refusal")
    assert reasons == ["misaddressed"]
    assert st.b.status()["volume"] == before != 35
    assert not (st.b.data / "mixer.jsonl").exists() or "35" not in (st.b.data / "mixer.jsonl").read_text()


async def test_new_agent_refuses_a_message_without_audience(stack: Stack) -> None:
    """What a hub of before the audience sends (or an attacker who strips it: the signature then fails,
    so only the hub's key can make one): refused, since a message without audience is the replay attack."""
    st = stack
    st.b.start()
    await st.b.ready()
    async with Attacker(st.broker) as attacker:
        await attacker.listen(st.topics.alert(A_AREA))
        bid = await emergency_for(st, A_AREA, "Lũ ở phường Nghĩa Đức")
        genuine = json.loads(await attacker.captured(st.topics.alert(A_AREA)))
        env = Envelope.from_dict(genuine["envelope"])
        assert env.audience == (st.topics.alert(A_AREA),)
        # the old hub's shape: the same alert, signed by the hub's key, v 1, with no audience
        old = Envelope(
            env.type, env.id + "-old", env.seq + 10, env.issued_at, env.expires_at, env.key_id, env.body
        )
        wire = Signer(st.keys.private).sign_envelope(old)
        assert b"audience" not in wire
        await attacker.publish(st.topics.alert(B_AREA), wire)
        # and the attacker's way of making one: the audience cut out of a genuine message
        stripped = {**genuine, "envelope": {k: v for k, v in genuine["envelope"].items() if k != "audience"}}
        await attacker.publish(st.topics.alert(B_AREA), json.dumps(stripped).encode())
        await wait_until(lambda: st.b.status().get("rejected") == 2, 20, "both refused")
    assert sorted(await st.rejected_reasons(st.b.device_id)) == ["bad_signature", "misaddressed"]
    assert "names no audience" in st.b.log_text()
    assert not played(st.b, bid)


async def test_todays_agents_accept_the_new_hubs_messages(stack: Stack) -> None:
    """Compatibility: the verifier of agents already in the field (protocol/envelope.py at d38517f, frozen
    in legacy_envelope_d38517f.py) accepts every kind of message the new hub signs, audience and all: the
    audience is an extra signed field, the version stays 1, and that verifier signs over the whole object."""
    st = stack
    old = legacy.Verifier([st.keys.public])
    new = Verifier([st.keys.public])
    async with Attacker(st.broker) as listener:
        for topic in (
            st.topics.alert(A_AREA),
            st.topics.program(A_AREA, "radio"),
            st.topics.cmd(st.a.device_id),
        ):
            await listener.listen(topic)
        bid = await emergency_for(st, A_AREA, "Lũ ở phường Nghĩa Đức")
        status, c = await st.call(
            "POST", f"/devices/{st.a.device_id}/commands", who="oper", json={"command": "report"}
        )
        assert status == 202, c
        status, out = await st.call("POST", f"/bulletins/{bid}/recall", json={"reason": "thử thu hồi"})
        assert status == 200, out
        await wait_until(
            lambda: len(listener.got.get(st.topics.alert(A_AREA), [])) >= 2, 15, "alert and recall"
        )
        await listener.captured(st.topics.program(A_AREA, "radio"))
        await listener.captured(st.topics.cmd(st.a.device_id))
    seen = set()
    now = st.clock.now() + timedelta(seconds=1)
    for topic, wires in listener.got.items():
        for wire in wires:
            env_old, env_new = old.verify(wire, now=now), new.verify(wire, now=now)
            assert (env_old.type, env_old.id, env_old.seq, env_old.body) == (
                env_new.type,
                env_new.id,
                env_new.seq,
                env_new.body,
            )
            assert env_old.v == legacy.ENVELOPE_VERSION == 1 and topic in env_new.audience
            seen.add(env_new.type)
    assert seen == {"alert", "recall", "programme", "command"}
