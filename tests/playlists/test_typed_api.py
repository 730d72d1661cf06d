"""The typed path the hub uses: Bulletin objects, prepare_day/compile_day, compile_for_area."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from playlists import (
    Bulletin,
    RequestError,
    compile_day,
    compile_dict,
    compile_for_area,
    compile_programme,
    prepare_day,
    request_from_dict,
)
from tests.playlists.helpers import AREA, bul, req

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 23)


def b(bid: str, **kw: object) -> Bulletin:
    fields: dict[str, object] = {"priority": "priority", "origin": "province", "kinds": frozenset({"radio"}),
                                 "targets": ("67",), "duration_s": 60}
    fields.update(kw)
    return Bulletin(id=bid, **fields)  # type: ignore[arg-type]


def test_typed_and_json_paths_agree() -> None:
    request = req(bul("a", duration_s=60), bul("n", "normal", duration_s=90), bul("x", targets=["68"]),
                  selection=["n"], gap_s=2)
    typed = compile_programme(request_from_dict(request))
    assert typed.to_dict() == compile_dict(request)
    assert typed.windows == ("05:00-06:30", "17:00-18:30")
    assert typed.programme[0].start == datetime(2026, 11, 23, 5, 0, tzinfo=HCM)


def test_prepared_day_serves_many_communes() -> None:
    bulletins = [b("prov"), b("d660", origin="district", targets=("67/660",)),
                 b("d661", origin="district", targets=("67/661",))]
    day = prepare_day("radio", DAY, bulletins)
    here = compile_day(day, AREA)
    there = compile_day(day, "67/661/24658")
    assert [p.bulletin_id for p in here.programme] == ["prov", "d660"]
    assert [p.bulletin_id for p in there.programme] == ["prov", "d661"]
    assert compile_for_area(AREA, "radio", DAY, bulletins) == here


def test_compile_for_area_sees_changed_bulletins() -> None:
    first = [b("a"), b("b")]
    assert [p.bulletin_id for p in compile_for_area(AREA, "radio", DAY, first).programme] == ["a", "b"]
    # Same length, other objects: the prepared-day cache must not serve the old ones.
    second = [b("a"), b("c", targets=("68",))]
    result = compile_for_area(AREA, "radio", DAY, second)
    assert [p.bulletin_id for p in result.programme] == ["a"]
    assert [(u.bulletin_id, u.reason) for u in result.unscheduled] == [("c", "not_targeted")]
    other_windows = compile_for_area(AREA, "radio", DAY, second, windows=["07:00-08:00"])
    assert other_windows.programme[0].window == "07:00-08:00"
    as_dicts = compile_for_area(AREA, "radio", DAY, second, windows=[{"start": "07:00", "end": "08:00"}])
    assert as_dicts == other_windows


def test_bulletin_checks_its_values() -> None:
    with pytest.raises(RequestError, match="no time zone"):
        b("a", valid_from=datetime(2026, 11, 23, 5, 0))
    with pytest.raises(RequestError, match="'a': duration_s"):
        b("a", duration_s=float("nan"))
    with pytest.raises(RequestError, match="priority"):
        b("a", priority="urgent")


def test_duplicate_ids_rejected_on_typed_path() -> None:
    with pytest.raises(RequestError, match="more than once"):
        prepare_day("radio", DAY, [b("a"), b("a")])


def test_compile_day_checks_area_and_gap() -> None:
    day = prepare_day("radio", DAY, [b("a")])
    with pytest.raises(RequestError, match="area"):
        compile_day(day, "")
    with pytest.raises(RequestError, match="gap_s"):
        compile_day(day, AREA, gap_s=-1)
