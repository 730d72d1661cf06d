"""Adapter to playlists/: compile one commune's day from bulletin snapshots.

The day is prepared once per (kind, date, windows) with every live bulletin of that kind; each commune is
then compiled from it. Communes with the same windows share one prepared day, so a province where a few
communes have their own hours (Art. 10.1) costs a few more `prepare_day`, not one per commune.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import playlists
from playlists import Bulletin as EngineBulletin
from playlists import Day, compile_day, prepare_day


def default_windows(kind: str) -> list[str]:
    return list(playlists.default_windows(kind))


def engine_bulletin(
    *,
    id: str,
    priority: str,
    origin: str,
    kinds: Sequence[str],
    targets: Sequence[str],
    duration_s: float,
    plays_per_day: int,
    valid_from: datetime | None,
    valid_until: datetime | None,
    approved_at: datetime | None,
    title: str | None = None,
) -> EngineBulletin:
    return EngineBulletin(
        id=id,
        priority=priority,
        origin=origin,
        kinds=frozenset(kinds),
        targets=tuple(targets),
        duration_s=duration_s,
        plays_per_day=plays_per_day,
        valid_from=valid_from,
        valid_until=valid_until,
        approved_at=approved_at,
        title=title,  # names it in the reasons of the bulletins it keeps out
    )


class DayCache:
    """Prepared days keyed by (kind, date, windows, tz, languages): one per distinct set of windows and of
    local languages with versions on air."""

    def __init__(self) -> None:
        self._days: dict[tuple[str, date, tuple[str, ...], str, tuple[str, ...]], Day] = {}
        self.prepared = 0  # how many prepare_day calls (the bench and a test read it)

    def get(
        self,
        kind: str,
        day: date,
        windows: tuple[str, ...],
        tz: str,
        bulletins: Sequence[EngineBulletin],
        *,
        relays: Sequence[playlists.Relay] = (),
        languages: tuple[str, ...] = (),
    ) -> Day:
        """`relays` are that day's (the same for every commune of the snapshot, so not in the key).
        `languages`: the local languages the bulletins' durations were computed for (a bulletin with
        language versions lasts longer where they are played)."""
        key = (kind, day, windows, tz, languages)
        hit = self._days.get(key)
        if hit is None:
            hit = self._days[key] = prepare_day(kind, day, bulletins, windows, tz, relays=relays)
            self.prepared += 1
        return hit


def compile_prepared(
    prepared: Day,
    *,
    area: str,
    selection: Sequence[str],
    order: Sequence[str],
    gap_s: float,
) -> dict[str, Any]:
    """The engine's result (ProgrammeResult.to_dict) plus "windows" (labels), for one commune of a
    prepared day. Bulletins for other communes (the prepared day holds the whole province's) are left out
    of `unscheduled`. Of the normal bulletins only `selection` airs (Art. 8.3: the chair's choice; nothing
    by default)."""
    res = compile_day(
        prepared, area, selection=tuple(selection), order=tuple(order), auto_normal=False, gap_s=gap_s
    )
    out: dict[str, Any] = res.to_dict()
    out["unscheduled"] = [u for u in out["unscheduled"] if u["reason"] != "not_targeted"]
    out["windows"] = list(res.windows)
    return out
