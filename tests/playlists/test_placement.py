"""Placement by rank (Art. 8.2): optimal against an exhaustive search, and never bent by the chair's order.

The engine is checked against definitions written again here by brute force: which windows each
bulletin could use, whether a set of plays fits one window (every order tried, as subsets), and the
best arrangement by rank (every assignment of plays to windows tried).
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import combinations, product
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from playlists import ORIGINS, compile_dict, compile_programme, request_from_dict
from tests.playlists.test_properties import _windows, requests

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 23)
AREA = "67/660/24613"


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).astimezone(UTC).timestamp()


def _rank_key(b: dict[str, Any], selection: list[str]) -> tuple[Any, ...]:
    far = "9999-12-31T00:00:00+00:00"
    if b["priority"] == "priority":
        return 0, ORIGINS.index(b["origin"]), _ts(b.get("approved_at", far)), b["id"]
    if b["id"] in selection:
        return 1, selection.index(b["id"])
    return 2, _ts(b.get("approved_at", far)), b["id"]


def _spans(request: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Where `b` could play a whole time: window label -> (earliest start, latest end), POSIX seconds."""
    out = {}
    for label, (ws, we) in _windows(request).items():
        lo = max(ws.timestamp(), _ts(b["valid_from"]) if "valid_from" in b else -1e18)
        hi = min(we.timestamp(), _ts(b["valid_until"]) if "valid_until" in b else 1e18)
        if lo + b["duration_s"] <= hi + 1e-6:
            out[label] = (lo, hi)
    return out


def _fits(jobs: tuple[tuple[float, float, float], ...], gap: float) -> bool:
    """Whether plays (earliest start, latest end, length) fit one window in some order: for each set of
    plays done first, the earliest moment they can all be over (every order, through subsets)."""
    n = len(jobs)
    best = {0: -1e18}
    for mask in range(1, 1 << n):
        finish = None
        for j in range(n):
            if mask >> j & 1 and (mask ^ (1 << j)) in best:
                prev = best[mask ^ (1 << j)]
                lo, hi, d = jobs[j]
                start = max(lo, prev + gap if mask ^ (1 << j) else lo)
                if start + d <= hi + 1e-6 and (finish is None or start + d < finish):
                    finish = start + d
        if finish is not None:
            best[mask] = finish
    return (1 << n) - 1 in best


def _eligible(request: dict[str, Any]) -> list[dict[str, Any]]:
    """Bulletins that compete for room, best first: targeted, right kind, priority or chosen normal."""
    selection = list(dict.fromkeys(s for s in request["selection"]))
    anc = {"/".join(AREA.split("/")[: i + 1]) for i in range(3)}
    out = []
    for b in request["bulletins"]:
        if not anc.intersection(b["targets"]) or request["device_kind"] not in b["kinds"]:
            continue
        if b["priority"] == "emergency" or not _spans(request, b):
            continue
        if b["priority"] == "normal" and not (request["auto_normal"] or b["id"] in selection):
            continue
        out.append(b)
    return sorted(out, key=lambda b: _rank_key(b, selection))


def _counts(result: dict[str, Any]) -> dict[str, int]:
    got: dict[str, int] = {}
    for p in result["programme"]:
        got[p["bulletin_id"]] = got.get(p["bulletin_id"], 0) + 1
    return got


# --- small days, checked against the exhaustive best ---------------------------------------------------


@st.composite
def small_days(draw: st.DrawFn) -> dict[str, Any]:
    # Short windows, two hours apart, and validity that starts or ends near them: days where room is
    # tight and where the order of placement matters.
    slots = sorted(draw(st.sets(st.integers(0, 3), min_size=1, max_size=3)))
    spans = [(300 + 120 * k, 300 + 120 * k + draw(st.integers(1, 6)) * 15) for k in slots]
    windows = [f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in spans]
    moments = st.integers(spans[0][0] - 30, spans[-1][1] + 30)
    midnight = datetime.combine(DAY, time(0), HCM)
    bulletins = []
    for i in range(draw(st.integers(1, 5))):
        b: dict[str, Any] = {
            "id": f"p{i}", "priority": "priority", "origin": draw(st.sampled_from(ORIGINS)),
            "kinds": ["radio"], "targets": ["67"],
            "duration_s": draw(st.integers(1, 12)) * 300 - draw(st.sampled_from([0, 0, 60])),
            "plays_per_day": draw(st.integers(1, 2)),
            "approved_at": (midnight - timedelta(minutes=i * 7 + draw(st.integers(0, 5)))).isoformat(),
        }
        vf = draw(st.one_of(st.none(), moments))
        vu = draw(st.one_of(st.none(), moments))
        if vf is not None and vu is not None and vu <= vf:
            vf, vu = vu - 1, vf + 1
        if vf is not None:
            b["valid_from"] = (midnight + timedelta(minutes=vf)).isoformat()
        if vu is not None:
            b["valid_until"] = (midnight + timedelta(minutes=vu)).isoformat()
        bulletins.append(b)
    ids = [b["id"] for b in bulletins]
    return {"date": DAY.isoformat(), "timezone": "Asia/Ho_Chi_Minh", "device_kind": "radio", "area": AREA,
            "windows": windows,
            "gap_s": draw(st.sampled_from([0, 0, 30])), "bulletins": bulletins, "selection": [],
            "auto_normal": False, "order": draw(st.permutations(ids))[: draw(st.integers(0, len(ids)))]}


