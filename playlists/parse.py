"""The JSON request (playlists/README.md) -> CompileRequest, with a clear RequestError for every bad field."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from datetime import date, datetime, time, tzinfo
from typing import Any

from playlists.errors import RequestError
from playlists.model import Bulletin, CompileRequest, Relay
from playlists.windows import DEFAULT_TZ, load_tz, parse_windows
from protocol.vocabulary import DEVICE_KINDS

_REQUEST_KEYS = ("date", "timezone", "device_kind", "area", "windows", "gap_s", "auto_normal",
                 "bulletins", "selection", "order", "relays")
_RELAY_KEYS = ("id", "start", "duration_s", "targets", "origin", "title")
_BULLETIN_KEYS = ("id", "priority", "origin", "kinds", "targets", "duration_s", "plays_per_day",
                  "valid_from", "valid_until", "approved_at", "title")  # title: names it in reasons
_BULLETIN_REQUIRED = ("id", "priority", "origin", "kinds", "targets", "duration_s")


def _check_keys(data: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(known)}"
            raise RequestError(f"{where}: unknown field {key!r}{hint}")


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise RequestError(f"{where}: must be a list of strings")
    return tuple(value)


def _datetime(value: Any, where: str, tz: tzinfo) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError(
            f"{where}: {value!r} must be an ISO 8601 date-time, e.g. '2026-11-20T00:00:00+07:00'")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise RequestError(
            f"{where}: {value!r} is not an ISO 8601 date-time, e.g. '2026-11-20T00:00:00+07:00'"
        ) from None
    # A time without offset is read in the request's time zone, as a commune chair would read it.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def bulletin_from_dict(data: Any, tz: tzinfo, where: str = "bulletin") -> Bulletin:
    """One bulletin of the request; naive date-times are read in `tz`."""
    if not isinstance(data, dict):
        raise RequestError(
            f"{where}: must be an object with id, priority, origin, kinds, targets, duration_s")
    bid = data.get("id")
    if isinstance(bid, str) and bid:
        where = f"bulletin {bid!r}"
    _check_keys(data, _BULLETIN_KEYS, where)
    for key in _BULLETIN_REQUIRED:
        if key not in data:
            raise RequestError(f"{where}: the field {key!r} is missing")
    return Bulletin(
        id=data["id"],
        priority=data["priority"],
        origin=data["origin"],
        kinds=frozenset(_str_list(data["kinds"], f"{where}: kinds")),
        targets=tuple(t.strip("/") for t in _str_list(data["targets"], f"{where}: targets")),
        duration_s=data["duration_s"],
        plays_per_day=data.get("plays_per_day", 1),
        valid_from=_datetime(data.get("valid_from"), f"{where}: valid_from", tz),
        valid_until=_datetime(data.get("valid_until"), f"{where}: valid_until", tz),
        approved_at=_datetime(data.get("approved_at"), f"{where}: approved_at", tz),
        title=data.get("title"),
    )


def relay_from_dict(data: Any, where: str = "relay") -> Relay:
    """One relay (fixed-time entry) of the request: start is the commune's wall clock, "HH:MM[:SS]"."""
    if not isinstance(data, dict):
        raise RequestError(f"{where}: must be an object with id, start, duration_s, targets")
    rid = data.get("id")
    if isinstance(rid, str) and rid:
        where = f"relay {rid!r}"
    _check_keys(data, _RELAY_KEYS, where)
    for key in ("id", "start", "duration_s", "targets"):
        if key not in data:
            raise RequestError(f"{where}: the field {key!r} is missing")
    raw = data["start"]
    try:
        if not isinstance(raw, str) or len(raw) not in (5, 8):
            raise ValueError(raw)
        start = time.fromisoformat(raw)
    except ValueError:
        raise RequestError(f"{where}: start {raw!r} must be a time HH:MM, e.g. '06:00'") from None
    return Relay(id=data["id"], start=start, duration_s=data["duration_s"],
                 targets=tuple(t.strip("/") for t in _str_list(data["targets"], f"{where}: targets")),
                 origin=data.get("origin", "province"), title=data.get("title"))


def _relays(raw: Any) -> tuple[Relay, ...]:
    if not isinstance(raw, list):
        raise RequestError("relays: must be a list of relay objects")
    relays = tuple(relay_from_dict(r, f"relays[{i}]") for i, r in enumerate(raw))
    if len({r.id for r in relays}) != len(relays):
        raise RequestError("relays: ids must be unique")
    return relays


def request_from_dict(data: Any) -> CompileRequest:
    """Parse and check the whole JSON request (playlists/README.md); RequestError says what to fix."""
    if not isinstance(data, dict):
        raise RequestError("request: must be a JSON object with date, device_kind, area and bulletins")
    _check_keys(data, _REQUEST_KEYS, "request")
    for key in ("date", "device_kind", "area", "bulletins"):
        if key not in data:
            raise RequestError(f"request: the field {key!r} is missing")
    tz_name = data.get("timezone", DEFAULT_TZ)
    tz = load_tz(tz_name)
    raw_date = data["date"]
    try:
        if not isinstance(raw_date, str) or len(raw_date) != 10:
            raise ValueError(raw_date)
        day = date.fromisoformat(raw_date)
    except ValueError:
        raise RequestError(f"date: {raw_date!r} is not a date YYYY-MM-DD, e.g. '2026-11-23'") from None
    kind = data["device_kind"]
    if kind not in DEVICE_KINDS:
        raise RequestError(f"device_kind: {kind!r} is not a device kind; use 'radio' or 'led'")
    area = data["area"]
    if not isinstance(area, str) or not area.strip("/"):
        raise RequestError(f"area: {area!r} must be the commune's area path, e.g. '67/660/24613'")
    windows = None if data.get("windows") is None else parse_windows(data["windows"])
    gap = data.get("gap_s", 0)
    if isinstance(gap, bool) or not isinstance(gap, int | float) or not 0 <= gap < 86400:
        raise RequestError(f"gap_s: {gap!r} must be a number of seconds, 0 or more")
    auto = data.get("auto_normal", False)
    if not isinstance(auto, bool):
        raise RequestError(f"auto_normal: {auto!r} must be true or false")
    raw = data["bulletins"]
    if not isinstance(raw, list):
        raise RequestError("bulletins: must be a list of bulletin objects")
    bulletins = tuple(bulletin_from_dict(b, tz, f"bulletins[{i}]") for i, b in enumerate(raw))
    seen: set[str] = set()
    for b in bulletins:
        if b.id in seen:
            raise RequestError(f"bulletins: the id {b.id!r} appears more than once; ids must be unique")
        seen.add(b.id)
    return CompileRequest(
        relays=_relays(data.get("relays") or []),
        date=day, device_kind=kind, area=area.strip("/"), bulletins=bulletins, windows=windows,
        timezone=tz_name, gap_s=gap, auto_normal=auto,
        selection=_str_list(data.get("selection") or [], "selection"),
        order=_str_list(data.get("order") or [], "order"),
    )
