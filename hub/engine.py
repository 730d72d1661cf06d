"""Adapter to playlists/: compile one commune's day from bulletin snapshots (typed path, dict fallback)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import playlists

try:  # the typed path parses each bulletin once for all communes
    from playlists.engine import compile_for_area as _typed_compile
    from playlists.model import Bulletin as EngineBulletin
except ImportError:  # pragma: no cover - older playlists without the typed API
    _typed_compile = None
    EngineBulletin = None


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
) -> Any:
    if EngineBulletin is not None:
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
        )
    return {
        "id": id,
        "priority": priority,
        "origin": origin,
        "kinds": list(kinds),
        "targets": list(targets),
        "duration_s": duration_s,
        "plays_per_day": plays_per_day,
        "valid_from": valid_from.isoformat() if valid_from else None,
        "valid_until": valid_until.isoformat() if valid_until else None,
        "approved_at": approved_at.isoformat() if approved_at else None,
    }


def compile_day(
    *,
    area: str,
    kind: str,
    day: date,
    bulletins: Sequence[Any],
    selection: Sequence[str],
    order: Sequence[str],
    gap_s: float,
    tz: str,
) -> dict[str, Any]:
    """Issue 3's result dict plus "windows" (labels); of the normal bulletins only `selection` airs."""
    if _typed_compile is not None:
        res = _typed_compile(
            area, kind, day, bulletins, None, tuple(selection), tuple(order), False, gap_s, tz
        )
        out: dict[str, Any] = res.to_dict()
        out["windows"] = list(getattr(res, "windows", ()) or default_windows(kind))
        return out
    out = playlists.compile_dict(
        {  # pragma: no cover
            "date": day.isoformat(),
            "timezone": tz,
            "device_kind": kind,
            "area": area,
            "gap_s": gap_s,
            "auto_normal": False,
            "bulletins": list(bulletins),
            "selection": list(selection),
            "order": list(order),
        }
    )
    out["windows"] = default_windows(kind)
    return out
