"""Relays (tiếp sóng) at fixed times: the engine keeps them where they are and packs bulletins around them."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playlists import RequestError, compile_dict
from tests.playlists.helpers import AREA, at, bul, ids, req, run

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def relay(rid: str, start: str, minutes: float, **kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"id": rid, "start": start, "duration_s": minutes * 60, "targets": ["67"]}
    r.update(kw)
    return r


def test_relay_keeps_its_time_and_bulletins_go_around_it() -> None:
    res = run(bul("a", duration_s=50 * 60), bul("b", duration_s=20 * 60), bul("c", duration_s=10 * 60),
              relays=[relay("news", "06:00", 15, title="Thời sự")])
    assert res["relays"] == [{"window": "05:00-06:30", "relay_id": "news", "start": at("06:00:00"),
                              "end": at("06:15:00")}]
    morning = [(p["bulletin_id"], p["start"], p["end"])
               for p in res["programme"] if p["window"] == "05:00-06:30"]
    # a (50 min) then c (10 min) fill 05:00-06:00; b (20 min) does not fit before the relay, so after it
    # is only 15 min: b goes to the evening
    assert morning == [("a", at("05:00:00"), at("05:50:00")), ("c", at("05:50:00"), at("06:00:00"))]
    assert ids(res, "17:00-18:30") == ["b"]
    assert res["unscheduled"] == [] and res["relays_off"] == []


def test_bulletin_after_the_relay_when_the_gap_before_is_too_small() -> None:
    res = run(bul("a", duration_s=55 * 60), bul("b", duration_s=10 * 60, plays_per_day=1),
              relays=[relay("news", "06:00", 15)], windows=["05:00-06:30"])
    assert [(p["bulletin_id"], p["start"]) for p in res["programme"]] == [
        ("a", at("05:00:00")), ("b", at("06:15:00"))]


def test_no_longer_fits_says_the_relay_took_the_time() -> None:
    res = run(bul("long", duration_s=80 * 60, title="Dài"),
              relays=[relay("news", "06:00", 15, title="Thời sự")], windows=["05:00-06:30"])
    assert res["programme"] == []
    [u] = res["unscheduled"]
    assert u["reason"] == "window_full"
    assert "tiếp sóng «Thời sự» 06:00–06:15" in u["detail"]
    # without the relay it fits: the relay is what keeps it out
    assert ids(run(bul("long", duration_s=80 * 60), windows=["05:00-06:30"])) == ["long"]


def test_relay_outside_the_window_is_not_on_air_with_a_reason() -> None:
    res = run(bul("a"), relays=[relay("late", "06:20", 15)])  # 06:20-06:35 leaves the 05:00-06:30 window
    assert res["relays"] == []
    [off] = res["relays_off"]
    assert off["relay_id"] == "late" and off["reason"] == "outside_window"
    assert "06:20–06:35" in off["detail"] and "05:00-06:30" in off["detail"]


def test_colliding_relays_the_higher_level_keeps_its_time() -> None:
    res = run(relays=[relay("commune", "06:05", 10, origin="commune", targets=[AREA]),
                      relay("province", "06:00", 15, title="VOV")])
    assert [r["relay_id"] for r in res["relays"]] == ["province"]
    [off] = res["relays_off"]
    assert off["reason"] == "relay_overlap" and "VOV" in off["detail"]


def test_relay_for_another_area_and_led_boards() -> None:
    res = run(relays=[relay("other", "06:00", 15, targets=["67/661"])])
    assert res["relays"] == [] and res["relays_off"][0]["reason"] == "not_targeted"
    led = run(bul("a", kinds=["led"]), device_kind="led", relays=[relay("news", "06:00", 15)])
    assert led["relays"] == [] and led["relays_off"] == []  # a board relays no sound


@pytest.mark.parametrize(("field", "value", "says"), [
    ("start", "6h", "HH:MM"), ("start", "25:00", "HH:MM"), ("duration_s", 0, "duration_s"),
    ("duration_s", 4 * 3600, "duration_s"), ("targets", [], "targets"), ("origin", "x", "origin"),
    ("url", "http://x", "unknown field"),
])
def test_bad_relays_are_refused_naming_the_field(field: str, value: Any, says: str) -> None:
    r = relay("r", "06:00", 15)
    r[field] = value
    with pytest.raises(RequestError, match=says):
        compile_dict(req(relays=[r]))


# --- properties (bounded) -----------------------------------------------------------------------------

@st.composite
def days(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 6))
    bulletins = [bul(f"b{i}", duration_s=draw(st.integers(1, 40)) * 60,
                     plays_per_day=draw(st.integers(1, 2)),
                     priority=draw(st.sampled_from(["priority", "priority", "normal"])))
                 for i in range(n)]
    relays = []
    for i in range(draw(st.integers(0, 3))):
        h, m = draw(st.sampled_from([(5, 0), (5, 30), (6, 0), (6, 15), (17, 0), (17, 45), (18, 20)]))
        relays.append(relay(f"r{i}", f"{h:02d}:{m:02d}", draw(st.integers(1, 30)),
                            origin=draw(st.sampled_from(["province", "commune"]))))
    gap = draw(st.sampled_from([0, 5]))
    return req(*bulletins, relays=relays, gap_s=gap, auto_normal=True)


def _t(s: str) -> float:
    return datetime.fromisoformat(s).timestamp()


@SETTINGS
@given(days())
def test_relays_are_fixed_and_nothing_overlaps_them(request: dict[str, Any]) -> None:
    res = compile_dict(request)
    gap = request["gap_s"]
    wanted = {r["id"]: r for r in request["relays"]}
    for r in res["relays"]:
        h, m = map(int, wanted[r["relay_id"]]["start"].split(":"))
        assert datetime.fromisoformat(r["start"]).hour == h and datetime.fromisoformat(r["start"]).minute == m
        assert _t(r["end"]) - _t(r["start"]) == pytest.approx(wanted[r["relay_id"]]["duration_s"])
    # every relay is either on air or has a reason, once
    assert sorted([r["relay_id"] for r in res["relays"]] + [o["relay_id"] for o in res["relays_off"]]) == \
        sorted(wanted)
    spans = [(_t(r["start"]), _t(r["end"])) for r in res["relays"]] + \
        [(_t(p["start"]), _t(p["end"])) for p in res["programme"]]
    spans.sort()
    for (_, e1), (s2, _) in itertools.pairwise(spans):
        assert s2 >= e1 + gap - 1e-6, res


@SETTINGS
@given(days())
def test_relays_never_give_a_bulletin_more_room(request: dict[str, Any]) -> None:
    """Lexicographic by rank: with relays the priority bulletins' play counts are never better than without
    (relays only take time away)."""
    request["bulletins"] = [b for b in request["bulletins"] if b["priority"] == "priority"]
    with_r = compile_dict(request)
    without = compile_dict({**request, "relays": []})

    def counts(res: dict[str, Any]) -> list[int]:
        got: dict[str, int] = {}
        for p in res["programme"]:
            got[p["bulletin_id"]] = got.get(p["bulletin_id"], 0) + 1
        return [got.get(b["id"], 0) for b in request["bulletins"]]

    assert counts(with_r) <= counts(without)
