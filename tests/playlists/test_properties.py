"""Property-based checks of the programme engine's invariants over random requests (hypothesis)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playlists import ORIGINS, compile_dict

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AREA = "67/660/24613"
AREAS = ["67", "67/660", AREA, "67/660/24611", "67/661", "68"]
# A plain day in Viet Nam, and the two days Paris changes its clocks (windows must still be exact).
DAYS = [("Asia/Ho_Chi_Minh", date(2026, 11, 23)), ("Europe/Paris", date(2026, 3, 29)),
        ("Europe/Paris", date(2026, 10, 25))]


@st.composite
def windows(draw: st.DrawFn, cross: bool = True) -> list[str]:
    n = draw(st.integers(1, 3))
    points = sorted(draw(st.sets(st.integers(0, 1439), min_size=2 * n, max_size=2 * n)))
    if cross and draw(st.booleans()):  # the last window crosses midnight and ends before the first one starts
        points = [*points[1:], points[0]]
    pairs = zip(points[::2], points[1::2], strict=True)
    return [f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in pairs]


@st.composite
def requests(draw: st.DrawFn, mid_window_validity: bool = True) -> dict[str, Any]:
    tz_name, day = draw(st.sampled_from(DAYS))
    zone = ZoneInfo(tz_name)
    midnight = datetime.combine(day, time(0), zone)

    def local_midnight(days: int) -> str:
        return datetime.combine(day + timedelta(days=days), time(0), zone).isoformat()

    def moment(minutes: int) -> str:
        # Real elapsed minutes (through UTC), so that the order of moments survives a DST change.
        return (midnight.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(zone).isoformat()

    bulletins = []
    for i in range(draw(st.integers(0, 12))):
        b: dict[str, Any] = {
            "id": f"b{i}",
            "priority": draw(st.sampled_from(["emergency", "priority", "priority", "normal", "normal"])),
            "origin": draw(st.sampled_from(ORIGINS)),
            "kinds": draw(st.sampled_from([["radio"], ["led"], ["radio", "led"]])),
            "targets": draw(st.lists(st.sampled_from(AREAS), min_size=1, max_size=2)),
            "duration_s": draw(st.one_of(st.integers(1, 5400), st.floats(0.5, 3000, allow_nan=False))),
            "plays_per_day": draw(st.integers(1, 3)),
        }
        if draw(st.booleans()):
            b["approved_at"] = moment(draw(st.integers(-3000, 0)))
        if mid_window_validity:
            vf = draw(st.one_of(st.none(), st.integers(-1500, 1500)))
            vu = draw(st.one_of(st.none(), st.integers(-1400, 3000)))
            if vf is not None and vu is not None and vu <= vf:
                vu = vf + draw(st.integers(1, 600))
        else:  # whole days only: validity never starts or ends inside a window
            vf = draw(st.sampled_from([None, -1440, 1440]))
            vu = draw(st.sampled_from([None, 0, 2880]))
            if vf is not None and vu is not None and vu <= vf:
                vf = None
        # whole days are local midnights: on a day of 23 or 25 hours, 1440 elapsed minutes are not one
        whole = not mid_window_validity
        if vf is not None:
            b["valid_from"] = local_midnight(vf // 1440) if whole else moment(vf)
        if vu is not None:
            b["valid_until"] = local_midnight(vu // 1440) if whole else moment(vu)
        bulletins.append(b)
    bids = [b["id"] for b in bulletins] + ["ghost"]
    request: dict[str, Any] = {
        "date": day.isoformat(), "timezone": tz_name, "area": AREA,
        "device_kind": draw(st.sampled_from(["radio", "led"])),
        "gap_s": draw(st.sampled_from([0, 0, 3, 7.5])),
        "auto_normal": draw(st.booleans()),
        "bulletins": bulletins,
        "selection": draw(st.lists(st.sampled_from(bids), max_size=8)),
        "order": draw(st.lists(st.sampled_from(bids), max_size=6)),
    }
    if draw(st.booleans()):
        # whole-day validity ends at midnight, inside a window crossing it: keep those for the other tests
        request["windows"] = draw(windows(cross=mid_window_validity))
    return request


def _windows(request: dict[str, Any]) -> dict[str, tuple[datetime, datetime]]:
    zone = ZoneInfo(request["timezone"])
    day = date.fromisoformat(request["date"])
    labels = request.get("windows") or (["05:00-06:30", "17:00-18:30"] if request["device_kind"] == "radio"
                                        else ["05:00-07:00", "17:00-22:00"])
    out = {}
    for label in labels:
        a, b = (time.fromisoformat(x) for x in label.split("-"))
        # In UTC: aware datetimes in a DST gap never compare equal across zones (PEP 495).
        out[label] = (datetime.combine(day, a, zone).astimezone(UTC),
                      datetime.combine(day + timedelta(days=b < a), b, zone).astimezone(UTC))
    return out


def _check_invariants(request: dict[str, Any], result: dict[str, Any]) -> None:
    by_id = {b["id"]: b for b in request["bulletins"]}
    zone = ZoneInfo(request["timezone"])
    wins = _windows(request)
    played = [p["bulletin_id"] for p in result["programme"]]
    unscheduled = [u["bulletin_id"] for u in result["unscheduled"]]
    # Each bulletin accounted for exactly once.
    assert len(unscheduled) == len(set(unscheduled))
    assert len(result["emergencies"]) == len(set(result["emergencies"]))
    groups = [set(played), set(result["emergencies"]), set(unscheduled)]
    assert sum(len(g) for g in groups) == len(by_id)
    assert set().union(*groups) == set(by_id)
    for u in result["unscheduled"]:
        assert u["detail"] and u["reason"] in {"window_full", "not_selected", "not_targeted", "wrong_kind",
                                               "not_yet_valid", "expired"}
    plays: dict[str, list[dict[str, Any]]] = {}
    for p in result["programme"]:
        plays.setdefault(p["bulletin_id"], []).append(p)
        b = by_id[p["bulletin_id"]]
        start, end = datetime.fromisoformat(p["start"]), datetime.fromisoformat(p["end"])
        ws, we = wins[p["window"]]
        # Inside its window and its validity, never cut.
        assert ws <= start and end <= we
        assert abs((end - start).total_seconds() - b["duration_s"]) < 1e-3
        if "valid_from" in b:
            assert datetime.fromisoformat(b["valid_from"]).astimezone(zone) <= start
        if "valid_until" in b:
            assert end <= datetime.fromisoformat(b["valid_until"]).astimezone(zone)
        assert b["priority"] != "emergency" and request["device_kind"] in b["kinds"]
    # At most once per window, at most plays_per_day on radio, numbered in time order.
    for bid, ps in plays.items():
        assert len({p["window"] for p in ps}) == len(ps)
        if request["device_kind"] == "radio":
            assert len(ps) <= by_id[bid]["plays_per_day"]
        assert [p["play"] for p in ps] == list(range(1, len(ps) + 1))
    # Every radio bulletin on air with fewer plays than it asked for says why, and only those.
    short = {s["bulletin_id"]: s for s in result["short"]}
    expect = {bid for bid, ps in plays.items()
              if request["device_kind"] == "radio" and len(ps) < by_id[bid]["plays_per_day"]}
    assert set(short) == expect
    for bid, s in short.items():
        assert (s["planned"], s["wanted"]) == (len(plays[bid]), by_id[bid]["plays_per_day"])
        assert s["reason"] in {"one_per_window", "validity", "window_full"} and s["detail"]
        assert s["detail"].startswith(f"Hôm nay phát {s['planned']}/{s['wanted']} lần")
    # No overlaps, and the gap kept between neighbours in a window; the programme is sorted by start.
    starts = [datetime.fromisoformat(p["start"]) for p in result["programme"]]
    assert starts == sorted(starts)
    for a, b in zip(result["programme"], result["programme"][1:], strict=False):
        gap = (datetime.fromisoformat(b["start"]) - datetime.fromisoformat(a["end"])).total_seconds()
        assert gap >= (request["gap_s"] if a["window"] == b["window"] else 0) - 1e-3


def _rank(request: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Which bulletins play first when windows are short (Art. 8.2), written again independently of the
    engine: priority by origin, approval time, id (never by the chair's order); then normal bulletins,
    the selection in the chair's order, then (auto_normal) the rest by approval time."""
    selection = list(dict.fromkeys(request["selection"]))
    far = "9999-12-31T00:00:00+00:00"
    rank = {}
    for b in request["bulletins"]:
        approved = datetime.fromisoformat(b.get("approved_at", far))
        if b["priority"] == "priority":
            rank[b["id"]] = (0, ORIGINS.index(b["origin"]), approved, b["id"])
        elif b["priority"] == "normal":
            rank[b["id"]] = ((2, selection.index(b["id"])) if b["id"] in selection
                             else (3, approved, b["id"]))
    return rank