def _best_counts(request: dict[str, Any]) -> list[int]:
    """Lexicographically best plays per bulletin in rank order, by trying every assignment."""
    gap = request["gap_s"]
    ranked = _eligible(request)
    spans = [_spans(request, b) for b in ranked]

    @cache
    def window_ok(label: str, members: frozenset[int]) -> bool:
        jobs = tuple((*spans[i][label], float(ranked[i]["duration_s"])) for i in sorted(members))
        return _fits(jobs, gap)

    def possible(counts: list[int]) -> bool:
        choices = [list(combinations(sorted(spans[i]), c)) for i, c in enumerate(counts)]
        for pick in product(*choices):
            members: dict[str, set[int]] = {}
            for i, labels in enumerate(pick):
                for label in labels:
                    members.setdefault(label, set()).add(i)
            if all(window_ok(label, frozenset(m)) for label, m in members.items()):
                return True
        return False

    counts: list[int] = []
    for i, b in enumerate(ranked):
        top = min(b.get("plays_per_day", 1), len(spans[i]))
        counts.append(next(c for c in range(top, -1, -1) if possible([*counts, c])))
    return counts


@FAST
@given(small_days())
def test_placement_is_the_best_by_rank(request: dict[str, Any]) -> None:
    result = compile_dict(request)
    got = _counts(result)
    ranked = _eligible(request)
    assert [got.get(b["id"], 0) for b in ranked] == _best_counts(request)
    assert compile_programme(request_from_dict(request)).exact


# --- the chair's order decides when, never whether --------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(), st.randoms(use_true_random=False))
def test_chairs_order_never_changes_which_priority_bulletins_play(request: dict[str, Any],
                                                                   rnd: random.Random) -> None:
    prio = [b["id"] for b in request["bulletins"] if b["priority"] == "priority"]
    base = compile_dict(dict(request, order=[]))
    other = compile_dict(dict(request, order=rnd.sample(prio, len(prio))))
    kept = {bid: n for bid, n in _counts(base).items() if bid in prio}
    assert {bid: n for bid, n in _counts(other).items() if bid in prio} == kept
    assert [u for u in base["unscheduled"] if u["bulletin_id"] in prio] == [
        u for u in other["unscheduled"] if u["bulletin_id"] in prio]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_no_bulletin_left_out_where_a_lower_one_plays_and_it_could_have(request: dict[str, Any]) -> None:
    """A bulletin with no play for lack of room could not have played in any window where a lower-ranked
    one of its kind plays: that window could not hold it with the plays ranked above it."""
    result = compile_dict(request)
    ranked = _eligible(request)
    position = {b["id"]: i for i, b in enumerate(ranked)}
    windows_of: dict[str, list[str]] = {}
    for p in result["programme"]:
        windows_of.setdefault(p["window"], []).append(p["bulletin_id"])
    for u in result["unscheduled"]:
        if u["reason"] != "window_full" or u["bulletin_id"] not in position:
            continue
        h = ranked[position[u["bulletin_id"]]]
        for label in _spans(request, h):
            there = windows_of.get(label, [])
            lower = [bid for bid in there if position[bid] > position[h["id"]]
                     and ranked[position[bid]]["priority"] == h["priority"]]
            if not lower:
                continue
            above = [ranked[position[bid]] for bid in there if position[bid] < position[h["id"]]]
            jobs = tuple((*_spans(request, b)[label], float(b["duration_s"])) for b in [*above, h])
            assert not _fits(jobs, request["gap_s"]), (h["id"], label, lower)


@FAST
@given(small_days(), st.randoms(use_true_random=False))
def test_chairs_order_never_changes_which_play_on_tight_days(request: dict[str, Any],
                                                             rnd: random.Random) -> None:
    ids = [b["id"] for b in request["bulletins"]]
    base = compile_dict(dict(request, order=[]))
    for order in (rnd.sample(ids, len(ids)), ids[::-1]):
        other = compile_dict(dict(request, order=order))
        assert _counts(other) == _counts(base)
        assert other["unscheduled"] == base["unscheduled"]
