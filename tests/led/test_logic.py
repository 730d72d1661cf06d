"""BoardLogic: what the board shows, and the proof-of-display records, driven by an explicit clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_agent.led.logic import TEXT_MIN_MS, BoardLogic, panel_setting, slide_duration_ms
from edge_agent.led.windows import window_at, window_span
from protocol.clock import parse_time

from .helpers import WINDOWS, alert, local, media_bulletin, programme, text_bulletin

PNG = "a" * 64


def make(**kw: object) -> BoardLogic:
    logic = BoardLogic(windows=list(WINDOWS), **kw)  # type: ignore[arg-type]
    logic.set_clock_trusted(True, local("16:00"))
    return logic


def ack(logic: BoardLogic) -> None:
    """What the player page does once it drew the current screen."""
    if logic.showing is not None:
        logic.acknowledge(logic.showing.key)


def test_rotation_inside_window_loops_in_order_and_reports_each_display() -> None:
    logic = make()
    now = local("17:00")
    logic.set_programme(programme([text_bulletin("t1"), text_bulletin("t2", duration_ms=3_000)]), now)
    assert logic.screen(now)["slide"]["bulletin_id"] == "t1"
    ack(logic)
    done = logic.tick(now + timedelta(seconds=12))
    assert [d["bulletin_id"] for d in done] == ["t1"] and done[0]["outcome"] == "completed"
    assert logic.screen(now)["slide"]["bulletin_id"] == "t2"
    # a text item never flashes by faster than TEXT_MIN_MS
    assert logic.tick(now + timedelta(seconds=12 + 9)) == []
    done = logic.tick(now + timedelta(seconds=12 + 10))
    assert done[0]["bulletin_id"] == "t2" and done[0]["emergency"] is False
    assert logic.screen(now)["slide"]["bulletin_id"] == "t1"  # loops
    assert done[0]["started_at"] == (now + timedelta(seconds=12)).isoformat()


def test_nothing_outside_windows_and_window_close_interrupts() -> None:
    logic = make()
    logic.set_programme(programme([text_bulletin("t1")]), local("16:59"))
    assert logic.screen(local("16:59"))["mode"] == "standby"
    logic.tick(local("21:59:55"[:5]))
    assert logic.screen(local("21:59"))["mode"] == "slide"
    done = logic.tick(local("22:00"))
    assert done[0]["outcome"] == "interrupted" and done[0]["detail"].startswith("window closed")
    assert logic.screen(local("22:00"))["mode"] == "standby"


def test_untrusted_clock_shows_only_standby_without_the_clock() -> None:
    logic = BoardLogic(windows=list(WINDOWS))
    now = local("17:30")
    logic.set_programme(programme([text_bulletin("t1")]), now)
    screen = logic.screen(now)
    assert screen["mode"] == "standby" and screen["clock"]["trusted"] is False
    logic.set_clock_trusted(True, now)
    assert logic.screen(now)["mode"] == "slide"


def test_emergency_takes_over_in_window_and_interrupted_item_restarts_after_cancel() -> None:
    logic = make()
    now = local("17:10")
    logic.set_programme(programme([text_bulletin("t1"), text_bulletin("t2")]), now)
    done = logic.emergency(alert("e1", sent=now), now + timedelta(seconds=3))
    assert done[0]["bulletin_id"] == "t1" and done[0]["outcome"] == "interrupted"
    assert done[0]["interrupted_by"] == "e1"
    screen = logic.screen(now)
    assert screen["mode"] == "emergency" and screen["emergency"]["label"] == "KHẨN CẤP"
    assert screen["emergency"]["sent"] == "17:10 ngày 23/11/2026"
    done = logic.cancel("e1", now + timedelta(seconds=40))
    assert (
        done[0]["bulletin_id"] == "e1"
        and done[0]["emergency"] is True
        and done[0]["detail"].startswith("cancelled")
    )
    assert logic.screen(now)["slide"]["bulletin_id"] == "t1"
    # a cancelled alert that arrives again (duplicate delivery) stays off the screen
    logic.emergency(alert("e1", sent=now), now + timedelta(seconds=41))
    assert logic.screen(now)["mode"] == "slide"


def test_emergency_outside_windows_until_expiry_and_exercise_is_marked() -> None:
    logic = make(standby="black")
    now = local("23:30")
    logic.emergency(alert("x1", sent=now, minutes=10, exercise=True), now)
    em = logic.screen(now)["emergency"]
    assert em["exercise"] is True and "DIỄN TẬP" in em["label"]
    assert logic.tick(now + timedelta(minutes=9)) == []
    ack(logic)
    done = logic.tick(now + timedelta(minutes=10))
    assert (
        done[0]["outcome"] == "completed" and done[0]["detail"].startswith("expired") and done[0]["exercise"]
    )
    assert logic.screen(now)["mode"] == "standby"


def test_newest_emergency_on_top_and_older_comes_back() -> None:
    logic = make()
    now = local("03:00")
    logic.emergency(alert("e1", sent=now), now)
    done = logic.emergency(alert("e2", sent=now, title="Cháy rừng"), now + timedelta(seconds=5))
    assert done[0]["bulletin_id"] == "e1" and done[0]["interrupted_by"] == "e2"
    assert logic.screen(now)["emergency"]["id"] == "e2"
    logic.cancel("e2", now + timedelta(seconds=9))
    assert logic.screen(now)["emergency"]["id"] == "e1"


def test_update_is_a_new_display_so_the_page_redraws_it() -> None:
    logic = make()
    now = local("03:00")
    logic.emergency(alert("e1", sent=now), now)
    key = logic.screen(now)["emergency"]["key"]
    ack(logic)
    done = logic.emergency(alert("e1", sent=now, msg_type="Update", text="Nước đã rút"), now)
    assert [(d["bulletin_id"], d["outcome"], d["detail"]) for d in done] == [("e1", "interrupted", "updated")]
    em = logic.screen(now)["emergency"]
    # the page redraws only on a new key: the updated wording must get one
    assert em["key"] != key and em["text"] == "Nước đã rút"


def test_recall_removes_at_once_and_forever() -> None:
    logic = make()
    now = local("17:00")
    prog = programme([text_bulletin("t1"), text_bulletin("t2")])
    logic.set_programme(prog, now)
    done = logic.recall(["t1"], now + timedelta(seconds=2))
    assert done[0]["bulletin_id"] == "t1" and done[0]["detail"].startswith("recalled")
    assert logic.screen(now)["slide"]["bulletin_id"] == "t2"
    logic.set_programme(prog, now + timedelta(seconds=3))  # an old programme still lists it
    for step in range(1, 6):
        logic.tick(now + timedelta(seconds=3 + 12 * step))
        assert logic.screen(now)["slide"]["bulletin_id"] == "t2"
    logic.emergency(alert("e9", sent=now), now)
    logic.recall(["e9"], now + timedelta(seconds=1))
    assert logic.screen(now)["mode"] == "slide"


def test_programme_recalled_list_and_late_joined_emergency() -> None:
    logic = make()
    now = local("12:00")
    em = alert("e5", sent=now).bulletin
    assert em is not None
    em = type(em)(
        **{
            **em.__dict__,
            "valid_from": now.isoformat(),
            "valid_until": (now + timedelta(hours=1)).isoformat(),
        }
    )
    logic.set_programme(programme([text_bulletin("t1")], emergencies=["e5"], extra=[em]), now)
    assert logic.screen(now)["emergency"]["id"] == "e5"
    done = logic.set_programme(programme([text_bulletin("t1")], recalled=["e5"], version=2), now)
    assert done[0]["bulletin_id"] == "e5" and logic.screen(now)["mode"] == "standby"


def test_missing_media_and_expired_bulletins_are_skipped() -> None:
    logic = make(has_media=lambda sha: sha != PNG)
    now = local("05:30")
    old = text_bulletin("old", valid_until=local("05:00").isoformat())
    prog = programme(
        [media_bulletin("img", "image", PNG, "image/png"), old, text_bulletin("ok")], window="05:00-07:00"
    )
    logic.set_programme(prog, now)
    assert logic.screen(now)["slide"]["bulletin_id"] == "ok"
    window = logic.open_window(now)
    assert window is not None and window[0] == "05:00-07:00"
    assert [b.id for b, _ in logic._eligible(now, *window)] == ["ok"]


def test_slide_view_for_video_carries_media_and_subtitles() -> None:
    logic = make()
    now = local("17:00")
    video = media_bulletin("v", "video", "b" * 64, "video/webm", duration_ms=0, subtitles="c" * 64)
    logic.set_programme(programme([video]), now)
    slide = logic.screen(now)["slide"]
    assert slide["media_url"] == "/media/" + "b" * 64 and slide["subtitles_url"] == "/media/" + "c" * 64
    assert slide["duration_ms"] == slide_duration_ms(video) == 10_000


def test_unacknowledged_display_says_so() -> None:
    logic = make()
    now = local("17:00")
    logic.set_programme(programme([text_bulletin("t1")]), now)
    key = logic.screen(now)["slide"]["key"]
    first = logic.tick(now + timedelta(seconds=13))[0]
    # proof of display: nothing confirmed it, so it is not "completed"
    assert first["outcome"] == "failed" and "no player page confirmed it" in first["detail"]
    logic.acknowledge(logic.screen(now)["slide"]["key"])
    logic.acknowledge(key)  # a stale ack changes nothing
    second = logic.tick(now + timedelta(seconds=26))[0]
    assert second["detail"] == "" and second["outcome"] == "completed"


def test_bad_settings_are_explained() -> None:
    with pytest.raises(ValueError, match=r"led\.windows.*HH:MM"):
        BoardLogic(windows=["5h-7h"])
    with pytest.raises(ValueError, match="clock, black"):
        BoardLogic(windows=[], standby="logo")
    with pytest.raises(ValueError, match="positive"):
        BoardLogic(windows=[], width=0)


def test_window_span() -> None:
    assert window_span(local("17:30"), "17:00-22:00") == (local("17:00"), local("22:00"))
    with pytest.raises(ValueError, match="HH:MM"):
        window_span(local("17:30"), "17h-22h")


def test_panel_setting() -> None:
    assert panel_setting("emergency", "black", 3) == (True, 100)
    assert panel_setting("standby", "black", 12) == (False, 0)
    assert panel_setting("slide", "clock", 20) == (True, 70)
    assert panel_setting("slide", "clock", 12) == (True, 100)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["tick", "alert", "cancel", "recall", "trust", "distrust"]),
        st.integers(0, 3),
        st.integers(1, 3600),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(OPS, st.integers(0, 23 * 60))
def test_invariants_under_any_sequence(ops: list[tuple[str, int, int]], start_min: int) -> None:
    logic = BoardLogic(windows=list(WINDOWS))
    now = local("00:00") + timedelta(minutes=start_min)
    logic.set_programme(programme([text_bulletin(f"t{i}", duration_ms=1000 * i) for i in range(4)]), now)
    for op, n, dt in ops:
        now += timedelta(seconds=dt)
        if op == "alert":
            done = logic.emergency(alert(f"e{n}", sent=now, minutes=n * 5), now)
        elif op == "cancel":
            done = logic.cancel(f"e{n}", now)
        elif op == "recall":
            done = logic.recall([f"t{n}"], now)
        else:
            done = logic.set_clock_trusted(op != "distrust", now) if op != "tick" else logic.tick(now)
        for d in done:
            assert parse_time(d["started_at"]) <= parse_time(d["ended_at"]) == now
            assert d["emergency"] is d["bulletin_id"].startswith("e")
        screen = logic.screen(now)
        if screen["mode"] == "slide":
            assert logic.clock_trusted and window_at(now, WINDOWS) is not None
            assert screen["slide"]["bulletin_id"] not in logic.recalled
            assert slide_duration_ms(logic._infos()[screen["slide"]["bulletin_id"]]) >= TEXT_MIN_MS
        if logic.emergencies and any(
            e.expires is None or e.expires > now for e in logic.emergencies.values()
        ):
            assert screen["mode"] == "emergency"
        assert (screen["mode"] == "standby") is (logic.showing is None)


def test_display_record_has_the_contract_fields() -> None:
    logic = make()
    now = local("17:00")
    logic.set_programme(programme([text_bulletin("t1")]), now)
    ack(logic)
    record = logic.tick(now + timedelta(seconds=12))[0]
    assert set(record) >= {
        "bulletin_id",
        "outcome",
        "scheduled_at",
        "started_at",
        "ended_at",
        "sha256",
        "volume",
        "relay_on",
        "offset_ms",
        "emergency",
        "exercise",
        "interrupted_by",
        "detail",
    }
    assert record["scheduled_at"] == now.isoformat() and record["outcome"] == "completed"


def test_stop_clears_to_standby_until_the_next_item_or_the_window_end() -> None:
    logic = make()
    now = local("17:00")
    assert logic.stop(local("16:00")) == []  # nothing on screen: nothing to report
    assert logic.hold_until == now  # (the next window's start)
    logic.set_programme(programme([text_bulletin("t1"), text_bulletin("t2")]), now)  # t2 at 17:01
    assert logic.screen(now)["slide"]["bulletin_id"] == "t1"
    ack(logic)
    done = logic.stop(now + timedelta(seconds=20))
    assert [(d["bulletin_id"], d["outcome"], d["detail"]) for d in done] == [
        ("t1", "interrupted", "stopped by command")
    ]
    assert logic.hold_until == local("17:01")  # the next item's start
    assert logic.tick(now + timedelta(seconds=50)) == []
    assert logic.screen(now + timedelta(seconds=50))["mode"] == "standby"
    logic.tick(local("17:01"))
    assert logic.screen(local("17:01"))["mode"] == "slide"
    # after the last item has started: standby until the window closes
    ack(logic)
    logic.stop(local("17:05"))
    assert logic.hold_until == local("22:00")
    logic.tick(local("21:59"))
    assert logic.screen(local("21:59"))["mode"] == "standby"


def test_stop_takes_the_emergency_off_until_an_update_but_a_new_one_shows() -> None:
    logic = make()
    now = local("18:00")
    logic.emergency(alert("e1", sent=now), now)
    ack(logic)
    done = logic.stop(now)
    assert done[0]["bulletin_id"] == "e1" and done[0]["detail"] == "stopped by command"
    assert logic.screen(now)["mode"] == "standby" and logic.tick(now + timedelta(seconds=5)) == []
    assert logic.screen(now)["mode"] == "standby"
    logic.emergency(alert("e2", sent=now), now)  # another emergency: on screen at once
    assert logic.screen(now)["emergency"]["id"] == "e2"
    logic.cancel("e2", now)
    assert logic.screen(now)["mode"] == "standby"  # e1 stays off
    logic.emergency(alert("e1", sent=now, msg_type="Update", text="Nước đã rút một phần."), now)
    assert logic.screen(now)["emergency"]["id"] == "e1"  # new wording: shown again


def test_emergency_screen_names_the_areas_when_the_hub_sends_names() -> None:
    from dataclasses import replace  # noqa: PLC0415

    from edge_agent.led.logic import Emergency  # noqa: PLC0415

    a = alert("lu-ten", sent=local("16:00"))
    assert Emergency.from_alert(a).areas == ("67/660/24613",)  # an older hub: the codes
    named = replace(a, area_names=["Phường Nghĩa Tân"])
    assert Emergency.from_alert(named).areas == ("Phường Nghĩa Tân",)
    assert Emergency.from_alert(replace(a, area_names=["thiếu", "thừa"])).areas == ("67/660/24613",)
