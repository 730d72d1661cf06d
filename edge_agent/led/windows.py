"""Board windows: which is open (playlists.window_at, the one rule) and the span of the open one."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from playlists import window_at

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
__all__ = ["DEFAULT_TZ", "parse_window", "window_at", "window_span"]


def parse_window(window: str) -> tuple[time, time]:
    """'05:00-07:00' -> (05:00, 07:00); a clear error for anything else."""
    try:
        start_s, end_s = window.split("-")
        start, end = time.fromisoformat(start_s.strip()), time.fromisoformat(end_s.strip())
    except ValueError:
        raise ValueError(f"window {window!r} must look like 05:00-07:00 (HH:MM-HH:MM)") from None
    if start == end:
        raise ValueError(f"window {window!r} is empty: start and end are the same")
    return start, end


def window_span(now: datetime, window: str, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """Start and end (aware datetimes) of the occurrence of `window` that contains `now`."""
    start, end = parse_window(window)
    local = now.astimezone(ZoneInfo(tz))
    # playlists refuses windows crossing midnight, so both ends are on the local day of `now`
    return (
        datetime.combine(local.date(), start, tzinfo=local.tzinfo),
        datetime.combine(local.date(), end, tzinfo=local.tzinfo),
    )
