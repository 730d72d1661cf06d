"""Agents play in the windows the signed programme carries (Art. 10), with a real broker: a commune's own
radio hours, an LED board's occasion hours, the config's windows only before a first programme; and an
agent of the previous release (the code at d38517f) still plays a programme of the new shape."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hub.mosquitto import MosquittoProcess
from playlists.window_sets import day_spans, legacy_labels
from protocol import ShiftedClock
from protocol.messages import BulletinInfo, ProgrammeBody, ProgrammeDay, ProgrammeItem, WindowSpan
from tests.agent.harness import AREA, TZ, AgentProcess, Collector, FakeHub, previous_release, wait_until

PREVIOUS_RELEASE = "d38517f"  # main before windows travelled in the programme


async def _hub(broker: MosquittoProcess, tmp: Path, hhmm: str) -> FakeHub:
    fake = FakeHub(tmp, broker, ShiftedClock.at_local(hhmm), f"t{uuid.uuid4().hex[:8]}/v1")
    await fake.start()
    return fake


@pytest.fixture
async def evening(fresh_broker: MosquittoProcess, tmp_path: Path) -> AsyncIterator[FakeHub]:
    """19:10 local: outside the regulation's radio windows (17:00-18:30) and inside no default."""
    fake = await _hub(fresh_broker, tmp_path, "19:10")
    yield fake
    await fake.stop()


@pytest.fixture
async def late(fresh_broker: MosquittoProcess, tmp_path: Path) -> AsyncIterator[FakeHub]:
    """22:40 local: after the LED board's default 17:00-22:00, inside an occasion's hours."""
    fake = await _hub(fresh_broker, tmp_path, "22:40")
    yield fake
    await fake.stop()


def programme_with_windows(
    hub: FakeHub, kind: str, windows: list[str], items: list[tuple[BulletinInfo, datetime, str]]
) -> ProgrammeBody:
    """A programme as the hub now sends it: the commune's windows as spans, and in `windows` the shape an
    agent of the previous release parses."""
    today = hub.clock.now().astimezone(TZ).date()
    spans = [
        WindowSpan(s.label, s.start.isoformat(), s.end.isoformat())
        for s in day_spans(today, windows, "Asia/Ho_Chi_Minh")
    ]
    pitems = [
        ProgrammeItem(b.id, at.isoformat(), (at + timedelta(milliseconds=b.duration_ms)).isoformat(), w)
        for b, at, w in items
    ]
    day = ProgrammeDay(today.isoformat(), list(legacy_labels(windows)), pitems, spans)
    return ProgrammeBody(AREA, kind, 1, "Asia/Ho_Chi_Minh", [day], [b for b, _, _ in items])


async def test_radio_plays_in_the_communes_own_window_from_the_programme(
    evening: FakeHub, tmp_path: Path
) -> None:
    hub = evening
    collector = Collector(hub.broker, hub.topics.prefix)
    await collector.start()
    agent = AgentProcess(tmp_path / "agent", hub, clock=hub.clock).start()  # config: the default windows
    try:
        await agent.ready()
        # before a first programme: the config's windows, and 19:10 is outside them
        await wait_until(lambda: agent.status().get("state") == "idle", 10, "idle on the config's windows")
        now = hub.clock.now()
        b = hub.bulletin("hop-dan", 10)
        # the commune's own hours (Art. 10.1): 19:00-19:30, and a window crossing midnight
        prog = programme_with_windows(
            hub,
            "radio",
            ["05:30-06:00", "19:00-19:30", "22:00-00:30"],
            [(b, now + timedelta(seconds=4), "19:00-19:30")],
        )
        await hub.send_programme(prog)
        await wait_until(
            lambda: collector.plays("hop-dan", "completed"), 25, "played in the commune's window"
        )
        await wait_until(lambda: agent.status().get("state") == "window", 10, "status: inside a window")
        assert not collector.plays("hop-dan", "skipped")
    finally:
        agent.stop()
        await collector.stop()


