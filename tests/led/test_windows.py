"""The board's windows come from the programme once one arrived (Art. 10): the commune's own hours, occasion
hours, a window crossing midnight; its config's windows only before. Hostile window data is refused or
ignored, never crashes the board."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from edge_agent.led.logic import BoardLogic
from edge_agent.windows import Windows
from playlists.window_sets import day_spans, legacy_labels
from protocol.clock import to_iso
from protocol.messages import ProgrammeBody, ProgrammeDay, WindowSpan

from .helpers import WINDOWS, local, programme, text_bulletin

D, NEXT = "2026-11-23", "2026-11-24"


def with_windows(p: ProgrammeBody, windows: list[str], day: str = D) -> ProgrammeBody:
    """The programme as the hub sends it now: spans, and the legacy shape in `windows`."""
    spans = [
        WindowSpan(s.label, to_iso(s.start), to_iso(s.end))
        for s in day_spans(date.fromisoformat(day), windows, "Asia/Ho_Chi_Minh")
    ]
    days = [replace(d, windows=list(legacy_labels(windows)), window_spans=spans) for d in p.days]
    return replace(p, days=days)


def board() -> BoardLogic:
    logic = BoardLogic(windows=list(WINDOWS))  # config: 05:00-07:00, 17:00-22:00
    logic.set_clock_trusted(True, local("04:00"))
    return logic


def test_config_windows_only_before_a_first_programme() -> None:
    logic = board()
    assert logic.open_window(local("17:30")) is not None  # config
    # the commune's own LED hours: 19:00-19:30 only
    prog = with_windows(programme([text_bulletin("t1")], window="19:00-19:30"), ["19:00-19:30"])
    logic.set_programme(prog, local("17:30"))
    assert logic.screen(local("17:30"))["mode"] == "standby"  # the config's 17:00-22:00 no longer counts
    logic.tick(local("19:05"))
    assert logic.screen(local("19:05"))["slide"]["bulletin_id"] == "t1"
    done = logic.tick(local("19:30"))
    assert done and done[0]["detail"].startswith("window closed")


def test_occasion_window_after_the_default_end() -> None:
    logic = board()
    prog = with_windows(
        programme([text_bulletin("t1")], window="17:00-23:30"), ["05:00-07:00", "17:00-23:30"]
    )
    logic.set_programme(prog, local("22:40"))
    assert logic.screen(local("22:40"))["slide"]["bulletin_id"] == "t1"


def test_window_crossing_midnight_keeps_showing_after_midnight() -> None:
    logic = board()
    prog = with_windows(
        programme([text_bulletin("t1")], window="21:00-01:00"), ["05:00-07:00", "21:00-01:00"]
    )
    logic.set_programme(prog, local("21:10"))
    assert logic.screen(local("21:10"))["slide"]["bulletin_id"] == "t1"
    logic.tick(local("00:30", NEXT))
    assert logic.screen(local("00:30", NEXT))["mode"] == "slide"
    assert logic.open_window(local("00:30", NEXT))[0] == "21:00-01:00"  # type: ignore[index]
    logic.tick(local("01:00", NEXT))
    assert logic.screen(local("01:00", NEXT))["mode"] == "standby"


def test_a_programme_from_an_older_hub_uses_its_day_windows() -> None:
    w = Windows(["05:00-07:00"], "Asia/Ho_Chi_Minh")
    assert w.open(local("18:00")) is None
    w.set_programme(programme([text_bulletin("t1")]))  # no window_spans; day windows 05:00-07:00, 17:00-22:00
    assert w.open(local("18:00"))[0] == "17:00-22:00"  # type: ignore[index]


def test_hostile_window_spans() -> None:
    base = programme([text_bulletin("t1")]).to_dict()
    for bad in ("19:00-19:30", [{"label": "19:00-19:30"}], [["19:00", "19:30"]], 7):
        data = {**base, "days": [{**base["days"][0], "window_spans": bad}]}
        with pytest.raises((KeyError, TypeError, ValueError)):  # the agent rejects it as 'malformed'
            ProgrammeBody.from_dict(data)
    # unreadable or backwards instants open nothing; the readable span still works
    day = ProgrammeDay(
        D,
        ["19:00-19:30"],
        [],
        [
            WindowSpan("x", "not a time", "2026-11-23T20:00:00+07:00"),
            WindowSpan("y", "2026-11-23T21:00:00+07:00", "2026-11-23T20:00:00+07:00"),
            WindowSpan("19:00-19:30", "2026-11-23T19:00:00+07:00", "2026-11-23T19:30:00+07:00"),
        ],
    )
    w = Windows(list(WINDOWS), "Asia/Ho_Chi_Minh")
    w.set_programme(replace(programme([]), days=[day]))
    assert w.open(local("19:10"))[0] == "19:00-19:30"  # type: ignore[index]
    assert w.open(local("20:30")) is None and w.open(local("17:30")) is None
