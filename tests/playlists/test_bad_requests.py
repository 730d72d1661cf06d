"""Every kind of bad request gets a RequestError naming the field (and bulletin) to fix."""

from __future__ import annotations

from typing import Any

import pytest

from playlists import RequestError, compile_dict
from tests.playlists.helpers import bul, req


def _without(d: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != key}


CASES: list[tuple[str, Any, str]] = [
    ("not an object", [1, 2], "JSON object"),
    ("missing date", _without(req(bul("a")), "date"), "'date' is missing"),
    ("missing bulletins", _without(req(), "bulletins"), "'bulletins' is missing"),
    ("unparseable date", req(bul("a"), date="23/11/2026"), "date: '23/11/2026'"),
    ("impossible date", req(bul("a"), date="2026-02-30"), "YYYY-MM-DD"),
    ("date as number", req(bul("a"), date=20261123), "date:"),
    ("unknown timezone", req(bul("a"), timezone="Asia/Hanoi_City"), "timezone"),
    ("unknown device kind", req(bul("a"), device_kind="tv"), "device_kind: 'tv'"),
    ("empty area", req(bul("a"), area="/"), "area:"),
    ("unknown top-level field", req(bul("a"), selections=["a"]), "did you mean 'selection'"),
    # A window crossing midnight is allowed, but not into the next day's first window nor another one.
    ("crossing window into the morning", req(bul("a"), windows=["06:30-05:30", "05:00-06:00"]),
     "overlap after midnight"),
    ("crossing window into the next day", req(bul("a"), windows=[{"start": "22:00", "end": "02:00"},
                                                                 "01:00-03:00"]), "overlap after midnight"),
    ("two windows crossing midnight", req(bul("a"), windows=["22:00-01:00", "23:00-00:30"]), "overlap"),
    ("window inside a crossing one", req(bul("a"), windows=["22:00-01:00", "23:00-23:30"]), "overlap"),
    ("empty window", req(bul("a"), windows=["05:00-05:00"]), "is empty"),
    ("overlapping windows", req(bul("a"), windows=["05:00-06:30", "06:00-07:00"]), "overlap"),
    ("bad window time", req(bul("a"), windows=["5h-6h"]), "HH:MM"),
    ("hour 24", req(bul("a"), windows=["23:00-24:00"]), "HH:MM"),
    ("window bad keys", req(bul("a"), windows=[{"from": "05:00", "to": "06:00"}]), "'start'"),
    ("windows not a list", req(bul("a"), windows="05:00-06:30"), "must be a list"),
    ("windows empty list", req(bul("a"), windows=[]), "at least one window"),
    ("negative gap", req(bul("a"), gap_s=-1), "gap_s"),
    ("auto_normal not bool", req(bul("a"), auto_normal="yes"), "auto_normal"),
    ("selection not list", req(bul("a"), selection="a"), "selection"),
    ("order with numbers", req(bul("a"), order=[1]), "order"),
    ("bulletins not list", req(bulletins={"a": 1}), "bulletins: must be a list"),
    ("bulletin not object", req("a"), "bulletins[0]"),
    ("bulletin missing field", req(_without(bul("b7"), "duration_s")), "'b7': the field 'duration_s'"),
    ("bulletin unknown field", req(bul("b7", plays_per_dya=2)), "did you mean 'plays_per_day'"),
    ("duplicate id", req(bul("a"), bul("a")), "more than once"),
    ("unknown priority", req(bul("b7", "urgent")), "'b7': priority 'urgent'"),
    ("unknown origin", req(bul("b7", origin="village")), "origin 'village'"),
    ("unknown kind", req(bul("b7", kinds=["tv"])), "'b7': kinds"),
    ("no kinds", req(bul("b7", kinds=[])), "kinds"),
    ("no targets", req(bul("b7", targets=[])), "'b7': targets"),
    ("negative duration", req(bul("b7", duration_s=-5)), "'b7': duration_s -5"),
    ("zero duration", req(bul("b7", duration_s=0)), "positive"),
    ("duration as text", req(bul("b7", duration_s="300")), "duration_s"),
    ("duration as bool", req(bul("b7", duration_s=True)), "duration_s"),
    ("plays_per_day zero", req(bul("b7", plays_per_day=0)), "plays_per_day"),
    ("plays_per_day float", req(bul("b7", plays_per_day=1.5)), "plays_per_day"),
    ("bad valid_from", req(bul("b7", valid_from="yesterday")), "'b7': valid_from"),
    ("valid_until before valid_from",
     req(bul("b7", valid_from="2026-11-23T10:00:00+07:00", valid_until="2026-11-23T09:00:00+07:00")),
     "must be after valid_from"),
    ("empty id", req(bul("")), "id"),
]


@pytest.mark.parametrize(("case", "request_", "needle"), CASES, ids=[c[0] for c in CASES])
def test_bad_request(case: str, request_: Any, needle: str) -> None:
    with pytest.raises(RequestError) as info:
        compile_dict(request_)
    assert needle in str(info.value), f"{case}: {info.value}"


def test_request_error_is_value_error() -> None:
    assert issubclass(RequestError, ValueError)


def test_unknown_ids_in_selection_and_order_are_ignored() -> None:
    result = compile_dict(req(bul("a"), selection=["gone"], order=["gone"]))
    assert [p["bulletin_id"] for p in result["programme"]] == ["a"]
