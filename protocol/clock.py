"""Clocks that can be shifted, so a demo or a test can stand at any hour of the broadcast day."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    """Anything that tells the current time (timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ShiftedClock:
    """The machine's clock plus a fixed offset (seconds); `at_local()` builds one that reads HH:MM now."""

    def __init__(self, offset_s: float = 0.0) -> None:
        self.offset_s = offset_s

    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.offset_s, UTC)

    @classmethod
    def at_local(cls, hhmm: str, tz: tzinfo = LOCAL_TZ) -> ShiftedClock:
        """A clock whose local time is `hhmm` today at the moment of the call."""
        try:
            hour_s, minute_s = hhmm.split(":")
            hour, minute = int(hour_s), int(minute_s)
        except ValueError:
            raise ValueError(f"start time {hhmm!r} must be HH:MM, e.g. 05:00") from None
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError(f"start time {hhmm!r} is not a time of day (00:00-23:59)")
        real = datetime.now(tz)
        target = real.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return cls((target - real).total_seconds())


class FrozenClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        self._now = when


def to_iso(when: datetime) -> str:
    """ISO 8601 with offset, second precision unless there are microseconds."""
    if when.tzinfo is None:
        raise ValueError("refusing to serialise a naive datetime; attach a timezone")
    return when.isoformat()


def parse_time(text: str) -> datetime:
    """Parse ISO 8601 with an offset (a trailing Z is accepted); naive times are an error."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ValueError(f"{text!r} is not an ISO 8601 date-time such as 2026-11-23T05:00:00+07:00") from None
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write it like 2026-11-23T05:00:00+07:00")
    return when
