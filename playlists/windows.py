"""Broadcast windows: parsing, defaults per device kind, and the agent's last-moment check."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from playlists.errors import RequestError

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
DEVICE_KINDS = ("radio", "led")
# docs/RULES.md, "Art. 10": defaults set by local rules.
_DEFAULT_WINDOWS: dict[str, tuple[str, ...]] = {
    "radio": ("05:00-06:30", "17:00-18:30"),
    "led": ("05:00-07:00", "17:00-22:00"),
}
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """A daily broadcast window in local time. `end` before `start` means the window crosses midnight
    (22:00-01:00 ends at 01:00 the next day); it belongs to the day on which it starts."""

    start: time
    end: time

    @property
    def label(self) -> str:
        """The window as the programme names it, e.g. "05:00-06:30" or "22:00-01:00"."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def bounds(self, day: date, tz: tzinfo) -> tuple[datetime, datetime]:
        """The start and end of the window that starts on `day`, as aware datetimes."""
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        return datetime.combine(day, self.start, tz), datetime.combine(end_day, self.end, tz)

    def minutes(self) -> tuple[int, int]:
        """Start and end in minutes after the starting day's midnight (end > 1440 when it crosses)."""
        a, b = self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute
        return a, b + 1440 if b < a else b


def default_windows(kind: str) -> list[str]:
    """The regulation's default windows for a device kind ("radio" or "led")."""
    try:
        return list(_DEFAULT_WINDOWS[kind])
    except KeyError:
        raise RequestError(f"device_kind: {kind!r} is not a device kind; use 'radio' or 'led'") from None


def load_tz(name: str) -> ZoneInfo:
    """The IANA time zone `name`, or a RequestError saying it is unknown."""
    try:
        return _load_tz(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise RequestError(
            f"timezone: {name!r} is not a known IANA time zone (e.g. 'Asia/Ho_Chi_Minh')"
        ) from None


@lru_cache(maxsize=64)
def _load_tz(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _parse_hhmm(text: object, where: str) -> time:
    if not isinstance(text, str) or not _HHMM.match(text):
        raise RequestError(f"{where}: {text!r} is not a time of day HH:MM (00:00-23:59)")
    return time(int(text[:2]), int(text[3:]))


def parse_window(spec: object, where: str = "windows") -> Window:
    """One window from "05:00-06:30" or {"start": "05:00", "end": "06:30"}."""
    if isinstance(spec, Window):
        return spec
    if isinstance(spec, str):
        parts = spec.split("-")
        if len(parts) != 2:
            raise RequestError(
                f"{where}: {spec!r} is not a window; write it as 'HH:MM-HH:MM', e.g. '05:00-06:30'")
        start_s, end_s = parts[0].strip(), parts[1].strip()
    elif isinstance(spec, dict):
        if set(spec) != {"start", "end"}:
            raise RequestError(
                f"{where}: a window is {{'start': 'HH:MM', 'end': 'HH:MM'}}, got keys {sorted(spec)}")
        start_s, end_s = spec["start"], spec["end"]
    else:
        raise RequestError(f"{where}: {spec!r} is not a window; use 'HH:MM-HH:MM' or {{'start', 'end'}}")
    start, end = _parse_hhmm(start_s, f"{where}.start"), _parse_hhmm(end_s, f"{where}.end")
    if end == start:
        raise RequestError(
            f"{where}: window {start:%H:%M}-{end:%H:%M} is empty; its end must be after its start")
    return Window(start, end)  # end < start: it crosses midnight


def parse_windows(specs: Iterable[object], where: str = "windows") -> tuple[Window, ...]:
    """Several windows, sorted by start; rejects an empty list and overlapping windows."""
    if isinstance(specs, str | bytes | dict):
        raise RequestError(f"{where}: must be a list of windows, e.g. ['05:00-06:30', '17:00-18:30']")
    key = tuple(specs)
    if all(isinstance(s, str) for s in key):
        return _parse_window_strings(key, where)
    return _check_windows([parse_window(s, f"{where}[{i}]") for i, s in enumerate(key)], where)


@lru_cache(maxsize=256)
def _parse_window_strings(specs: tuple[str, ...], where: str) -> tuple[Window, ...]:
    # The agent calls window_at every few seconds with the same strings: parse them once.
    return _check_windows([parse_window(s, f"{where}[{i}]") for i, s in enumerate(specs)], where)


def _check_windows(windows: list[Window], where: str) -> tuple[Window, ...]:
    if not windows:
        raise RequestError(f"{where}: list at least one window, or leave the field out to use the defaults")
    windows.sort()
    for a, b in pairwise(windows):
        if b.minutes()[0] < a.minutes()[1]:
            raise RequestError(f"{where}: windows {a.label} and {b.label} overlap; make them separate")
    last, first = windows[-1], windows[0]
    if last.crosses_midnight and last.minutes()[1] - 1440 > first.minutes()[0]:
        # The part after midnight runs into the next day's first window.
        raise RequestError(f"{where}: windows {last.label} and {first.label} overlap after midnight; "
                           "make them separate")
    return tuple(windows)


def windows_per_day(kind: str, windows: Sequence[str | Window] | None = None) -> int:
    """How many windows a device kind has on a day (its own list, or the defaults): a radio bulletin
    cannot play more often than that, since it plays at most once per window."""
    return len(parse_windows(default_windows(kind) if windows is None else windows))


def _aware(now: datetime, name: str) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise RequestError(f"{name}: {now!r} has no time zone; pass an aware datetime")


def _open_window(now: datetime, windows: Sequence[str | Window],
                 tz: str) -> tuple[Window, datetime, datetime] | None:
    _aware(now, "now")
    zone = load_tz(tz)
    local = now.astimezone(zone)
    today = local.date()
    for w in parse_windows(windows):
        # A window crossing midnight may have started yesterday and still be open.
        days = (today - timedelta(days=1), today) if w.crosses_midnight else (today,)
        for day in days:
            start, end = w.bounds(day, zone)
            if start <= local < end:
                return w, start, end
    return None


def open_window(now: datetime, windows: Sequence[str | Window],
                tz: str = DEFAULT_TZ) -> tuple[str, datetime, datetime] | None:
    """The window open at `now` with its start and end (aware, local; a window crossing midnight may
    have started the day before), or None when no window is open."""
    found = _open_window(now, windows, tz)
    return (found[0].label, found[1], found[2]) if found else None


def window_at(now: datetime, windows: Sequence[str | Window], tz: str = DEFAULT_TZ) -> str | None:
    """The window ("05:00-06:30") open at `now`, or None when no window is open."""
    found = _open_window(now, windows, tz)
    return found[0].label if found else None


def last_moment_check(
    *,
    now: datetime,
    duration_s: float,
    windows: Sequence[str | Window],
    tz: str = DEFAULT_TZ,
    valid_from: datetime | None,
    valid_until: datetime | None,
) -> str | None:
    """None if an item may start at `now`; else "window_closed", "not_yet_valid", "expired" or
    "window_too_short"."""
    found = _open_window(now, windows, tz)
    if found is None:
        return "window_closed"
    # In UTC so that adding the duration is real elapsed time even across a DST change.
    ends = now.astimezone(UTC) + timedelta(seconds=duration_s)
    if valid_from is not None:
        _aware(valid_from, "valid_from")
        if now < valid_from:
            return "not_yet_valid"
    if valid_until is not None:
        _aware(valid_until, "valid_until")
        if ends > valid_until:
            return "expired"
    if ends > found[2]:
        return "window_too_short"
    return None
