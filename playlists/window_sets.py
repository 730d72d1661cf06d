"""Broadcast windows as a locality's data (Art. 10): which windows are in force for a commune, kind and day,
and the same windows as absolute spans for the programme an agent receives.

Pure: plain values in, plain values out. A window label is "HH:MM-HH:MM"; an end earlier than its start
means the window crosses midnight ("21:00-01:00" runs from 21:00 on its day to 01:00 the next day).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise

from playlists.windows import default_windows, load_tz

DAY_MIN = 24 * 60
_LABEL = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


def minutes(label: str) -> tuple[int, int]:
    """(start, end) in minutes after the window's own midnight; `end` > 1440 when it crosses midnight.

    ValueError when `label` is not "HH:MM-HH:MM" or the window is empty."""
    m = _LABEL.match(label) if isinstance(label, str) else None
    if m is None:
        raise ValueError(f"{label!r} is not a window HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == start:
        raise ValueError(f"{label!r} is empty: its end is its start")
    return start, end if end > start else end + DAY_MIN


def label(start: int, end: int) -> str:
    """The label of a window given in minutes (end may be past midnight)."""
    e = end % DAY_MIN
    return f"{start // 60:02d}:{start % 60:02d}-{e // 60:02d}:{e % 60:02d}"


def crosses_midnight(window: str) -> bool:
    """True when the window ends on the next day (or exactly at midnight, "22:00-00:00")."""
    return minutes(window)[1] >= DAY_MIN


def overlap(windows: Sequence[str]) -> tuple[str, str] | None:
    """Two windows of one daily set that overlap, counting a window that crosses midnight against the
    next day's early windows (the set repeats every day); None when they are all apart."""
    spans = sorted((*minutes(w), w) for w in windows)
    for (_s1, e1, w1), (s2, _e2, w2) in pairwise(spans):
        if s2 < e1:
            return w1, w2
    if spans:
        s_first, _, w_first = spans[0]
        _, e_last, w_last = spans[-1]
        if len(spans) > 1 and e_last > DAY_MIN + s_first:
            return w_last, w_first
    return None