async def test_led_board_shows_in_an_occasion_window(late: FakeHub, tmp_path: Path) -> None:
    hub = late
    now = hub.clock.now()
    text = BulletinInfo(
        "bau-cu",
        "Ngày bầu cử",
        "priority",
        "province",
        "text",
        10_000,
        text="Cử tri đi bầu cử từ 7 giờ sáng Chủ nhật tại nhà văn hóa thôn.",
    )
    agent = AgentProcess(
        tmp_path / "led",
        hub,
        clock=hub.clock,
        kind="led",
        extra="[led]\nwidth = 192\nheight = 96\nhttp_port = 0\n",
    ).start()
    try:
        await agent.ready()
        # config windows (05:00-07:00, 17:00-22:00) and no programme: the board stays on standby at 22:40
        await wait_until(lambda: agent.status().get("state") == "idle", 10, "standby before a programme")
        # an election evening (Art. 10.2): the hub merged 20:00-23:30 into the board's 17:00-22:00
        prog = programme_with_windows(
            hub, "led", ["05:00-07:00", "17:00-23:30"], [(text, now - timedelta(minutes=1), "17:00-23:30")]
        )
        await hub.send_programme(prog)
        await wait_until(
            lambda: agent.status().get("now_playing") == "bau-cu", 15, "shown in the occasion window"
        )
    finally:
        agent.stop()


async def test_agent_of_the_previous_release_plays_a_programme_of_the_new_shape(
    evening: FakeHub, tmp_path: Path
) -> None:
    """An agent at d38517f ignores window_spans (unknown field), parses `windows` (no window crossing
    midnight: the hub cut it) and plays the item in the commune's window, checked against `windows`."""
    hub = evening
    old = previous_release(tmp_path / "d38517f", PREVIOUS_RELEASE)
    assert "window_spans" not in (old / "protocol" / "messages.py").read_text()
    collector = Collector(hub.broker, hub.topics.prefix)
    await collector.start()
    agent = AgentProcess(tmp_path / "old-agent", hub, clock=hub.clock, root=old).start()
    try:
        await agent.ready()
        now = hub.clock.now()
        b = hub.bulletin("tin-cu", 10)
        prog = programme_with_windows(
            hub, "radio", ["19:00-19:30", "22:00-00:30"], [(b, now + timedelta(seconds=4), "19:00-19:30")]
        )
        assert prog.days[0].windows == ["00:00-00:30", "19:00-19:30", "22:00-23:59"]
        await hub.send_programme(prog)
        await wait_until(lambda: collector.plays("tin-cu", "completed"), 25, "the old agent played it")
        assert "Traceback" not in agent.log_text()
        assert not collector.of_type("rejected")
    finally:
        agent.stop()
        await collector.stop()


def test_radio_item_after_midnight_in_a_window_crossing_it() -> None:
    from edge_agent import schedule  # noqa: PLC0415

    day = datetime(2026, 12, 31, tzinfo=TZ).date()
    info = BulletinInfo("khuya", "Chúc mừng năm mới", "priority", "province", "text", 60_000, text="...")
    at = datetime(2027, 1, 1, 0, 30, tzinfo=TZ)
    spans = [
        WindowSpan(s.label, s.start.isoformat(), s.end.isoformat())
        for s in day_spans(day, ["21:00-01:00"], "Asia/Ho_Chi_Minh")
    ]
    item = ProgrammeItem("khuya", at.isoformat(), (at + timedelta(minutes=1)).isoformat(), "21:00-01:00")
    prog = ProgrammeBody(
        AREA,
        "radio",
        1,
        "Asia/Ho_Chi_Minh",
        [ProgrammeDay(day.isoformat(), list(legacy_labels(["21:00-01:00"])), [item], spans)],
        [info],
    )
    (scheduled,) = schedule.expand(prog, set())
    tz = "Asia/Ho_Chi_Minh"
    assert schedule.last_moment_check(scheduled, at, remaining_s=60, tz=tz) is None
    late = datetime(2027, 1, 1, 0, 59, 30, tzinfo=TZ)
    assert schedule.last_moment_check(scheduled, late, remaining_s=60, tz=tz) == "window_too_short"
    assert schedule.last_moment_check(scheduled, late, remaining_s=20, tz=tz) is None
