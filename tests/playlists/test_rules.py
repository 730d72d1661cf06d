"""Each broadcasting rule (docs/RULES.md), one at a time, through the JSON front (compile_dict)."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

from tests.playlists.helpers import at, bul, ids, reasons, run

MORNING, EVENING = "05:00-06:30", "17:00-18:30"


# --- ranking -------------------------------------------------------------------------------------------

def test_priority_before_normal_and_origin_order() -> None:
    r = run(
        bul("n1", "normal", origin="central"),
        bul("c", origin="commune"), bul("d", origin="district"), bul("p", origin="province"),
        bul("z", origin="central"),
        selection=["n1"],
    )
    assert ids(r) == ["z", "p", "d", "c", "n1"]


def test_same_origin_by_approved_at_then_id() -> None:
    r = run(
        bul("b", approved_at="2026-11-19T10:00:00+07:00"),
        bul("a", approved_at="2026-11-19T11:00:00+07:00"),
        bul("c", approved_at="2026-11-19T10:00:00+07:00"),
        bul("no_date"),  # without approved_at: after those that have one
    )
    assert ids(r) == ["b", "c", "a", "no_date"]


def test_chair_order_first_then_the_rest_by_origin() -> None:
    # Inside a window: the chair's listed bulletins first, in that order; unknown and repeated ids ignored.
    r = run(bul("prov", origin="province"), bul("com", origin="commune"), bul("dis", origin="district"),
            order=["com", "ghost", "com"])
    assert ids(r) == ["com", "prov", "dis"]


# --- Art. 8.2: rank decides whether, the chair's order decides when ------------------------------------

def test_chairs_order_never_leaves_out_a_bulletin_from_above() -> None:
    # Two 85-minute commune bulletins the chair put first, and a 10-minute province one: the province
    # bulletin plays; the lower commune bulletin is the one left out, and the reason names who took the room.
    r = run(bul("c1", origin="commune", duration_s=85 * 60, approved_at=at("01:00:00")),
            bul("c2", origin="commune", duration_s=85 * 60, approved_at=at("02:00:00"), title="Họp dân"),
            bul("prov", duration_s=10 * 60, title="Phòng chống bão số 9"),
            order=["c2", "c1"])
    assert sorted(ids(r)) == ["c1", "prov"]
    assert reasons(r) == {"c2": "window_full"}
    assert "«Phòng chống bão số 9»" in r["unscheduled"][0]["detail"]
    assert "c1" in r["unscheduled"][0]["detail"]
    # Without the chair's order the same bulletins play: the order never decides whether.
    assert sorted(ids(run(bul("c1", origin="commune", duration_s=85 * 60, approved_at=at("01:00:00")),
                          bul("c2", origin="commune", duration_s=85 * 60, approved_at=at("02:00:00")),
                          bul("prov", duration_s=10 * 60)))) == ["c1", "prov"]


def test_chairs_order_sequences_the_window_unlisted_ones_by_rank_after() -> None:
    r = run(bul("prov", origin="province"), bul("dis", origin="district"), bul("com", origin="commune"),
            bul("late", origin="central", approved_at=at("04:00:00")),  # approved after the chair's order
            order=["com", "dis"])
    assert ids(r, MORNING) == ["com", "dis", "late", "prov"]


def test_chairs_order_respects_validity() -> None:
    # The chair put "from_530" first, but it is valid only from 05:30: the others play until then.
    # "until_515" is last in the chair's order but must be over by 05:15, so it plays first.
    r = run(bul("from_530", duration_s=600, valid_from=at("05:30:00")),
            bul("a", duration_s=600), bul("b", duration_s=1200),
            bul("until_515", duration_s=600, valid_until=at("05:15:00")),
            order=["from_530", "a", "b", "until_515"])
    got = [(p["bulletin_id"], p["start"]) for p in r["programme"]]
    # At 05:20 "from_530" is not valid yet, so "b" (next in the chair's order) plays; it goes on after.
    assert got == [("until_515", at("05:00:00")), ("a", at("05:10:00")), ("b", at("05:20:00")),
                   ("from_530", at("05:40:00"))]


def test_placement_finds_room_for_a_bulletin_valid_only_in_the_morning() -> None:
    # For example: a 40-minute bulletin could take the morning window and leave out a 60-minute
    # one valid only until 07:00. Greedy placement did; an arrangement where both play exists.
    central = bul("forty", origin="central", duration_s=40 * 60)
    province = bul("until_7", duration_s=60 * 60, valid_until=at("07:00:00"))
    r = run(central, province)
    assert [(p["bulletin_id"], p["window"]) for p in r["programme"]] == [("until_7", MORNING),
                                                                          ("forty", EVENING)]
    # The same when the 40-minute bulletin is the commune's own and the chair ordered it first.
    r = run(dict(central, origin="commune"), province, order=["forty"])
    assert sorted((p["bulletin_id"], p["window"]) for p in r["programme"]) == [
        ("forty", EVENING), ("until_7", MORNING)]
    assert r["unscheduled"] == [] and r["short"] == []


def test_second_plays_of_a_higher_bulletin_come_before_a_lower_ones_first() -> None:
    # Ranked per bulletin: the province one gets both its plays before the commune one gets any.
    r = run(bul("prov", duration_s=80 * 60, plays_per_day=2),
            bul("com", origin="commune", duration_s=20 * 60))
    assert ids(r) == ["prov", "prov"]
    assert reasons(r) == {"com": "window_full"}


def test_order_ignores_normal_and_selection_ignores_priority() -> None:
    r = run(bul("p1"), bul("n1", "normal"), order=["n1"], selection=["p1"])
    assert ids(r) == ["p1"]
    assert reasons(r) == {"n1": "not_selected"}


def test_normal_only_when_selected_in_chair_order() -> None:
    r = run(bul("n1", "normal"), bul("n2", "normal"), bul("n3", "normal"), selection=["n3", "n1"])
    assert ids(r) == ["n3", "n1"]
    assert reasons(r) == {"n2": "not_selected"}
    detail = r["unscheduled"][0]["detail"]
    assert "Chủ tịch UBND xã" in detail


def test_auto_normal_takes_all_by_approved_at_after_selected() -> None:
    r = run(
        bul("n1", "normal", approved_at="2026-11-19T12:00:00+07:00"),
        bul("n2", "normal", approved_at="2026-11-19T08:00:00+07:00"),
        bul("n3", "normal", approved_at="2026-11-19T10:00:00+07:00"),
        auto_normal=True,
    )
    assert ids(r) == ["n2", "n3", "n1"]
    r = run(bul("n1", "normal", approved_at="2026-11-19T12:00:00+07:00"),
            bul("n2", "normal", approved_at="2026-11-19T08:00:00+07:00"), auto_normal=True, selection=["n1"])
    assert ids(r) == ["n1", "n2"]


# --- windows and fitting -------------------------------------------------------------------------------

def test_packed_back_to_back_with_gap() -> None:
    r = run(bul("a", duration_s=60), bul("b", origin="district", duration_s=90), gap_s=10)
    assert [(p["start"], p["end"]) for p in r["programme"]] == [
        (at("05:00:00"), at("05:01:00")), (at("05:01:10"), at("05:02:40"))]
    assert all(p["window"] == MORNING and p["play"] == 1 for p in r["programme"])


def test_plays_per_day_earliest_windows_once_per_window() -> None:
    r = run(bul("a", plays_per_day=3, duration_s=60))
    assert [(p["window"], p["play"]) for p in r["programme"]] == [(MORNING, 1), (EVENING, 2)]
    # the missing third play is explained to the chair and the editor
    assert r["short"] == [{
        "bulletin_id": "a", "planned": 2, "wanted": 3, "reason": "one_per_window",
        "detail": "Hôm nay phát 2/3 lần: mỗi khung giờ phát một lần, hôm nay có 2 khung giờ "
                  "(05:00-06:30, 17:00-18:30).",
    }]


def test_fewer_plays_than_wanted_says_whether_validity_or_room_cost_them() -> None:
    r = run(bul("morning_only", plays_per_day=2, duration_s=60, valid_until=at("12:00:00")),
            bul("all_day", plays_per_day=2, duration_s=60))
    short = [(s["bulletin_id"], s["planned"], s["reason"]) for s in r["short"]]
    assert short == [("morning_only", 1, "validity")]
    assert "chỉ đủ để phát trọn trong 1 khung giờ (05:00-06:30)" in r["short"][0]["detail"]

    # 2 min left in the evening: the commune's 4-minute bulletin gets the morning only
    r = run(bul("f1", duration_s=85 * 60), bul("f2", duration_s=88 * 60, valid_from=at("17:00:00")),
            bul("c", origin="commune", plays_per_day=2, duration_s=240))
    assert [(s["bulletin_id"], s["planned"], s["wanted"], s["reason"]) for s in r["short"]] == [
        ("c", 1, 2, "window_full")]
    assert "không còn chỗ trong các khung giờ phát hôm nay" in r["short"][0]["detail"]


def test_no_shortfall_on_led_boards_nor_for_bulletins_not_on_air() -> None:
    led = run(bul("a", kinds=["led"], plays_per_day=5, valid_until=at("12:00:00")), device_kind="led")
    assert led["programme"] and led["short"] == []
    r = run(bul("long", plays_per_day=2, duration_s=2 * 3600))
    assert reasons(r) == {"long": "window_full"} and r["short"] == []


def test_item_not_cut_goes_to_next_window() -> None:
    # 80 min fills the morning; a 20 min item does not fit the 10 min left and goes to the evening.
    r = run(bul("big", duration_s=80 * 60), bul("next", origin="district", duration_s=20 * 60))
    assert [(p["bulletin_id"], p["window"]) for p in r["programme"]] == [("big", MORNING), ("next", EVENING)]
    assert r["programme"][1]["start"] == at("17:00:00")


def test_window_full_and_does_not_block_a_smaller_lower_item() -> None:
    r = run(
        bul("fill1", duration_s=85 * 60), bul("fill2", duration_s=85 * 60),
        bul("big", origin="district", duration_s=10 * 60),
        bul("small", origin="commune", duration_s=4 * 60),
    )
    assert reasons(r) == {"big": "window_full"}
    assert "Không còn chỗ trong các khung giờ phát hôm nay (05:00-06:30, 17:00-18:30)" in r["unscheduled"][0][
        "detail"]
    assert ids(r, MORNING) == ["fill1", "small"]


def test_longer_than_every_window_is_window_full_with_its_length() -> None:
    r = run(bul("long", duration_s=2 * 3600))
    assert reasons(r) == {"long": "window_full"}
    assert "dài 120 phút" in r["unscheduled"][0]["detail"]


def test_custom_windows_as_strings_or_objects_sorted() -> None:
    r = run(bul("a", plays_per_day=2, duration_s=60),
            windows=[{"start": "19:00", "end": "19:30"}, "06:00-06:15"])
    assert [p["window"] for p in r["programme"]] == ["06:00-06:15", "19:00-19:30"]


# --- validity ------------------------------------------------------------------------------------------

def test_play_must_end_by_valid_until() -> None:
    r = run(bul("first", duration_s=600),
            bul("short", origin="district", duration_s=600, valid_until=at("05:15:00")))
    # Ranked below "first", but only its validity is short: it plays first, and "first" right after.
    assert [(p["bulletin_id"], p["start"]) for p in r["programme"]] == [
        ("short", at("05:00:00")), ("first", at("05:10:00"))]
    r = run(bul("first", duration_s=600, valid_until=at("05:10:00")),
            bul("short", origin="district", duration_s=600, valid_until=at("05:15:00")))
    # Both must end by 05:15 and there are 15 minutes: the higher-ranked plays, the other has no room.
    assert reasons(r) == {"short": "window_full"}
    assert "first" in r["unscheduled"][0]["detail"]
    r = run(bul("ok", duration_s=600, valid_until=at("05:10:00")))
    assert r["programme"][0]["end"] == at("05:10:00")


def test_valid_from_mid_window_plays_after_it_and_hole_is_filled() -> None:
    r = run(bul("late", duration_s=60, valid_from=at("05:30:00")),
            bul("filler", origin="commune", duration_s=60))
    got = {p["bulletin_id"]: p["start"] for p in r["programme"]}
    assert got == {"late": at("05:30:00"), "filler": at("05:00:00")}


def test_expired_and_not_yet_valid() -> None:
    r = run(
        bul("gone", valid_until="2026-11-22T23:00:00+07:00"),
        bul("ends_early", duration_s=600, valid_until=at("05:05:00")),
        bul("between", valid_from=at("07:00:00"), valid_until=at("16:00:00")),
        bul("tomorrow", valid_from="2026-11-24T00:00:00+07:00"),
        bul("too_late_today", duration_s=600, valid_from=at("18:25:00")),
        bul("evening_only", valid_from=at("12:00:00")),
    )
    assert reasons(r) == {"gone": "expired", "ends_early": "expired", "between": "expired",
                          "tomorrow": "not_yet_valid", "too_late_today": "not_yet_valid"}
    assert ids(r) == ["evening_only"]
    details = {u["bulletin_id"]: u["detail"] for u in r["unscheduled"]}
    assert "hết hiệu lực lúc 23:00 ngày 22/11/2026" in details["gone"]
    assert "hiệu lực từ 00:00 ngày 24/11/2026" in details["tomorrow"]


def test_naive_times_are_read_in_the_request_time_zone() -> None:
    r = run(bul("a", duration_s=60, valid_from="2026-11-23T17:30:00"))
    assert r["programme"][0]["start"] == at("17:30:00")


# --- targets, kinds, emergencies ------------------------------------------------------------------------

def test_targets_cover_descendants_only() -> None:
    r = run(bul("prov", targets=["67"]), bul("dist", targets=["67/660"]),
            bul("here", targets=["67/660/24613"]),
            bul("other", targets=["67/661"]), bul("neighbour", targets=["67/660/24611"]),
            bul("prefix", targets=["67/66"]), bul("many", targets=["68", "67/660/"]))
    assert reasons(r) == {"other": "not_targeted", "neighbour": "not_targeted", "prefix": "not_targeted"}
    assert set(ids(r)) == {"prov", "dist", "here", "many"}


def test_wrong_kind() -> None:
    r = run(bul("led_only", kinds=["led"]), bul("both", kinds=["radio", "led"]))
    assert reasons(r) == {"led_only": "wrong_kind"}
    assert "bảng tin điện tử" in r["unscheduled"][0]["detail"]


def test_emergencies_listed_not_placed() -> None:
    r = run(
        bul("e_now", "emergency", duration_s=99999),
        bul("e_old", "emergency", valid_until="2026-11-23T00:00:00+07:00"),
        bul("e_future", "emergency", valid_from="2026-11-24T00:00:00+07:00"),
        bul("e_tonight", "emergency", valid_from=at("23:00:00")),
        bul("e_led", "emergency", kinds=["led"]),
        bul("e_far", "emergency", targets=["68"]),
    )
    assert r["emergencies"] == ["e_now", "e_tonight"]
    assert r["programme"] == []
    assert reasons(r) == {"e_old": "expired", "e_future": "not_yet_valid", "e_led": "wrong_kind",
                          "e_far": "not_targeted"}


def test_reason_precedence() -> None:
    r = run(
        bul("nt_wk_exp", "normal", targets=["68"], kinds=["led"], valid_until="2026-11-01T00:00:00+07:00"),
        bul("wk_exp", "normal", kinds=["led"], valid_until="2026-11-01T00:00:00+07:00"),
        bul("exp_unsel", "normal", valid_until="2026-11-01T00:00:00+07:00"),
        bul("unsel_long", "normal", duration_s=99999),
    )
    assert reasons(r) == {"nt_wk_exp": "not_targeted", "wk_exp": "wrong_kind", "exp_unsel": "expired",
                          "unsel_long": "not_selected"}


def test_every_bulletin_accounted_once_in_input_order_of_unscheduled() -> None:
    bs = [bul(f"x{i}", targets=["68"]) for i in range(5)] + [bul("on"), bul("e", "emergency")]
    r = run(*bs)
    assert [u["bulletin_id"] for u in r["unscheduled"]] == [f"x{i}" for i in range(5)]
    assert ids(r) == ["on"] and r["emergencies"] == ["e"]


# --- LED -----------------------------------------------------------------------------------------------

def test_led_every_item_in_every_window_rotation() -> None:
    r = run(
        bul("p", kinds=["led"], duration_s=30, plays_per_day=1),
        bul("n", "normal", kinds=["led", "radio"], duration_s=20),
        bul("ev", kinds=["led"], duration_s=10, origin="commune", valid_from=at("12:00:00")),
        bul("radio", kinds=["radio"]),
        device_kind="led", selection=["n"],
    )
    assert [(p["window"], p["bulletin_id"], p["start"], p["end"]) for p in r["programme"]] == [
        ("05:00-07:00", "p", at("05:00:00"), at("05:00:30")),
        ("05:00-07:00", "n", at("05:00:30"), at("05:00:50")),
        ("17:00-22:00", "p", at("17:00:00"), at("17:00:30")),
        ("17:00-22:00", "ev", at("17:00:30"), at("17:00:40")),
        ("17:00-22:00", "n", at("17:00:40"), at("17:01:00")),
    ]
    assert reasons(r) == {"radio": "wrong_kind"}


def test_led_rotation_longer_than_window() -> None:
    r = run(bul("a", kinds=["led"], duration_s=6 * 3600), bul("b", kinds=["led"], duration_s=60),
            device_kind="led")
    assert reasons(r) == {"a": "window_full"}
    assert ids(r) == ["b", "b"]
    # Two 70-minute items: one cycle would overrun the 2-hour morning, so the second shows in the evening.
    r = run(bul("x", kinds=["led"], duration_s=70 * 60), bul("y", kinds=["led"], duration_s=70 * 60),
            device_kind="led")
    assert [(p["window"], p["bulletin_id"]) for p in r["programme"]] == [
        ("05:00-07:00", "x"), ("17:00-22:00", "x"), ("17:00-22:00", "y")]
    assert r["unscheduled"] == []


def test_deterministic() -> None:
    bs = [bul(f"b{i}", origin=("central", "commune")[i % 2], duration_s=100 + i) for i in range(30)]
    assert run(*bs) == run(*bs)


# --- clocks going forward --------------------------------------------------------------------------------

def test_windows_in_the_skipped_hour_keep_their_order_and_never_overlap() -> None:
    """Paris, 29 March 2026: 02:00-03:00 does not exist. 02:10-02:59 is 03:10-03:59 in real time, which
    would overlap 03:00-03:30 and come after it; the later window starts where the earlier one ends."""
    day = {"date": "2026-03-29", "timezone": "Europe/Paris"}
    r = run(bul("a", plays_per_day=2, duration_s=60), windows=["02:10-02:59", "03:00-03:30"], **day)
    # the first window holds the first play; the second is empty (it would lie inside the first)
    assert [(p["window"], p["play"]) for p in r["programme"]] == [("02:10-02:59", 1)]
    starts = [datetime.fromisoformat(p["start"]) for p in r["programme"]]
    assert starts == sorted(starts)
    # two windows of one minute each, the first in the skipped hour: plays in time order, numbered so
    r = run(bul("b", plays_per_day=2, duration_s=1), windows=["02:01-02:02", "03:00-03:01"], **day)
    plays = sorted(r["programme"], key=lambda p: datetime.fromisoformat(p["start"]))
    assert [p["play"] for p in plays] == list(range(1, len(plays) + 1))
    for a, b in pairwise(plays):
        assert datetime.fromisoformat(a["end"]) <= datetime.fromisoformat(b["start"])


def test_reasons_name_times_on_the_communes_clock() -> None:
    # The hub stores moments in UTC: 00:00 UTC is 07:00 in Viet Nam, and the chair must read 07:00.
    r = run(bul("short", valid_from="2026-11-22T23:28:00+00:00", valid_until="2026-11-23T00:00:00+00:00"),
            bul("later", valid_from="2026-11-23T12:00:00+00:00"),
            bul("urgent", "emergency", valid_until="2026-11-22T12:00:00+00:00"))
    details = {u["bulletin_id"]: u["detail"] for u in r["unscheduled"]}
    assert "hết hiệu lực lúc 07:00 ngày 23/11/2026" in details["short"]
    assert "hiệu lực từ 19:00 ngày 23/11/2026" in details["later"]
    assert "hết hiệu lực lúc 19:00 ngày 22/11/2026" in details["urgent"]
    assert "00:00" not in details["short"]


def test_window_crossing_midnight_plays_past_midnight() -> None:
    # An LED occasion 22:00-01:00 (Art. 10.2): the day's programme holds the plays after midnight too.
    r = run(bul("a", kinds=["led"], duration_s=2 * 3600), bul("b", kinds=["led"], duration_s=3600),
            device_kind="led", windows=["17:00-22:00", "22:00-01:00"])
    night = [(p["bulletin_id"], p["start"], p["end"]) for p in r["programme"] if p["window"] == "22:00-01:00"]
    assert night == [("a", at("22:00:00"), "2026-11-24T00:00:00+07:00"),
                     ("b", "2026-11-24T00:00:00+07:00", "2026-11-24T01:00:00+07:00")]
    # Radio in a commune's 20:00-00:30: validity until 00:15 the next day is counted past midnight.
    r = run(bul("long", duration_s=4 * 3600 + 15 * 60, approved_at="2026-11-20T08:00:00+07:00"),
            bul("late", duration_s=20 * 60, valid_until="2026-11-24T00:15:00+07:00"),
            windows=["20:00-00:30"])
    assert [(p["bulletin_id"], p["start"]) for p in r["programme"]] == [("long", at("20:00:00"))]
    assert reasons(r) == {"late": "window_full"}
    r = run(bul("late", duration_s=20 * 60, valid_from=at("23:50:00"),
                valid_until="2026-11-24T00:15:00+07:00"), windows=["20:00-00:30"])
    assert [(p["start"], p["end"]) for p in r["programme"]] == [(at("23:50:00"), "2026-11-24T00:10:00+07:00")]
    r = run(bul("gone", duration_s=20 * 60, valid_from=at("23:50:00"),
                valid_until="2026-11-24T00:05:00+07:00"), windows=["20:00-00:30"])
    assert reasons(r) == {"gone": "expired"}


def test_window_crossing_midnight_on_a_dst_night() -> None:
    # Paris, 25 Oct 2026: the clock goes back at 03:00, so 22:00-03:00 lasts six real hours.
    r = run(bul("a", duration_s=5.5 * 3600), bul("b", duration_s=1800), date="2026-10-24",
            timezone="Europe/Paris", windows=["22:00-03:00"])
    assert [(p["bulletin_id"], p["start"], p["end"]) for p in r["programme"]] == [
        ("a", "2026-10-24T22:00:00+02:00", "2026-10-25T02:30:00+01:00"),
        ("b", "2026-10-25T02:30:00+01:00", "2026-10-25T03:00:00+01:00"),
    ]
