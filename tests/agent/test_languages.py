"""A bulletin's language versions (bản tiếng dân tộc) on real agents: this release plays the Vietnamese and
then the Ê Đê one after the other and reports each play with its language; an agent of the previous release
(its code unpacked from this repository's history) plays the Vietnamese only, and its programme goes on."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge_agent.versions import parts
from protocol.messages import BulletinInfo, LanguageVersion, MediaRef
from tests.agent.harness import AgentProcess, Collector, FakeHub, previous_release, wait_until

BEFORE_LANGUAGES = "cd93333"  # main just before language versions


def rows(agent: AgentProcess, bid: str) -> list[dict[str, Any]]:
    return [p for p in agent.plays() if p["bulletin_id"] == bid]


def played(agent: AgentProcess) -> list[str]:
    path = agent.data / "played" / "index.jsonl"
    return [json.loads(line)["source"] for line in path.read_text().splitlines()] if path.exists() else []


async def test_versions_play_one_after_the_other_and_old_agents_play_the_vietnamese(
    hub: FakeHub, collector: Collector, agent: AgentProcess, tmp_path: Path
) -> None:
    old = previous_release(tmp_path / BEFORE_LANGUAGES, BEFORE_LANGUAGES)
    assert "LanguageVersion" not in (old / "protocol" / "messages.py").read_text()
    old_agent = AgentProcess(tmp_path / "old-agent", hub, clock=hub.clock, root=old, device_id="radio-old-1")
    vie, rad = hub.audio("lich-vie", 2, 440), hub.audio("lich-rad", 3, 660)
    # as the hub sends it to a commune using Ê Đê: duration_ms counts both versions
    lich = BulletinInfo("lich", "Lịch tiêm", "priority", "province", "audio", 5000, media=vie,
                        languages=[LanguageVersion("rad", "Ê Đê", rad)])  # fmt: skip
    after = hub.bulletin("sau", 5, freq=520)  # long enough (as a schedule) for a loaded test host
    agent.start()
    old_agent.start()
    try:
        await agent.ready()
        await old_agent.ready()
        start = hub.clock.now() + timedelta(seconds=2)
        await hub.send_programme(hub.programme([(lich, start), (after, start + timedelta(seconds=5))]))
        await wait_until(lambda: len(collector.plays("sau", "completed")) == 2, 30, "both agents went on")
        await wait_until(lambda: len(collector.plays("lich", "completed")) == 3, 10, "three plays of lich")

        # this release: two consecutive plays, the Vietnamese then the Ê Đê, each with its file and language
        mine = rows(agent, "lich")
        assert [(p["outcome"], p["language"], p["sha256"]) for p in mine] == [
            ("completed", "vie", vie.sha256), ("completed", "rad", rad.sha256)
        ], mine
        assert all(p["scheduled_at"] == start.isoformat() for p in mine)
        first_end, second = (datetime.fromisoformat(mine[0]["ended_at"]),
                             datetime.fromisoformat(mine[1]["started_at"]))  # fmt: skip
        assert timedelta(0) <= second - first_end < timedelta(seconds=2)
        assert played(agent) == [vie.sha256, rad.sha256, after.media.sha256 if after.media else ""]
        # the hub hears the language in each play report
        by_lang = {p["language"]: p for p in collector.plays("lich") if "language" in p}
        assert set(by_lang) == {"vie", "rad"}

        # the previous release: the Vietnamese only, then the next item on time
        theirs = rows(old_agent, "lich")
        assert [(p["outcome"], p["sha256"]) for p in theirs] == [("completed", vie.sha256)], theirs
        assert rad.sha256 not in played(old_agent)
        assert [p["outcome"] for p in rows(old_agent, "sau")] == ["completed"]

        # an emergency cuts in during the Ê Đê part: the item resumes in that part (after_interrupt
        # "resume", offset counted over the whole item), the Vietnamese is not played again
        hop_vie, hop_rad = hub.audio("hop-vie", 1, 440), hub.audio("hop-rad", 40, 660)
        versions = [LanguageVersion("rad", "Ê Đê", hop_rad)]
        hop = BulletinInfo("hop", "Họp dân", "priority", "province", "audio", 41000, media=hop_vie,
                           after_interrupt="resume", languages=versions)  # fmt: skip
        at = hub.clock.now() + timedelta(seconds=1)
        await hub.send_programme(hub.programme([(lich, start), (after, start + timedelta(seconds=5)),
                                                (hop, at)], version=2))  # fmt: skip
        await wait_until(lambda: [p for p in collector.plays("hop") if p.get("language") == "vie"], 15, "vie")
        await asyncio.sleep(0.5)  # some of the Ê Đê part plays first (5 s of it at sim speed 10)
        body, expires = hub.alert(hub.bulletin("lu", 2, priority="emergency", freq=880))
        await hub.send_alert(body, expires, attach=True)
        await wait_until(lambda: [p for p in rows(agent, "hop") if p["outcome"] == "completed"
                                  and p["language"] == "rad"], 20, "hop rad resumed")  # fmt: skip
        mine = [(p["language"], p["outcome"]) for p in rows(agent, "hop")]
        assert mine == [("vie", "completed"), ("rad", "interrupted"), ("rad", "completed")], mine
        cut, resumed = rows(agent, "hop")[1:]
        assert cut["interrupted_by"] == "lu" and cut["offset_ms"] == 0
        # resumed where it was cut (sim speed 10: a tenth of a second of clock is a second of audio)
        heard_ms = (datetime.fromisoformat(cut["ended_at"]) - datetime.fromisoformat(cut["started_at"])) * 10
        assert resumed["offset_ms"] > 0 or heard_ms < timedelta(seconds=1), (cut, resumed)
        assert resumed["offset_ms"] <= heard_ms.total_seconds() * 1000 + 1000
        assert [p["outcome"] for p in rows(agent, "lu")] == ["completed"]
    finally:
        old_agent.stop()


def test_parts_split_the_item_and_an_offset_counts_over_the_whole() -> None:
    vie, rad, cmo = (MediaRef(c * 64, 10, f"/media/{c * 64}", "audio/wav", ms)
                     for c, ms in (("a", 2000), ("b", 3000), ("c", 1500)))  # fmt: skip
    versions = [LanguageVersion("rad", "Ê Đê", rad), LanguageVersion("cmo", "M'Nông", cmo)]
    b = BulletinInfo("x", "X", "priority", "province", "audio", 6500, media=vie, languages=versions)
    got = [(p.language, p.info.media.sha256[0] if p.info.media else "", p.start_ms, p.end_ms)
           for p in parts(b)]  # fmt: skip
    assert got == [("vie", "a", 0, 2000), ("rad", "b", 2000, 5000), ("cmo", "c", 5000, 6500)]
    assert all(p.info.languages == [] and p.info.id == "x" for p in parts(b))
    # a bulletin without versions (every programme of an older hub) is one part: itself
    (only,) = parts(BulletinInfo("y", "Y", "normal", "province", "audio", 2000, media=vie))
    assert (only.language, only.start_ms, only.end_ms, only.info.media) == ("vie", 0, 2000, vie)
    # the wire: languages survive the round trip; a malformed one is refused, not guessed
    assert BulletinInfo.from_dict(b.to_dict()) == b
    with pytest.raises(TypeError):
        BulletinInfo.from_dict({**b.to_dict(), "languages": [{"code": "rad", "media": "x"}]})
