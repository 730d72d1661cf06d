"""The engine's typed values: bulletins in, plays and reasons out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from playlists.errors import RequestError
from playlists.windows import Window
from protocol.vocabulary import DEVICE_KINDS, ORIGINS, PRIORITIES

REASONS = ("not_targeted", "wrong_kind", "expired", "not_yet_valid", "not_selected", "window_full")
# Why a relay (tiếp sóng) is not on air for a commune on a day.
RELAY_REASONS = ("not_targeted", "outside_window", "relay_overlap")
MAX_RELAY_S = 3 * 3600  # longer than any legal window: a typo
# Why a radio bulletin on air gets fewer plays than its plays_per_day.
SHORT_REASONS = ("one_per_window", "validity", "window_full")


def _aware(value: datetime | None, name: str, bid: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise RequestError(f"bulletin {bid!r}: {name} {value.isoformat()} has no time zone offset")


@dataclass(frozen=True, slots=True)
class Bulletin:
    """What the engine needs to know of one approved bulletin."""

    id: str
    priority: str
    origin: str
    kinds: frozenset[str]
    targets: tuple[str, ...]
    duration_s: float
    plays_per_day: int = 1
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    approved_at: datetime | None = None
    title: str | None = None  # only to name it in reasons ("taken by «...»")

    def __post_init__(self) -> None:
        bid = self.id
        if not isinstance(bid, str) or not bid:
            raise RequestError(f"bulletin id: {bid!r} must be a non-empty string")
        if self.priority not in PRIORITIES:
            raise RequestError(
                f"bulletin {bid!r}: priority {self.priority!r} is unknown; use one of {PRIORITIES}")
        if self.origin not in ORIGINS:
            raise RequestError(f"bulletin {bid!r}: origin {self.origin!r} is unknown; use one of {ORIGINS}")
        if not self.kinds or not self.kinds <= set(DEVICE_KINDS):
            raise RequestError(f"bulletin {bid!r}: kinds {sorted(self.kinds)} must be a non-empty subset of "
                               f"{list(DEVICE_KINDS)}")
        if not self.targets or not all(isinstance(t, str) and t.strip("/") for t in self.targets):
            raise RequestError(f"bulletin {bid!r}: targets must list at least one area path, e.g. ['67']")
        d = self.duration_s
        if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d) or d <= 0:
            raise RequestError(f"bulletin {bid!r}: duration_s {d!r} must be a positive number of seconds")
        p = self.plays_per_day
        if isinstance(p, bool) or not isinstance(p, int) or p < 1:
            raise RequestError(f"bulletin {bid!r}: plays_per_day {p!r} must be a whole number, at least 1")
        if self.title is not None and not isinstance(self.title, str):
            raise RequestError(f"bulletin {bid!r}: title {self.title!r} must be text")
        for name in ("valid_from", "valid_until", "approved_at"):
            _aware(getattr(self, name), name, bid)
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise RequestError(f"bulletin {bid!r}: valid_until {self.valid_until.isoformat()} must be after "
                               f"valid_from {self.valid_from.isoformat()}")


@dataclass(frozen=True, slots=True)
class Relay:
    """A fixed-time entry (tiếp sóng): a stream relayed at `start` (the commune's wall clock) for
    `duration_s` on the day it is given for. The engine never moves it; it packs bulletins around it."""

    id: str
    start: time
    duration_s: float
    targets: tuple[str, ...]
    origin: str = "province"  # ranks two relays that collide: the higher level keeps its time
    title: str | None = None

    def __post_init__(self) -> None:
        rid = self.id
        if not isinstance(rid, str) or not rid:
            raise RequestError(f"relay id: {rid!r} must be a non-empty string")
        if not isinstance(self.start, time) or self.start.tzinfo is not None:
            raise RequestError(f"relay {rid!r}: start {self.start!r} must be a wall-clock time such as 06:00")
        d = self.duration_s
        if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d) \
                or not 0 < d <= MAX_RELAY_S:
            raise RequestError(
                f"relay {rid!r}: duration_s {d!r} must be a number of seconds, 1 to {MAX_RELAY_S}")
        if self.origin not in ORIGINS:
            raise RequestError(f"relay {rid!r}: origin {self.origin!r} is unknown; use one of {ORIGINS}")
        if not self.targets or not all(isinstance(t, str) and t.strip("/") for t in self.targets):
            raise RequestError(f"relay {rid!r}: targets must list at least one area path, e.g. ['67']")
        if self.title is not None and not isinstance(self.title, str):
            raise RequestError(f"relay {rid!r}: title {self.title!r} must be text")


@dataclass(frozen=True, slots=True)
class CompileRequest:
    """One commune's programme for one day and device kind (the typed JSON request; playlists.parse
    `request_from_dict` builds one from the JSON and says what to fix)."""

    date: date
    device_kind: str
    area: str
    bulletins: tuple[Bulletin, ...]
    windows: tuple[Window, ...] | None = None  # None: the kind's defaults
    timezone: str = "Asia/Ho_Chi_Minh"
    gap_s: float = 0
    auto_normal: bool = False
    selection: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    relays: tuple[Relay, ...] = ()


@dataclass(frozen=True, slots=True)
class Play:
    """One play of a bulletin in a window (for LED: its slot in the first cycle of the rotation)."""

    window: str
    bulletin_id: str
    play: int
    start: datetime
    end: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window, "bulletin_id": self.bulletin_id, "play": self.play,
                "start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True, slots=True)
class RelayPlay:
    """A relay on air: its fixed start and end inside window `window`."""

    window: str
    relay_id: str
    start: datetime
    end: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window, "relay_id": self.relay_id, "start": self.start.isoformat(),
                "end": self.end.isoformat()}


@dataclass(frozen=True, slots=True)
class Unscheduled:
    """A bulletin that is not on air today for this commune, and why (detail in Vietnamese)."""

    bulletin_id: str
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"bulletin_id": self.bulletin_id, "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A radio bulletin on air today with fewer plays than its plays_per_day, and why (in Vietnamese)."""

    bulletin_id: str
    planned: int
    wanted: int
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"bulletin_id": self.bulletin_id, "planned": self.planned, "wanted": self.wanted,
                "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ProgrammeResult:
    """A compiled day: plays sorted by start, emergencies in effect, and what is not on air."""

    programme: tuple[Play, ...]
    emergencies: tuple[str, ...]
    unscheduled: tuple[Unscheduled, ...]
    windows: tuple[str, ...] = field(default=())
    short: tuple[Shortfall, ...] = field(default=())  # on air, but fewer plays than wanted (radio)
    # False when the search for a better arrangement hit its budget (playlists/README.md, "Placement")
    exact: bool = True
    relays: tuple[RelayPlay, ...] = field(default=())  # fixed-time entries on air, by start
    # relays for this commune that are not on air, and why (bulletin_id holds the relay's id)
    relays_off: tuple[Unscheduled, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "programme": [p.to_dict() for p in self.programme],
            "emergencies": list(self.emergencies),
            "unscheduled": [u.to_dict() for u in self.unscheduled],
            "short": [s.to_dict() for s in self.short],
            "relays": [r.to_dict() for r in self.relays],
            "relays_off": [{"relay_id": u.bulletin_id, "reason": u.reason, "detail": u.detail}
                           for u in self.relays_off],
        }
