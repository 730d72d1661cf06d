"""Forged, replayed and expired messages are never played; recall removes and confirms."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from protocol import KeyPair, Signer
from protocol.messages import RecallBody
from tests.agent.harness import AgentProcess, Collector, FakeHub, wait_until


async def test_forged_replayed_and_expired_are_not_played(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    agent.start()
    await agent.ready()
    real = hub.bulletin("that", 5, priority="emergency")
    body, expires = hub.alert(real)
    wire = await hub.send_alert(body, expires)
    genuine_seq = json.loads(wire)["envelope"]["seq"]
    await wait_until(lambda: collector.plays("that", "completed"), 15, "genuine emergency played")

    # Forged: signed by another key, published straight to the broker by another client.
    fake = hub.bulletin("gia-mao", 5, priority="emergency")
    fbody, fexp = hub.alert(fake)
    await hub.publish(
        hub.topics.alert("67"),
        hub.sign(
            "alert",
            fbody.to_dict(),
            to=hub.topics.alert("67"),
            expires=fexp,
            signer=Signer(KeyPair.generate().private),
        ),
    )
    # Tampered: genuine signature, body changed.
    await hub.publish(
        hub.topics.alert("67"),
        hub.sign("alert", fbody.to_dict(), to=hub.topics.alert("67"), expires=fexp).replace(
            b"gia-mao", b"gia-maO"
        ),
    )
    # The genuine message again (as the second broker delivers it): a duplicate, dropped silently, played
    # once. Replayed: its seq under another id (a forged twin, signed with the hub's key), and an older seq.
    await hub.publish(hub.topics.alert("67"), wire)
    twin = hub.alert(hub.bulletin("sinh-doi", 5, priority="emergency"))
    await hub.publish(
        hub.topics.alert("67"),
        hub.sign("alert", twin[0].to_dict(), to=hub.topics.alert("67"), expires=twin[1], seq=genuine_seq),
    )
    old = hub.alert(hub.bulletin("cu", 5, priority="emergency"))
    await hub.publish(
        hub.topics.alert("67"),
        hub.sign("alert", old[0].to_dict(), to=hub.topics.alert("67"), expires=old[1], seq=1),
    )
    # Expired before it arrived.
    late = hub.bulletin("het-han", 5, priority="emergency")
    lbody, _ = hub.alert(late, expires_in_s=-5)
    await hub.publish(
        hub.topics.alert("67"),
        hub.sign(
            "alert",
            lbody.to_dict(),
            to=hub.topics.alert("67"),
            expires=hub.clock.now() - timedelta(seconds=5),
        ),
    )
    await hub.publish(hub.topics.alert("67"), b"not json at all")
    await wait_until(lambda: len(collector.of_type("rejected")) >= 6, 15, "rejections reported")
    reasons = sorted(r["reason"] for r in collector.of_type("rejected"))
    assert reasons == ["bad_signature", "expired", "malformed", "replayed", "replayed", "unknown_key"]
    await asyncio.sleep(1.0)
    assert {p["bulletin_id"] for p in agent.plays()} == {"that"}
    assert len(collector.plays("that")) == 1
    assert agent.status()["rejected"] == 6
    assert agent.proc is not None and agent.proc.poll() is None


async def test_recall_removes_confirms_and_never_plays(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    now = hub.clock.now()
    keep, bad = hub.bulletin("giu", 5), hub.bulletin("sai-sot", 5, freq=300)
    prog = hub.programme([(bad, now + timedelta(seconds=5)), (keep, now + timedelta(seconds=6))])
    await hub.send_programme(prog)
    agent.start()
    await agent.ready()
    cached = agent.data / "media" / bad.media.sha256
    await wait_until(cached.exists, 10, "media cached")
    await hub.publish(
        hub.topics.alert("67/660"),
        hub.sign("recall", RecallBody(["sai-sot"], "sai số liệu").to_dict(), to=hub.topics.alert("67/660")),
    )
    await wait_until(lambda: collector.of_type("recall_confirmed"), 10, "recall confirmed")
    assert collector.of_type("recall_confirmed")[0]["bulletin_id"] == "sai-sot"
    assert not cached.exists()
    # An old programme that still lists it (republished, newer seq) does not bring it back.
    await hub.send_programme(prog)
    await wait_until(lambda: collector.plays("giu", "completed"), 20, "other item played")
    await asyncio.sleep(0.5)
    assert not collector.plays("sai-sot")
    assert "sai-sot" not in {p["bulletin_id"] for p in agent.plays()}


async def test_programme_and_recall_moved_between_topics_are_refused(
    hub: FakeHub, collector: Collector, agent: AgentProcess
) -> None:
    """The programme path and the recall path check the signed audience too (the alert and command paths:
    tests/security/test_audience.py, against the real hub)."""
    now = hub.clock.now()
    keep = hub.bulletin("giu-lai", 5)
    await hub.send_programme(hub.programme([(keep, now + timedelta(seconds=30))]))
    agent.start()
    await agent.ready()
    await wait_until(lambda: agent.status().get("programme_version") == 1, 10, "programme v1")
    # a newer programme of this very commune, but signed for another commune's topic
    other = hub.topics.program("67/660/24611", "radio")
    moved = hub.sign("programme", hub.programme([], version=2).to_dict(), to=other)
    await hub.publish(hub.topics.program("67/660/24613", "radio"), moved, retain=True)
    # a recall of it, signed for another district's alert topic
    recall = hub.sign("recall", RecallBody(["giu-lai"], "nhầm").to_dict(), to=hub.topics.alert("67/661"))
    await hub.publish(hub.topics.alert("67/660"), recall)
    await wait_until(lambda: len(collector.of_type("rejected")) >= 2, 15, "both refused")
    assert [r["reason"] for r in collector.of_type("rejected")] == ["misaddressed", "misaddressed"]
    assert agent.status()["programme_version"] == 1 and not collector.of_type("recall_confirmed")
