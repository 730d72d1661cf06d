"""Windows as a locality's data (playlists.window_sets): resolution, merging, spans, the legacy shape."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from playlists.window_sets import (
    DAY_MIN,
    Occasion,
    WindowRule,
    WindowTable,
    day_spans,
    last_moment_check_spans,
    legacy_labels,
    merge,
    minutes,
    overlap,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
D = date(2026, 12, 31)


def test_resolution_commune_over_district_over_province_over_builtin() -> None:
    table = WindowTable(
        [
            WindowRule("67", "radio", D - timedelta(days=10), ("05:30-06:30",)),
            WindowRule("67", "radio", D + timedelta(days=1), ("05:45-06:30",)),
            WindowRule("67/660", "radio", D, ("06:00-07:00",)),
            WindowRule("67/660/24613", "radio", D + timedelta(days=2), ("19:00-20:00",)),
        ],
        [Occasion("67/660", "Giao thừa", D, D, ("21:00-01:00",))],
    )
    assert table.resolve("67/661/24658", "radio", D).windows == ("05:30-06:30",)
    assert table.resolve("67/661/24658", "radio", D + timedelta(days=1)).windows == ("05:45-06:30",)
    assert table.resolve("67/660/24613", "radio", D).windows == ("06:00-07:00",)
    assert table.resolve("67/660/24613", "radio", D + timedelta(days=2)).windows == ("19:00-20:00",)
    assert table.resolve("67/660/24613", "radio", D - timedelta(days=30)).rule is None  # built-in
    assert table.resolve("67/660/24613", "radio", D - timedelta(days=30)).windows == (
        "05:00-06:30",
        "17:00-18:30",
    )
    led = table.resolve("67/660/24613", "led", D)
    assert led.windows == ("05:00-07:00", "17:00-01:00") and led.base == ("05:00-07:00", "17:00-22:00")
    assert table.resolve("67/660/24613", "led", D + timedelta(days=1)).windows == (
        "05:00-07:00",
        "17:00-22:00",
    )
    assert table.resolve("67/661/24658", "led", D).occasions == ()


def test_merge_overlap_and_legacy_shape() -> None:
    assert merge(["17:00-22:00"], ["20:00-23:30", "12:00-13:00"]) == ("12:00-13:00", "17:00-23:30")
    assert merge(["05:00-06:00", "06:00-07:00"]) == ("05:00-07:00",)  # touching windows become one
    # a merged window may not run past midnight into the next day's first window
    assert merge(["05:00-07:00"], ["20:00-06:00"]) == ("05:00-07:00", "20:00-05:00")
    assert overlap(["05:00-06:30", "06:00-07:00"]) == ("05:00-06:30", "06:00-07:00")
    assert overlap(["22:00-05:30", "05:00-06:00"]) == ("22:00-05:30", "05:00-06:00")
    assert overlap(["22:00-05:00", "05:00-06:00"]) is None
    assert legacy_labels(["05:00-07:00", "21:00-01:00"]) == ("00:00-01:00", "05:00-07:00", "21:00-23:59")
    assert legacy_labels(["22:00-00:00"]) == ("22:00-23:59",)


def test_spans_cross_midnight_and_the_last_moment_check() -> None:
    spans = day_spans(D, ["05:00-07:00", "21:00-01:00"], "Asia/Ho_Chi_Minh")
    assert [(s.start.isoformat(), s.end.isoformat()) for s in spans] == [
        ("2026-12-31T05:00:00+07:00", "2026-12-31T07:00:00+07:00"),
        ("2026-12-31T21:00:00+07:00", "2027-01-01T01:00:00+07:00"),
    ]
    after_midnight = datetime(2027, 1, 1, 0, 50, tzinfo=TZ)
    check = last_moment_check_spans
    assert check(now=after_midnight, duration_s=300, spans=spans, valid_from=None, valid_until=None) is None
    assert check(now=after_midnight, duration_s=900, spans=spans, valid_from=None, valid_until=None) == (
        "window_too_short"
    )
    assert (
        check(
            now=after_midnight + timedelta(minutes=15),
            duration_s=1,
            spans=spans,
            valid_from=None,
            valid_until=None,
        )
        == "window_closed"
    )
    assert (
        check(
            now=after_midnight,
            duration_s=60,
            spans=spans,
            valid_from=None,
            valid_until=after_midnight + timedelta(seconds=30),
        )
        == "expired"
    )


labels = st.builds(
    lambda s, length: (
        f"{s // 60:02d}:{s % 60:02d}-{(s + length) % DAY_MIN // 60:02d}:{(s + length) % 60:02d}"
    ),
    st.integers(0, DAY_MIN - 1),
    st.integers(5, 18 * 60),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(labels, min_size=1, max_size=6), st.lists(labels, max_size=3))
def test_merge_is_apart_covers_every_minute_and_legacy_parses_the_old_way(
    base: list[str], extra: list[str]
) -> None:
    out = merge(base, extra)
    assert overlap(out) is None  # apart, also across midnight
    covered = {m % DAY_MIN for w in out for m in range(*minutes(w))}
    if len(covered) == DAY_MIN - 1:
        return  # the union was the whole day: cut to 23 h 59 min (a window is never the full day)
    for w in (*base, *extra):
        s, e = minutes(w)
        # every minute of an input is covered, unless it was capped so as not to reach tomorrow's first window
        first = min(minutes(x)[0] for x in out)
        assert all(m % DAY_MIN in covered for m in range(s, e) if m < DAY_MIN + first)
    for w in legacy_labels(out):
        s, e = minutes(w)
        assert s < e < DAY_MIN  # end after start on the same day: what old agents accept
