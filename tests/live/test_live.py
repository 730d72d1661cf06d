"""Live announcements through real parts: the hub feeds Icecast with ffmpeg, real agent processes play the
stream with ffmpeg into their simulated speakers (WAV files checked for the tone), Mosquitto carries the
signed `live` messages. Each session is a few seconds long."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import select

from hub.models import AuditEntry
from hub.mosquitto import MosquittoProcess
from protocol import KeyPair, Signer
from protocol.messages import LiveBody
from protocol.topics import Topics
from tests.agent.harness import AgentProcess, wait_until
from tests.live.harness import COMMUNE, OTHER, LiveStack, live_stack, loud_ms, make_speech

pytestmark = pytest.mark.slow


def live_wavs(agent: AgentProcess) -> list[Path]:
    return sorted((agent.data / "played").glob("*-live*.wav"))


def live_plays(agent: AgentProcess, sid: str) -> list[dict[str, object]]:
    return [p for p in agent.plays() if p["bulletin_id"] == sid]


async def on_air(sid: str, *agents: AgentProcess) -> None:
    """The loudspeakers took the session (relay on, connecting) before the speaker says a word."""
    await wait_until(lambda: all(a.status().get("now_playing") == sid for a in agents), 10, "agents ready")


async def start_agents(stack: LiveStack, tmp: Path, *ids_areas: tuple[str, str]) -> list[AgentProcess]:
    agents = [stack.agent(tmp, i, a).start() for i, a in ids_areas]
    await asyncio.gather(*(a.ready() for a in agents))
    return agents


async def test_live_reaches_every_targeted_loudspeaker_and_stops_everywhere(
    tmp_path: Path, fresh_broker: MosquittoProcess
) -> None:
    speech = make_speech(tmp_path / "speech.webm", 4.0)
    async with live_stack(tmp_path, fresh_broker) as stack:
        a1, a2, far = await start_agents(
            stack, tmp_path, ("loa-1", COMMUNE), ("loa-2", COMMUNE), ("loa-9", OTHER)
        )
        code, started = await stack.call("POST", "/api/v1/live", "editor67",
                                         json={"areas": [COMMUNE], "priority": "emergency", "title": "Lũ về"})
        assert code == 201, started
        sid = started["id"]
        await on_air(sid, a1, a2)
        await stack.speak("editor67", sid, speech)
        code, ended = await stack.call("POST", f"/api/v1/live/{sid}/stop", "editor67")
        assert code == 200 and ended["state"] == "ended", ended
        for a in (a1, a2):
            plays = await wait_until(lambda a=a: live_plays(a, sid), 15, f"{a.device_id}'s live play report")
            assert plays[0]["outcome"] == "completed" and plays[0]["emergency"] is True, plays
            assert plays[0]["relay_on"] is True
            heard = sum(loud_ms(w) for w in live_wavs(a))
            assert heard >= 2000, f"{a.device_id} played {heard} ms of the 4 s tone"
            await wait_until(lambda a=a: a.status().get("state") not in ("emergency", "playing"), 10, "idle")
        assert live_wavs(far) == [] and live_plays(far, sid) == []
        # kept as a bulletin: its audio, its areas, who spoke; the play log shows the plays
        code, b = await stack.call("GET", f"/api/v1/bulletins/{sid}", "editor67")
        assert code == 200 and b["status"] == "finished", b
        assert b["targets"] == [COMMUNE] and b["media"] and b["duration_ms"] >= 3000, b
        code, log = await wait_until_plays(stack, sid, 2)
        assert {p["device_id"] for p in log} == {"loa-1", "loa-2"}


def end_reason(stack: LiveStack, sid: str) -> str:
    with stack.hub.services.ctx.db.session() as sess:
        q = select(AuditEntry).where(AuditEntry.action == "live.end", AuditEntry.target == sid)
        row = sess.scalars(q).one_or_none()
        return str(row.detail["reason"]) if row is not None else ""


async def wait_until_plays(stack: LiveStack, sid: str, n: int) -> tuple[int, list[dict[str, object]]]:
    for _ in range(100):
        code, body = await stack.call("GET", "/api/v1/plays", "editor67", params={"bulletin": sid})
        rows = [p for p in body.get("plays", []) if p.get("bulletin_id") == sid]
        if len(rows) >= n:
            return code, rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"the play log shows {body}")


async def test_a_lost_speaker_ends_the_session_everywhere(
    tmp_path: Path, fresh_broker: MosquittoProcess
) -> None:
    speech = make_speech(tmp_path / "speech.webm", 3.0)
    async with live_stack(tmp_path, fresh_broker) as stack:
        (a1,) = await start_agents(stack, tmp_path, ("loa-1", COMMUNE))
        code, started = await stack.call("POST", "/api/v1/live", "chair24613",
                                         json={"areas": [COMMUNE], "priority": "priority"})
        assert code == 201, started
        sid = started["id"]
        await on_air(sid, a1)
        await stack.speak("chair24613", sid, speech)  # then the phone loses its network: no stop
        await wait_until(lambda: live_plays(a1, sid), 15, "the agent ending the live session")
        assert sum(loud_ms(w) for w in live_wavs(a1)) >= 1500
        assert "mất kết nối" in await wait_until(lambda: end_reason(stack, sid), 10, "the session's end")
        code, b = await stack.call("GET", f"/api/v1/bulletins/{sid}", "chair24613")
        assert b["status"] == "finished" and b["media"], b
        # the chair of another commune may not speak to this one
        code, err = await stack.call("POST", "/api/v1/live", "chair24611",
                                     json={"areas": [COMMUNE], "priority": "priority"})
        assert code == 403, err
        code, err = await stack.call("POST", "/api/v1/live", "chair24613",
                                     json={"areas": [COMMUNE], "priority": "emergency"})
        assert code == 403, err  # a chair speaks as a priority item, not as an emergency


async def test_a_forged_or_expired_start_plays_nothing(
    tmp_path: Path, fresh_broker: MosquittoProcess
) -> None:
    speech = make_speech(tmp_path / "speech.webm", 3.0)
    async with live_stack(tmp_path, fresh_broker) as stack:
        (a1,) = await start_agents(stack, tmp_path, ("loa-1", OTHER))
        # a real session elsewhere, so its mount exists and a token for it is valid at the stream server
        code, started = await stack.call("POST", "/api/v1/live", "editor67",
                                         json={"areas": [COMMUNE], "priority": "emergency"})
        assert code == 201, started
        sid = started["id"]
        speaking = asyncio.create_task(stack.speak("editor67", sid, speech))
        s = stack.hub.services
        topic = Topics(stack.hub.config.mqtt.topic_prefix).alert(OTHER)
        now = stack.clock.now()
        good_until = now + timedelta(seconds=60)
        body = LiveBody(sid, "start", "emergency", "giả", f"{s.live.public_stream_url()}/live/{sid}.mp3",
                        s.live.tokens.make(sid, good_until), good_until.isoformat(), [OTHER])
        hub_signer = s.envelopes.signer

        def sign(signer: Signer, b: LiveBody, issued: object, expires: object) -> bytes:
            return signer.sign(type="live", id=uuid.uuid4().hex, seq=s.envelopes.seq.next(), issued_at=issued,
                               expires_at=expires, body=b.to_dict(), audience=[topic])

        stale = LiveBody(**{**body.to_dict(), "token_expires": (now - timedelta(seconds=1)).isoformat()})
        wires = [
            sign(Signer(KeyPair.generate().private), body, now, good_until),  # forged: another key
            # expired envelope
            sign(hub_signer, body, now - timedelta(minutes=5), now - timedelta(seconds=1)),
            sign(hub_signer, stale, now, good_until),  # expired listening token
        ]
        async with aiomqtt.Client(fresh_broker.host, fresh_broker.port, protocol=aiomqtt.ProtocolVersion.V5,
                                  identifier=f"x-{uuid.uuid4().hex[:6]}") as mqtt:
            for wire in wires:
                await mqtt.publish(topic, wire, qos=1)
        await wait_until(lambda: a1.status().get("rejected", 0) >= 3, 10, "three refusals")
        await speaking
        await asyncio.sleep(1.0)
        assert live_wavs(a1) == [] and live_plays(a1, sid) == []
        await stack.call("POST", f"/api/v1/live/{sid}/stop", "editor67")