def merge(*sets: Iterable[str]) -> tuple[str, ...]:
    """The union of several sets of one day's windows, sorted by start: overlapping or touching windows
    become one (the LED board's 17:00-22:00 and an occasion's 20:00-23:30 give 17:00-23:30)."""
    spans = sorted(minutes(w) for s in sets for w in s)
    out: list[list[int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    # a window running past midnight beyond the day's first window's start would overlap tomorrow's
    # copy of it: cap it there (the day's windows must stay apart when repeated)
    if len(out) > 1 and out[-1][1] > DAY_MIN + out[0][0]:
        out[-1][1] = DAY_MIN + out[0][0]
    if len(out) == 1 and out[0][1] - out[0][0] >= DAY_MIN:
        out[0][1] = out[0][0] + DAY_MIN - 1
    return tuple(label(s, e) for s, e in out)


@dataclass(frozen=True, slots=True)
class WindowRule:
    """Windows of one area and device kind from a date on (a district's or commune's own, or the
    province's defaults when set on the province)."""

    area: str
    kind: str
    effective_from: date
    windows: tuple[str, ...]
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Occasion:
    """Extra LED hours for an area on some days (Art. 10.2: Tết, an election day)."""

    area: str
    name: str
    date_from: date
    date_to: date
    windows: tuple[str, ...]
    id: int | None = None


@dataclass(frozen=True, slots=True)
class InForce:
    """The windows a commune has for a kind and day, and where they come from."""

    windows: tuple[str, ...]
    base: tuple[str, ...]  # before occasion windows
    rule: WindowRule | None  # None: the regulation's defaults (built in)
    occasions: tuple[Occasion, ...] = ()


def _ancestors(area: str) -> list[str]:
    parts = area.strip("/").split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class WindowTable:
    """All the rules and occasions, indexed once; `resolve` answers per commune, kind and day."""

    def __init__(self, rules: Iterable[WindowRule] = (), occasions: Iterable[Occasion] = ()) -> None:
        self._rules: dict[tuple[str, str], list[WindowRule]] = {}
        for r in rules:
            self._rules.setdefault((r.area, r.kind), []).append(r)
        for lst in self._rules.values():
            lst.sort(key=lambda r: r.effective_from, reverse=True)
        self._occasions: dict[str, list[Occasion]] = {}
        for o in occasions:
            self._occasions.setdefault(o.area, []).append(o)
        self._memo: dict[tuple[str, str, date], InForce] = {}

    def rule_for(self, area: str, kind: str, day: date) -> WindowRule | None:
        """The rule in force: the commune's own, else its district's, else the province's (the one with
        the latest date of effect on or before `day` at the deepest level that has one)."""
        for a in reversed(_ancestors(area)):
            for r in self._rules.get((a, kind), ()):
                if r.effective_from <= day:
                    return r
        return None

    def occasions_for(self, area: str, day: date) -> tuple[Occasion, ...]:
        return tuple(
            o
            for a in _ancestors(area)
            for o in self._occasions.get(a, ())
            if o.date_from <= day <= o.date_to
        )

    def resolve(self, area: str, kind: str, day: date) -> InForce:
        key = (area, kind, day)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        rule = self.rule_for(area, kind, day)
        base = rule.windows if rule is not None else tuple(default_windows(kind))
        occasions = self.occasions_for(area, day) if kind == "led" else ()
        windows = merge(base, *(o.windows for o in occasions)) if occasions else merge(base)
        out = self._memo[key] = InForce(windows, base, rule, occasions)
        return out


@dataclass(frozen=True, slots=True)
class Span:
    """One window of one day as real instants (what travels in the programme)."""

    label: str
    start: datetime
    end: datetime


def day_spans(day: date, windows: Iterable[str], tz: str) -> tuple[Span, ...]:
    """The windows of `day` as aware datetimes; one crossing midnight ends on the next day."""
    zone = load_tz(tz)
    out = []
    for w in windows:
        s, e = minutes(w)
        start = datetime.combine(day, time(s // 60, s % 60), zone)
        end_day = day + timedelta(days=1) if e >= DAY_MIN else day
        e %= DAY_MIN
        end = datetime.combine(end_day, time(e // 60, e % 60), zone)
        out.append(Span(w, start, end))
    return tuple(out)


def legacy_labels(windows: Iterable[str]) -> tuple[str, ...]:
    """The day's windows as an agent of the previous release can parse them (it refuses a window that
    crosses midnight): such a window is cut into its evening part up to 23:59 and its morning part from
    00:00, since that agent checks the window's wall-clock times on whatever day it is."""
    out: list[str] = []
    for w in windows:
        s, e = minutes(w)
        if e >= DAY_MIN:
            if s < DAY_MIN - 1:  # a window starting at 23:59 has no evening part an old agent can hold
                out.append(label(s, DAY_MIN - 1))
            if e - DAY_MIN > 0:
                out.append(label(0, e - DAY_MIN))
        else:
            out.append(w)
    spans = sorted(minutes(w) for w in out)
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return tuple(label(s, e) for s, e in merged)


def span_at(now: datetime, spans: Iterable[Span]) -> Span | None:
    """The span open at `now` (an aware datetime), or None."""
    for s in spans:
        if s.start <= now < s.end:
            return s
    return None


def last_moment_check_spans(
    *,
    now: datetime,
    duration_s: float,
    spans: Iterable[Span],
    valid_from: datetime | None,
    valid_until: datetime | None,
) -> str | None:
    """`last_moment_check` for windows given as spans: None if the item may start at `now`, else
    "window_closed", "not_yet_valid", "expired" or "window_too_short"."""
    found = span_at(now, spans)
    if found is None:
        return "window_closed"
    ends = now.astimezone(UTC) + timedelta(seconds=duration_s)
    if valid_from is not None and now < valid_from:
        return "not_yet_valid"
    if valid_until is not None and ends > valid_until:
        return "expired"
    if ends > found.end:
        return "window_too_short"
    return None
