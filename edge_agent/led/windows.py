"""Which board window is open now: playlists.window_at when it exists, else the same rule here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Ho_Chi_Minh"


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


def _local_window_at(now: datetime, windows: list[str], tz: str = DEFAULT_TZ) -> str | None:
    """The window containing `now` (start inclusive, end exclusive; may cross midnight), or None."""
    local = now.astimezone(ZoneInfo(tz)).time()
    for window in windows:
        start, end = parse_window(window)
        inside = start <= local < end if start < end else (local >= start or local < end)
        if inside:
            return window
    return None


def _resolve() -> Callable[..., str | None]:
    try:  # playlists/ is the single source of the window rule once it provides it
        from playlists import window_at  # type: ignore[attr-defined]
    except ImportError:
        return _local_window_at
    return window_at  # type: ignore[no-any-return]


window_at = _resolve()


def window_span(now: datetime, window: str, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """Start and end (aware datetimes) of the occurrence of `window` that contains `now`."""
    start, end = parse_window(window)
    local = now.astimezone(ZoneInfo(tz))
    day = local.date()
    if start > end and local.time() < end:  # after midnight in a window that began yesterday
        day -= timedelta(days=1)
    begin = datetime.combine(day, start, tzinfo=local.tzinfo)
    finish = datetime.combine(day + timedelta(days=1 if start > end else 0), end, tzinfo=local.tzinfo)
    return begin, finish
