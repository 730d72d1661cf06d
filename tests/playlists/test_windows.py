"""Window parsing, window_at and the agent's last-moment check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from playlists import RequestError, default_windows, last_moment_check, window_at

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
    with pytest.raises(RequestError, match="midnight"):
        window_at(t(5, 0), ["22:00-02:00"])
    with pytest.raises(RequestError, match="overlap"):
        window_at(t(5, 0), ["05:00-06:00", "05:30-07:00"])