def _sequence(request: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The order inside a window: the chair's listed priority bulletins in the chair's order, the other
    priority bulletins by rank, then normal bulletins by rank."""
    order = [bid for bid in dict.fromkeys(request["order"])]
    rank = _rank(request)
    return {bid: ((0, order.index(bid)) if bid in order and r[0] == 0 else (1, r)) for bid, r in rank.items()}


@SETTINGS
@given(requests())
def test_invariants(request: dict[str, Any]) -> None:
    result = compile_dict(request)
    _check_invariants(request, result)
    assert compile_dict(request) == result


@SETTINGS
@given(requests(), st.randoms(use_true_random=False))
def test_input_order_does_not_matter(request: dict[str, Any], rnd: random.Random) -> None:
    result = compile_dict(request)
    shuffled = dict(request, bulletins=rnd.sample(request["bulletins"], len(request["bulletins"])))
    other = compile_dict(shuffled)
    assert other["programme"] == result["programme"]
    assert other["emergencies"] == result["emergencies"]
    assert sorted(other["unscheduled"], key=lambda u: u["bulletin_id"]) == sorted(
        result["unscheduled"], key=lambda u: u["bulletin_id"])


@SETTINGS
@given(requests(mid_window_validity=False))
def test_ranking_respected(request: dict[str, Any]) -> None:
    result = compile_dict(request)
    _check_invariants(request, result)
    rank, sequence = _rank(request), _sequence(request)
    wins = _windows(request)
    by_id = {b["id"]: b for b in request["bulletins"]}
    per_window: dict[str, list[dict[str, Any]]] = {}
    for p in result["programme"]:
        per_window.setdefault(p["window"], []).append(p)
    # Without validity edges inside windows, each window is its items in the chair's order, back to back.
    for label, ps in per_window.items():
        assert [sequence[p["bulletin_id"]] for p in ps] == sorted(sequence[p["bulletin_id"]] for p in ps)
        assert datetime.fromisoformat(ps[0]["start"]) == wins[label][0]
    # A bulletin with no play had no room: in every window, what ranks above it leaves too little time.
    for u in result["unscheduled"]:
        if u["reason"] != "window_full":
            continue
        b = by_id[u["bulletin_id"]]
        for label, (ws, we) in wins.items():
            above = [p for p in per_window.get(label, []) if rank[p["bulletin_id"]] < rank[b["id"]]]
            need = sum(by_id[p["bulletin_id"]]["duration_s"] + request["gap_s"] for p in above)
            assert ws + timedelta(seconds=need + b["duration_s"]) > we
    # Normal bulletins play only when selected, unless auto_normal.
    if not request["auto_normal"]:
        for p in result["programme"]:
            if by_id[p["bulletin_id"]]["priority"] == "normal":
                assert p["bulletin_id"] in request["selection"]
