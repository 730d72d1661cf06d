"""Small builders for compile requests in tests."""

from __future__ import annotations

from typing import Any

from playlists import compile_dict

DAY = "2026-11-23"
AREA = "67/660/24613"


def bul(bid: str, priority: str = "priority", **kw: Any) -> dict[str, Any]:
    """A bulletin that reaches AREA on radio, valid all day, unless told otherwise."""
    b: dict[str, Any] = {"id": bid, "priority": priority, "origin": "province", "kinds": ["radio"],
                         "targets": ["67"], "duration_s": 300}
    b.update(kw)
    return b


def req(*bulletins: dict[str, Any], **kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"date": DAY, "timezone": "Asia/Ho_Chi_Minh", "device_kind": "radio", "area": AREA,
                         "bulletins": list(bulletins)}
    r.update(kw)
    return r


def run(*bulletins: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return compile_dict(req(*bulletins, **kw))


def ids(result: dict[str, Any], window: str | None = None) -> list[str]:
    """Bulletin ids of the programme in time order (optionally of one window)."""
    return [p["bulletin_id"] for p in result["programme"] if window is None or p["window"] == window]


def reasons(result: dict[str, Any]) -> dict[str, str]:
    return {u["bulletin_id"]: u["reason"] for u in result["unscheduled"]}


def at(hhmmss: str) -> str:
    return f"{DAY}T{hhmmss}+07:00"
