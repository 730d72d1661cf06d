"""Window parsing, window_at and the agent's last-moment check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from playlists import (
    RequestError,
    default_windows,
    last_moment_check,
    open_window,
    window_at,
    windows_per_day,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
RADIO = ["05:00-06:30", "17:00-18:30"]


def t(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, ss, tzinfo=HCM)


def test_default_windows() -> None:
    assert default_windows("radio") == ["05:00-06:30", "17:00-18:30"]
    assert default_windows("led") == ["05:00-07:00", "17:00-22:00"]
    with pytest.raises(RequestError, match="device_kind"):
        default_windows("tv")


def test_window_at_bounds() -> None:
    assert window_at(t(4, 59, 59), RADIO) is None
    assert window_at(t(5, 0), RADIO) == "05:00-06:30"
    assert window_at(t(6, 29, 59), RADIO) == "05:00-06:30"
    assert window_at(t(6, 30), RADIO) is None  # the end is not inside
    assert window_at(t(17, 45), RADIO) == "17:00-18:30"


def test_window_at_converts_other_zones() -> None:
    assert window_at(datetime(2026, 11, 22, 22, 30, tzinfo=UTC), RADIO) == "05:00-06:30"  # 05:30 +07
    assert window_at(t(5, 30), RADIO, tz="Europe/Paris") is None  # 23:30 in Paris


def test_window_at_rejects_naive_time() -> None:
    with pytest.raises(RequestError, match="time zone"):
        window_at(datetime(2026, 11, 23, 5, 30), RADIO)


def check(now: datetime, duration: float = 60, vf: datetime | None = None,
          vu: datetime | None = None) -> str | None:
    return last_moment_check(now=now, duration_s=duration, windows=RADIO, valid_from=vf, valid_until=vu)


def test_last_moment_ok() -> None:
    assert check(t(5, 0)) is None
    assert check(t(6, 29), 60) is None  # ends exactly at the window's end
    assert check(t(5, 0), 60, vf=t(5, 0), vu=t(5, 1)) is None  # exactly inside validity


def test_last_moment_reasons() -> None:
    assert check(t(7, 0)) == "window_closed"
    assert check(t(6, 29), 61) == "window_too_short"
    assert check(t(5, 0), vf=t(5, 0, 1)) == "not_yet_valid"
    assert check(t(5, 0), vu=t(5, 0, 59)) == "expired"
    assert check(t(5, 0), vu=t(4, 0)) == "expired"
    assert check(t(7, 0), vu=t(4, 0)) == "window_closed"  # closed windows are reported first


def test_last_moment_other_zone_and_float_duration() -> None:
    now = t(6, 0).astimezone(UTC)
    assert last_moment_check(now=now, duration_s=1799.5, windows=RADIO, valid_from=None,
                             valid_until=None) is None
    assert last_moment_check(now=now, duration_s=1800.5, windows=RADIO, valid_from=None,
                             valid_until=None) == "window_too_short"
    assert last_moment_check(now=now, duration_s=10, windows=RADIO, valid_from=None,
                             valid_until=now + timedelta(seconds=9)) == "expired"


def test_bad_windows_rejected() -> None:
    with pytest.raises(RequestError, match="overlap after midnight"):
        window_at(t(5, 0), ["22:00-02:00", "01:30-03:00"])
    with pytest.raises(RequestError, match="overlap"):
        window_at(t(5, 0), ["05:00-06:00", "05:30-07:00"])


# Windows crossing midnight (an LED occasion 22:00-01:00, a commune's evening 20:00-00:30).
NIGHT = ["05:00-06:30", "20:00-00:30"]


def test_window_crossing_midnight_is_open_on_both_sides() -> None:
    assert window_at(t(19, 59, 59), NIGHT) is None
    assert window_at(t(20, 0), NIGHT) == "20:00-00:30"
    assert window_at(t(23, 59, 59), NIGHT) == "20:00-00:30"
    # 00:10 on the next day: the window that started the evening before is still open.
    assert window_at(datetime(2026, 11, 24, 0, 10, tzinfo=HCM), NIGHT) == "20:00-00:30"
    assert window_at(datetime(2026, 11, 24, 0, 30, tzinfo=HCM), NIGHT) is None
    assert window_at(datetime(2026, 11, 24, 0, 10, tzinfo=UTC), NIGHT) is None  # 07:10 local
    assert windows_per_day("radio", NIGHT) == 2
    assert windows_per_day("radio") == 2 and windows_per_day("led", ["22:00-01:00"]) == 1


def test_open_window_gives_the_occurrence_that_holds_now() -> None:
    found = open_window(datetime(2026, 11, 24, 0, 10, tzinfo=HCM), NIGHT)
    assert found == ("20:00-00:30", t(20, 0), datetime(2026, 11, 24, 0, 30, tzinfo=HCM))
    assert open_window(t(12, 0), NIGHT) is None


def test_last_moment_check_across_midnight() -> None:
    def night(now: datetime, duration: float, vu: datetime | None = None) -> str | None:
        return last_moment_check(now=now, duration_s=duration, windows=NIGHT, valid_from=None, valid_until=vu)

    assert night(t(23, 50), 20 * 60) is None  # 23:50-00:10 runs over midnight inside the window
    assert night(t(23, 50), 40 * 60) is None  # ends exactly at 00:30 the next day
    assert night(t(23, 50), 40 * 60 + 1) == "window_too_short"
    assert night(datetime(2026, 11, 24, 0, 20, tzinfo=HCM), 600) is None  # ends exactly at 00:30
    assert night(datetime(2026, 11, 24, 0, 20, tzinfo=HCM), 601) == "window_too_short"
    assert night(t(23, 50), 600, vu=t(23, 55)) == "expired"


def test_crossing_midnight_on_a_dst_night() -> None:
    # Paris, 25 Oct 2026: 03:00 becomes 02:00 again. 22:00-03:00 lasts 6 real hours that night.
    paris = ZoneInfo("Europe/Paris")
    w = ["22:00-03:00"]
    late = datetime(2026, 10, 25, 2, 30, tzinfo=paris, fold=1)  # the second 02:30
    assert window_at(late, w, tz="Europe/Paris") == "22:00-03:00"
    assert last_moment_check(now=late, duration_s=1800, windows=w, tz="Europe/Paris",
                             valid_from=None, valid_until=None) is None
    assert last_moment_check(now=late, duration_s=1801, windows=w, tz="Europe/Paris",
                             valid_from=None, valid_until=None) == "window_too_short"
