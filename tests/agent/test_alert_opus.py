"""An emergency's audio rides in its alert as Opus (hub/services/alert_audio.py): real agents play it.

This release's agent plays the attached Opus copy with no download; an agent of the previous release (its
code unpacked from this repository's history) finds no attachment under its bulletin's hash, downloads the
bulletin's own file by URL and plays the emergency all the same."""

from __future__ import annotations

import json
import wave
from dataclasses import replace
from pathlib import Path

from hub.services.alert_audio import COMPACT_MIME, AlertAudio
from tests.agent.harness import AgentProcess, Collector, FakeHub, previous_release, wait_until

# main just before the alert's audio became Opus: its agent checks attachments against bulletin.media
BEFORE_OPUS = "3bcdf2e"


def played(agent: AgentProcess, label: str) -> list[dict[str, object]]:
    path = agent.data / "played" / "index.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [r for r in rows if label in str(r.get("label"))]


async def test_opus_in_the_alert_plays_on_this_agent_and_the_previous_release_downloads_its_mp3(
    hub: FakeHub, collector: Collector, agent: AgentProcess, tmp_path: Path
) -> None:
    old = previous_release(tmp_path / BEFORE_OPUS, BEFORE_OPUS)
    assert "alert_audio" not in (old / "protocol" / "messages.py").read_text()
    old_agent = AgentProcess(tmp_path / "old-agent", hub, clock=hub.clock, root=old, device_id="radio-old-1")
    agent.start()
    old_agent.start()
    try:
        await agent.ready()
        await old_agent.ready()
        flood = hub.bulletin("lu-opus", 10, priority="emergency")
        source = flood.media
        assert source is not None
        # the hub's own transcoder makes the copy, from the file as the media store keeps it
        store = tmp_path / "hub-media"
        src_path = store / source.sha256[:2] / source.sha256
        src_path.parent.mkdir(parents=True)
        src_path.write_bytes(hub.media[source.sha256])
        made = AlertAudio(store.parent / "alert-audio", lambda sha: store / sha[:2] / sha).for_alert(source)
        assert made is not None
        opus, data = made
        assert opus.mime == COMPACT_MIME and data[:4] == b"OggS" and b"OpusHead" in data[:64]
        assert opus.size * 3 < source.size
        hub.media[opus.sha256] = data  # served by URL too, as the hub's media store does
        body, expires = hub.alert(flood)
        body = replace(body, alert_audio=opus)
        topic = hub.topics.alert("67")
        wire = hub.sign("alert", body.to_dict(), to=topic, expires=expires, attachments=[data])
        await hub.publish(topic, wire)

        await wait_until(lambda: len(collector.plays("lu-opus", "completed")) == 2, 25, "both agents played")
        # this release: the Opus copy, from the attachment, no download
        assert opus.sha256 not in hub.requests
        assert (agent.data / "media" / opus.sha256).read_bytes() == data
        rows = played(agent, "lu-opus")
        assert rows and rows[0]["source"] == opus.sha256 and not rows[0].get("error"), rows
        with wave.open(str(agent.data / "played" / str(rows[0]["file"]))) as wav:  # what the speaker got
            heard_ms = wav.getnframes() * 1000 / wav.getframerate()
        assert abs(heard_ms - source.duration_ms) < 150, heard_ms
        # the previous release: the bulletin's own file, downloaded by URL
        assert source.sha256 in hub.requests, "the old agent downloaded the bulletin's audio"
        assert played(old_agent, "lu-opus")[0]["source"] == source.sha256
        assert "không khớp sha256" in old_agent.log_text()  # it saw an attachment it could not use

        # hostile: an alert_audio naming no file (not a sha256) or bytes that do not match: the emergency
        # still plays, from the bulletin's own file, downloaded
        for bid, fake in (("lu-ten-sai", "../../etc/passwd"), ("lu-sai-byte", opus.sha256.replace("a", "b"))):
            b = hub.bulletin(bid, 5, priority="emergency", freq=520)
            body, expires = hub.alert(b)
            body = replace(body, alert_audio=replace(opus, sha256=fake))
            wire = hub.sign("alert", body.to_dict(), to=topic, expires=expires, attachments=[b"\0" * 64])
            await hub.publish(topic, wire)
            await wait_until(lambda bid=bid: len(collector.plays(bid, "completed")) == 2, 25, f"{bid} played")
            assert b.media is not None and b.media.sha256 in hub.requests
        for a in (agent, old_agent):
            assert "Traceback" not in a.log_text()
        assert not collector.of_type("rejected")
    finally:
        old_agent.stop()
