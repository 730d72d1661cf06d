"""Compile one commune's programme for a day: rank, check, and pack bulletins into windows.

`prepare_day` does the per-bulletin work that does not depend on the commune (kind, validity against
the windows, ranking keys, reason texts) once; `compile_day` then runs per commune. The hub compiles
1,000 communes from one prepared day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any

from playlists import texts
from playlists.errors import RequestError
from playlists.model import (
    Bulletin,
    CompileRequest,
    Play,
    ProgrammeResult,
    Relay,
    RelayPlay,
    Shortfall,
    Unscheduled,
)
from playlists.parse import request_from_dict
from playlists.placement import Item, Layout, place
from playlists.windows import DEFAULT_TZ, Window, default_windows, load_tz, parse_windows
from protocol.topics import covers
from protocol.vocabulary import ORIGINS, PRIORITIES

_INF = float("inf")
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class _WindowSpan:
    label: str
    start: float  # seconds since the local day's midnight
    end: float
    origin: datetime  # the window's start with a fixed UTC offset, to turn seconds into datetimes fast
    fixed: bool  # False when the UTC offset changes inside the window (DST)
    zone: tzinfo
    midnight: float  # POSIX time of the local day's midnight


@dataclass(frozen=True, slots=True)
class _Entry:
    """A bulletin as seen on the prepared day."""

    index: int
    id: str
    priority: str
    targets: frozenset[str]
    duration: float
    wanted: int  # plays wanted: plays_per_day on radio, one per window on LED
    usable: tuple[tuple[int, float, float], ...]  # (window index, earliest start, latest end)
    spans: dict[int, tuple[float, float]]  # the same by window index (read-only, shared by communes)
    free: frozenset[int]  # windows where its validity does not bind (it may play anywhere in them)
    name: str  # how reasons name it: «title», else its id
    not_targeted: Unscheduled
    blocked: Unscheduled | None  # wrong kind or validity: outranks not_selected
    no_room: Unscheduled  # what to say if it gets no play
    rank: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Fixed:
    """A relay as seen on the prepared day: a fixed interval inside one window (or outside them all)."""

    id: str
    targets: frozenset[str]
    window: int | None  # the window holding it whole; None: no window does
    start: float  # seconds since the local day's midnight
    end: float
    name: str  # how reasons name it: tiếp sóng «title» 06:00–06:15
    clock: tuple[str, str]  # its start and end as the commune's clock shows them
    rank: tuple[Any, ...]  # origin (the higher level first), start, id
    not_targeted: Unscheduled
    blocked: Unscheduled | None


@dataclass(frozen=True, slots=True)
class Day:
    """Bulletins prepared for one date, device kind, set of windows and time zone."""

    date: date
    kind: str
    windows: tuple[_WindowSpan, ...]
    entries: tuple[_Entry, ...]
    priority: tuple[_Entry, ...]  # base rank: origin, approved_at, id
    normal: tuple[_Entry, ...]  # by approved_at, id
    emergency: tuple[_Entry, ...]
    by_id: dict[str, _Entry]
    not_selected: dict[str, Unscheduled]
    relays: tuple[_Fixed, ...] = ()  # by rank

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(w.label for w in self.windows)


def _seconds(moment: datetime | None, midnight: datetime, default: float) -> float:
    # Through POSIX time: subtracting two datetimes of the same ZoneInfo would give wall-clock time,
    # which is wrong on the days the clocks change.
    return default if moment is None else moment.timestamp() - midnight.timestamp()


def _spans(day: date, windows: tuple[Window, ...], tz_name: str) -> tuple[datetime, tuple[_WindowSpan, ...]]:
    zone = load_tz(tz_name)
    midnight = datetime.combine(day, time(0), zone)
    spans = []
    prev_end = -_INF
    for w in windows:
        start, end = w.bounds(day, zone)
        offset = start.utcoffset()
        assert offset is not None  # combined with a ZoneInfo: always aware
        origin = start.astimezone(timezone(offset))
        s, e = _seconds(start, midnight, 0), _seconds(end, midnight, 0)
        fixed = end.utcoffset() == offset
        if s < prev_end:
            # A wall time in the hour skipped when clocks go forward lands an hour later in real time and
            # could overlap the next window (02:10-02:59 is 03:10-03:59): windows keep their order and
            # never overlap, so a later one starts where the earlier one ended (or is empty).
            s = prev_end
            e = max(e, s)
            origin, fixed = datetime.fromtimestamp(midnight.timestamp() + s, zone), False
        prev_end = e
        spans.append(_WindowSpan(w.label, s, e, origin, fixed, zone, midnight.timestamp()))
    return midnight, tuple(spans)


def _entry(i: int, b: Bulletin, kind: str, midnight: datetime, *, day_end: float,
           spans: tuple[_WindowSpan, ...], labels: tuple[str, ...]) -> _Entry:
    vf = _seconds(b.valid_from, midnight, -_INF)
    vu = _seconds(b.valid_until, midnight, _INF)
    zone = midnight.tzinfo
    # Reasons name moments as the commune reads its clock, whatever offset the hub stored them with.
    local_from = b.valid_from.astimezone(zone) if b.valid_from is not None else None
    local_until = b.valid_until.astimezone(zone) if b.valid_until is not None else None
    emergency = b.priority == "emergency"
    blocked: Unscheduled | None = None
    usable: list[tuple[int, float, float]] = []
    no_room = Unscheduled(b.id, "window_full", texts.window_full(labels))
    if kind not in b.kinds:
        blocked = Unscheduled(b.id, "wrong_kind", texts.wrong_kind(kind, b.kinds))
    elif emergency:
        # Emergencies ignore windows: they count when valid at any moment of the local day.
        if vu <= 0 and local_until is not None:
            blocked = Unscheduled(b.id, "expired", texts.expired(local_until, labels, True))
        elif vf >= day_end and local_from is not None:
            blocked = Unscheduled(b.id, "not_yet_valid", texts.not_yet_valid(local_from, labels, True))
    else:
        d = b.duration_s
        validity_ok = ignoring_end_ok = False
        for wi, w in enumerate(spans):
            lo, hi = max(w.start, vf), min(w.end, vu)
            if lo + d <= hi:
                usable.append((wi, lo, hi))
            # Validity is the obstacle only if it, not the window's own length, leaves too little time.
            need = min(d, w.end - w.start)
            validity_ok = validity_ok or hi - lo >= need
            ignoring_end_ok = ignoring_end_ok or w.end - lo >= need
        if not validity_ok:
            # Would it fit if it did not end when it does? Then its end is what keeps it off air.
            if ignoring_end_ok and local_until is not None:
                blocked = Unscheduled(b.id, "expired", texts.expired(local_until, labels, False))
            elif local_from is not None:
                blocked = Unscheduled(b.id, "not_yet_valid", texts.not_yet_valid(local_from, labels, False))
        elif not usable:
            no_room = Unscheduled(b.id, "window_full", texts.too_long(d, labels))
    free = frozenset(wi for wi, lo, hi in usable if lo <= spans[wi].start and hi >= spans[wi].end)
    approved = _seconds(b.approved_at, midnight, _INF)
    # Normal bulletins rank by approval alone; the others by origin first (central ... commune).
    origin = 0 if b.priority == "normal" else ORIGINS.index(b.origin)
    rank = (PRIORITIES.index(b.priority), origin, approved, b.id)
    return _Entry(
        index=i, id=b.id, priority=b.priority, targets=frozenset(b.targets), duration=b.duration_s,
        wanted=len(spans) if kind == "led" else b.plays_per_day, usable=tuple(usable), free=free,
        spans={wi: (lo, hi) for wi, lo, hi in usable},
        name=f"«{b.title}»" if b.title else b.id,
        not_targeted=Unscheduled(b.id, "not_targeted", texts.not_targeted(b.targets)),
        blocked=blocked, no_room=no_room, rank=rank,
    )


def _fixed(r: Relay, day: date, midnight: datetime, spans: tuple[_WindowSpan, ...],
           labels: tuple[str, ...]) -> _Fixed:
    zone = midnight.tzinfo
    begin = datetime.combine(day, r.start, zone)
    s = _seconds(begin, midnight, 0)
    e = s + r.duration_s
    clock = (f"{begin:%H:%M}", f"{datetime.fromtimestamp(begin.timestamp() + r.duration_s, zone):%H:%M}")
    window = next((wi for wi, w in enumerate(spans) if w.start <= s + _EPS and e <= w.end + _EPS), None)
    blocked = None
    if window is None:
        blocked = Unscheduled(r.id, "outside_window", texts.relay_outside(*clock, labels))
    return _Fixed(
        id=r.id, targets=frozenset(t.strip("/") for t in r.targets), window=window, start=s, end=e,
        name=texts.relay_name(r.title, r.id, *clock), clock=clock, rank=(ORIGINS.index(r.origin), s, r.id),
        not_targeted=Unscheduled(r.id, "not_targeted", texts.relay_not_targeted(r.targets)), blocked=blocked,
    )


def prepare_day(
    kind: str,
    day: date,
    bulletins: Iterable[Bulletin],
    windows: Sequence[str | Window] | None = None,
    tz: str = DEFAULT_TZ,
    *,
    relays: Iterable[Relay] = (),
) -> Day:
    """Do the commune-independent work once; pass the result to `compile_day` for each commune.

    `relays` are the fixed-time entries of that date (radio only: an LED board relays nothing, so they
    are ignored for `led`)."""
    parsed = parse_windows(default_windows(kind) if windows is None else windows)
    midnight, spans = _spans(day, parsed, tz)
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), midnight.tzinfo)
    day_end = _seconds(next_midnight, midnight, 0)
    labels = tuple(w.label for w in spans)
    entries = tuple(_entry(i, b, kind, midnight, day_end=day_end, spans=spans, labels=labels)
                    for i, b in enumerate(bulletins))
    by_id = {e.id: e for e in entries}
    if len(by_id) != len(entries):
        raise _duplicate(entries)
    by_rank = sorted(entries, key=lambda e: e.rank)
    fixed = () if kind != "radio" else tuple(
        sorted((_fixed(r, day, midnight, spans, labels) for r in relays), key=lambda f: f.rank))
    if len({f.id for f in fixed}) != len(fixed):
        raise RequestError("relays: ids must be unique")
    return Day(
        date=day, kind=kind, windows=spans, entries=entries,
        priority=tuple(e for e in by_rank if e.priority == "priority"),
        normal=tuple(e for e in by_rank if e.priority == "normal"),
        emergency=tuple(e for e in by_rank if e.priority == "emergency"),
        by_id=by_id,
        not_selected={e.id: Unscheduled(e.id, "not_selected", texts.NOT_SELECTED)
                      for e in entries if e.priority == "normal"},
        relays=fixed,
    )


def _duplicate(entries: tuple[_Entry, ...]) -> Exception:
    seen: set[str] = set()
    for e in entries:
        if e.id in seen:
            return RequestError(f"bulletins: the id {e.id!r} appears more than once; ids must be unique")
        seen.add(e.id)
    return RequestError("bulletins: ids must be unique")  # pragma: no cover


def _chosen(day: Day, base: tuple[_Entry, ...], first: Sequence[str], live: set[str], *,
            rest: bool) -> list[_Entry]:
    """Live entries of `base`'s priority named in `first` (in that order, once), then, if `rest`, the
    other live ones in base order. Unknown or ineligible ids in `first` are ignored."""
    if not base:
        return []
    kind = base[0].priority
    out: list[_Entry] = []
    taken: set[str] = set()
    for bid in first:
        e = day.by_id.get(bid)
        if e is not None and e.priority == kind and bid in live and bid not in taken:
            taken.add(bid)
            out.append(e)
    if rest:
        out.extend(e for e in base if e.id in live and e.id not in taken)
    return out


def _relays_for(day: Day, leaf: str, gap_s: float) -> tuple[list[_Fixed], list[Unscheduled]]:
    """The commune's relays that go on air (in rank order), and why the others do not: not for it,
    outside its windows, or colliding with one ranked above (gap_s apart at least)."""
    kept: list[_Fixed] = []
    off: list[Unscheduled] = []
    for f in day.relays:
        if not any(covers(t, leaf) for t in f.targets):
            off.append(f.not_targeted)
        elif f.blocked is not None:
            off.append(f.blocked)
        else:
            other = next((k for k in kept if f.start < k.end + gap_s and k.start < f.end + gap_s), None)
            if other is None:
                kept.append(f)
            else:
                off.append(Unscheduled(f.id, "relay_overlap", texts.relay_overlap(*f.clock, other.name)))
    return kept, off


def _place(day: Day, live: set[str], outcome: list[Unscheduled | None], *, selection: Sequence[str],
           order: Sequence[str], auto_normal: bool, gap_s: float,
           fixed: Sequence[_Fixed] = ()) -> tuple[list[Play], dict[str, int], bool, list[RelayPlay]]:
    """Place the commune's relays (fixed, first), then the live priority and chosen normal bulletins
    around them; record why the others are not on air."""
    # Which priority bulletins play is decided by rank alone; the chair's order only sequences them.
    ranked = [e for e in day.priority if e.id in live]
    normal = _chosen(day, day.normal, selection, live, rest=auto_normal)
    if not auto_normal:
        picked = {e.id for e in normal}
        for e in day.normal:
            if e.id in live and e.id not in picked:
                outcome[e.index] = day.not_selected[e.id]
    listed = {bid: i for i, bid in enumerate(dict.fromkeys(order))}
    # Relays first: a relay's only room is its fixed interval (validity = its own length), so it stays put.
    nf = len(fixed)
    items = [Item(k, f.end - f.start, 1, {f.window: (f.start, f.end)}, frozenset(), (-1, k))
             for k, f in enumerate(fixed) if f.window is not None]
    for key, e in enumerate(ranked, start=nf):
        # Inside a window: the chair's listed bulletins first in the chair's order, the others by rank.
        pos = listed.get(e.id)
        pref = (0, pos) if pos is not None else (1, key)
        items.append(Item(key, e.duration, e.wanted, e.spans, e.free, pref))
    # Normal bulletins, in the chair's order, each where it fits around those above (never moving them).
    items.extend(Item(key, e.duration, e.wanted, e.spans, e.free, (2, key), search=False)
                 for key, e in enumerate(normal, start=nf + len(ranked)))
    ranked.extend(normal)
    result = place([(w.start, w.end) for w in day.windows], items, gap_s)
    placed: list[tuple[float, int, int, float]] = []  # start, window, key, end
    for wi, plays in enumerate(result.layout):
        placed.extend((s, wi, it.key, end) for it, s, end in plays)
    placed.sort()
    got: dict[str, int] = {}
    programme = []
    relays = []
    for s, wi, key, end in placed:
        if key < nf:
            w = day.windows[wi]
            relays.append(RelayPlay(w.label, fixed[key].id, *_instants(w, s, end)))
            continue
        bid = ranked[key - nf].id
        n = got[bid] = got.get(bid, 0) + 1
        programme.append(_play(day.windows[wi], bid, n, s, end))
    names = [f.name for f in fixed] + [e.name for e in ranked]
    for key, e in enumerate(ranked, start=nf):
        if e.id not in got:
            outcome[e.index] = _no_room(e, key, names, nf=nf, layout=result.layout, labels=day.labels)
    return programme, got, result.exact, relays


def compile_day(
    day: Day,
    area: str,
    *,
    selection: Sequence[str] = (),
    order: Sequence[str] = (),
    auto_normal: bool = False,
    gap_s: float = 0,
) -> ProgrammeResult:
    """The programme of one commune (its area path) on a prepared day."""
    if not isinstance(area, str) or not area.strip("/"):
        raise RequestError(f"area: {area!r} must be the commune's area path, e.g. '67/660/24613'")
    if isinstance(gap_s, bool) or not isinstance(gap_s, int | float) or not 0 <= gap_s < 86400:
        raise RequestError(f"gap_s: {gap_s!r} must be a number of seconds, 0 or more")
    leaf = area.strip("/")
    outcome: list[Unscheduled | None] = [None] * len(day.entries)
    live: set[str] = set()
    for e in day.entries:
        if not any(covers(t, leaf) for t in e.targets):
            outcome[e.index] = e.not_targeted
        elif e.blocked is not None:
            outcome[e.index] = e.blocked
        else:
            live.add(e.id)
    emergencies = [e.id for e in day.emergency if e.id in live]
    fixed, relays_off = _relays_for(day, leaf, gap_s)
    programme, got, exact, relays = _place(day, live, outcome, selection=selection, order=order,
                                           auto_normal=auto_normal, gap_s=gap_s, fixed=fixed)
    return ProgrammeResult(
        relays=tuple(relays), relays_off=tuple(relays_off),
        programme=tuple(programme), emergencies=tuple(emergencies), exact=exact,
        unscheduled=tuple(u for u in outcome if u is not None), windows=day.labels,
        # radio only: an LED board shows every item in each window its validity allows (plays_per_day unused)
        short=tuple(
            _shortfall(e, got[e.id], day)
            for e in day.entries
            if day.kind == "radio" and 0 < got.get(e.id, 0) < e.wanted
        ),
    )


def _no_room(e: _Entry, me: int, names: list[str], *, nf: int, layout: list[Layout],
             labels: tuple[str, ...]) -> Unscheduled:
    """Why `e` (ranked `me`) got no play: too long for every window, or what holds the windows its
    validity allows: relays at fixed times (keys below `nf`) and the bulletins ranked above it."""
    if not e.usable:
        return e.no_room
    takers = sorted({it.key for wi, _, _ in e.usable for it, _, _ in layout[wi] if it.key < me})
    if not takers:  # pragma: no cover - only items above it can have kept it out
        return e.no_room
    above = [names[k] for k in takers if k >= nf]
    fixed = [names[k] for k in takers if k < nf]
    if fixed:
        return Unscheduled(e.id, "window_full", texts.window_full_fixed(labels, above, fixed))
    return Unscheduled(e.id, "window_full", texts.window_full_by(labels, above))


def _shortfall(e: _Entry, planned: int, day: Day) -> Shortfall:
    """Why `e` got `planned` < wanted plays: full windows, its validity, or one play per window (checked in
    that order, so the reason named is the one that cost the first missing play)."""
    valid = [day.windows[wi].label for wi, _, _ in e.usable]
    if planned < min(e.wanted, len(valid)):
        reason, detail = "window_full", texts.short_of_room(planned, e.wanted, day.labels)
    elif len(valid) < min(e.wanted, len(day.windows)):
        reason, detail = "validity", texts.short_validity(planned, e.wanted, valid)
    else:
        reason, detail = "one_per_window", texts.one_per_window(planned, e.wanted, day.labels)
    return Shortfall(e.id, planned, e.wanted, reason, detail)


def _instants(w: _WindowSpan, s: float, end: float) -> tuple[datetime, datetime]:
    if not w.fixed:  # the offset changes inside this window: name each instant with its own offset
        at = datetime.fromtimestamp
        return at(w.midnight + s, w.zone), at(w.midnight + end, w.zone)
    return w.origin + timedelta(seconds=s - w.start), w.origin + timedelta(seconds=end - w.start)


def _play(w: _WindowSpan, bid: str, n: int, s: float, end: float) -> Play:
    return Play(w.label, bid, n, *_instants(w, s, end))


def compile_for_area(  # noqa: PLR0917  (the hub calls it positionally)
    area: str,
    kind: str,
    date: date,
    bulletins: Iterable[Bulletin],
    windows: Sequence[str | Window] | None = None,
    selection: Sequence[str] = (),
    order: Sequence[str] = (),
    auto_normal: bool = False,
    gap_s: float = 0,
    tz: str = DEFAULT_TZ,
    relays: Sequence[Relay] = (),
) -> ProgrammeResult:
    """One commune's programme from already-parsed bulletins (prepare_day + compile_day).

    Called for commune after commune with the same Bulletin objects, it reuses the prepared day."""
    if relays:
        day = prepare_day(kind, date, bulletins, windows, tz, relays=relays)
    else:
        day = _prepared(kind, date, tuple(bulletins), windows, tz)
    return compile_day(day, area, selection=selection, order=order, auto_normal=auto_normal, gap_s=gap_s)


_CACHE_SIZE = 8
_cache: dict[tuple[Any, ...], tuple[tuple[Bulletin, ...], Day]] = {}


def _prepared(kind: str, day: date, bulletins: tuple[Bulletin, ...], windows: Sequence[str | Window] | None,
              tz: str) -> Day:
    # Keyed on the bulletins' identity, not their value: hashing 200 bulletins per commune would cost
    # more than preparing them. The cache holds the objects, so their ids cannot be reused meanwhile.
    key = (kind, day, None if windows is None else tuple(windows), tz, len(bulletins))
    try:
        hit = _cache.get(key)
    except TypeError:  # windows given as dicts: unhashable, so do not cache
        return prepare_day(kind, day, bulletins, windows, tz)
    if hit is not None and all(a is b for a, b in zip(hit[0], bulletins, strict=True)):
        return hit[1]
    prepared = prepare_day(kind, day, bulletins, windows, tz)
    while len(_cache) >= _CACHE_SIZE:
        del _cache[next(iter(_cache))]
    _cache[key] = (bulletins, prepared)
    return prepared


def compile_programme(req: CompileRequest) -> ProgrammeResult:
    """The typed form of compile_dict: CompileRequest in, ProgrammeResult out."""
    return compile_for_area(req.area, req.device_kind, req.date, req.bulletins, req.windows, req.selection,
                            req.order, req.auto_normal, req.gap_s, req.timezone, req.relays)


def compile_dict(request: dict[str, Any]) -> dict[str, Any]:
    """The JSON request (as a dict; playlists/README.md) in, its result (a dict) out; RequestError if bad."""
    return compile_programme(request_from_dict(request)).to_dict()
