"""Placement: which windows each ranked item plays in (optimal by rank), then when, in the chair's order.

The objective (see README.md, "Placement"): lexicographic by rank. The first item gets as many plays as
any arrangement can give it (up to what it wants), then the second as many as any arrangement can give
it while the first keeps its count, and so on. Items are placed one by one in rank order: first where
they fit around what is already placed; when that gives an item fewer plays than it wants, a search
re-assigns the windows of the items above it (keeping their counts) to find room.

Inside one window, an item plays once, whole, within [lo, hi] (its validity clipped to the window), and
neighbours are `gap` seconds apart. Whether a set of items fits one window is a small single-machine
scheduling problem with release times and deadlines, solved exactly (EDF when nothing is waiting for its
validity to start, else a depth-first search over active schedules with memoisation).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Literal

_EPS = 1e-9
_INF = float("inf")
# Nodes the re-assignment search may visit for one item, and the exact check of single windows for one
# commune, before they give up (README.md, "Placement": the guarantee).
SEARCH_BUDGET = 4000
WINDOW_BUDGET = 20000
FIXED_BUDGET = 200  # the exact check of one window holding relays (fixed items), when first fit fails
_HALL_MAX_WINDOWS = 8


@dataclass(slots=True)
class Item:
    """One ranked bulletin to place. `usable` maps a window index to the (earliest start, latest end)
    its validity allows there; `free` holds the windows where validity does not bind at all."""

    key: int  # position in the ranked list: lower is higher-ranked
    duration: float
    wanted: int
    usable: dict[int, tuple[float, float]]
    free: frozenset[int]
    pref: tuple[int, int] = (0, 0)  # the chair's order inside a window (lower plays first)
    # False: placed where it fits around the items above it, which are not moved for it (normal bulletins)
    search: bool = True


@dataclass(slots=True)
class _Win:
    start: float
    end: float
    members: list[Item] = field(default_factory=list)
    load: float = 0.0  # sum of duration + gap of the members
    constrained: int = 0  # members whose validity binds in this window
    holes: list[list[float]] = field(default_factory=list)  # free intervals of the current layout
    layout: list[tuple[Item, float]] = field(default_factory=list)  # a feasible layout of the members


Layout = list[tuple[Item, float, float]]  # a window's plays: item, start, end


class _Cut(Exception):
    pass


@dataclass(slots=True)
class Placement:
    """The windows each item plays in (by key), the layout of each window, and whether the search
    stayed within its budget (False: best found, see README)."""

    windows: dict[int, list[int]]
    layout: list[list[tuple[Item, float, float]]]
    exact: bool


# --- one window ------------------------------------------------------------------------------------


def _single(t0: float, jobs: Sequence[tuple[Item, float, float]], gap: float,
            budget: list[int]) -> list[tuple[Item, float]] | None:
    """An order and start times for `jobs` (item, lo, hi) from `t0` on, each whole inside [lo, hi] and
    `gap` apart, or None if none exists. Raises _Cut when `budget[0]` nodes are used up."""
    if not jobs:
        return []
    memo: dict[frozenset[int], float] = {}
    return _dfs(t0, list(range(len(jobs))), jobs, gap, memo=memo, budget=budget)


def _in_sequence(t: float, rest: list[int], jobs: Sequence[tuple[Item, float, float]], gap: float,
                 key: Callable[[int], tuple[float, ...]]) -> list[tuple[Item, float]] | None:
    out = []
    for j in sorted(rest, key=key):
        it, lo, hi = jobs[j]
        s = t if t >= lo else lo
        e = s + it.duration
        if e > hi + _EPS:
            return None
        out.append((it, s))
        t = e + gap
    return out


def _preemptive_ok(t: float, rest: list[int], jobs: Sequence[tuple[Item, float, float]], gap: float) -> bool:
    """The relaxation where a play may be interrupted (earliest deadline first, preemptive): if even that
    misses an end of validity, no order can make it."""
    arrivals = sorted((max(t, jobs[j][1]), jobs[j][2] + gap, jobs[j][0].duration + gap) for j in rest)
    heap: list[tuple[float, float]] = []
    now, i = t, 0
    while i < len(arrivals) or heap:
        if not heap and now < arrivals[i][0]:
            now = arrivals[i][0]
        while i < len(arrivals) and arrivals[i][0] <= now:
            heapq.heappush(heap, (arrivals[i][1], arrivals[i][2]))
            i += 1
        dl, left = heapq.heappop(heap)
        until = arrivals[i][0] if i < len(arrivals) else _INF
        run = min(left, until - now)
        now += run
        if left - run > _EPS:
            heapq.heappush(heap, (dl, left - run))
        elif now > dl + _EPS:
            return False
    return True


def _easy(t: float, rest: list[int], jobs: Sequence[tuple[Item, float, float]],
          gap: float) -> tuple[bool, list[tuple[Item, float]] | None]:
    """(True, answer) when a simple order is exact for `rest`, else (False, None)."""
    if all(jobs[j][1] <= t for j in rest):
        # All may start now: earliest end of validity first is exact (Jackson's rule).
        return True, _in_sequence(t, rest, jobs, gap, lambda j: (jobs[j][2], jobs[j][1], jobs[j][0].key))
    last = max(jobs[j][2] for j in rest)
    if all(jobs[j][2] >= last - _EPS for j in rest):
        # One common end: earliest start of validity first is exact.
        return True, _in_sequence(t, rest, jobs, gap, lambda j: (jobs[j][1], jobs[j][0].key))
    return False, None


def _dfs(t: float, rest: list[int], jobs: Sequence[tuple[Item, float, float]], gap: float, *,
         memo: dict[frozenset[int], float], budget: list[int]) -> list[tuple[Item, float]] | None:
    if not rest:
        return []
    easy, answer = _easy(t, rest, jobs, gap)
    if easy:
        return answer
    budget[0] -= 1
    if budget[0] < 0:
        raise _Cut
    finish = _INF
    for j in rest:
        it, lo, hi = jobs[j]
        e = (t if t >= lo else lo) + it.duration
        if e > hi + _EPS:
            return None  # this one can no longer make it
        finish = min(finish, e)
    key = frozenset(rest)
    if memo.get(key, _INF) <= t or not _preemptive_ok(t, rest, jobs, gap):
        return None
    # Active schedules only: a job is not started next if another could run whole before it starts.
    cands = [j for j in rest if max(t, jobs[j][1]) < finish + gap]
    cands.sort(key=lambda j: (jobs[j][2], jobs[j][1], jobs[j][0].key))
    for j in cands:
        it, lo, _ = jobs[j]
        s = t if t >= lo else lo
        tail = _dfs(s + it.duration + gap, [k for k in rest if k != j], jobs, gap, memo=memo, budget=budget)
        if tail is not None:
            return [(it, s), *tail]
    memo[key] = min(memo.get(key, _INF), t)
    return None


def _jobs(wi: int, items: Sequence[Item]) -> list[tuple[Item, float, float]]:
    return [(it, *it.usable[wi]) for it in items]


# --- the windows of every item -----------------------------------------------------------------------


class _Placer:
    def __init__(self, spans: Sequence[tuple[float, float]], gap: float) -> None:
        self.gap = gap
        self.wins = [_Win(s, e, holes=[[s, e]] if e > s else []) for s, e in spans]
        self.exact = True
        self.placed: list[tuple[Item, list[int]]] = []
        self.failed: dict[frozenset[int], list[tuple[int, float]]] = {}
        self.fit_cache: dict[tuple[int, frozenset[int]], bool] = {}
        self.budget = [WINDOW_BUDGET]

    def single(self, t0: float, jobs: Sequence[tuple[Item, float, float]]) -> list[tuple[Item, float]] | None:
        return _single(t0, jobs, self.gap, self.budget)

    def around(self, wi: int, items: Sequence[Item]) -> list[tuple[Item, float]] | Literal[False] | None:
        """Items around fixed ones (relays: validity exactly their own length): a layout (each item, by end
        of validity then longest first, at the first place in the gaps between the fixed items where it fits
        whole inside its validity), False when they cannot fit (fixed ones collide, an item fits in no gap,
        the gaps are too short in total), None when there is no fixed item or the first fit cannot tell
        (the exact search decides, on a small budget: `fixed_single`)."""
        w, gap = self.wins[wi], self.gap
        fixed: list[tuple[float, float, Item]] = []
        others: list[tuple[float, float, Item]] = []
        for it in items:
            lo, hi = it.usable[wi]
            (fixed if hi - lo <= it.duration + _EPS else others).append((lo, hi, it))
        if not fixed:
            return None
        fixed.sort(key=lambda f: f[0])
        holes: list[list[float]] = []
        t = w.start
        for lo, hi, _ in fixed:
            if lo < t - _EPS:
                return False
            holes.append([t, lo - gap])  # a play here ends `gap` before the fixed one
            t = hi + gap
        holes.append([t, w.end])
        room = sum(b - a + gap for a, b in holes if b > a)  # each play takes its length + gap
        if sum(it.duration + gap for _, _, it in others) > room + _EPS:
            return False
        for lo, hi, it in others:
            if not any(max(a, lo) + it.duration <= min(b, hi) + _EPS for a, b in holes):
                return False
        out = [(it, lo) for lo, _, it in fixed]
        for lo, hi, it in sorted(others, key=lambda o: (o[1], -o[2].duration, o[2].key)):
            for hole in holes:
                start = max(hole[0], lo)
                if start + it.duration <= min(hole[1], hi) + _EPS:
                    out.append((it, start))
                    hole[0] = start + it.duration + gap
                    break
            else:
                return None
        return out

    def fixed_single(self, wi: int, items: Sequence[Item]) -> list[tuple[Item, float]] | None:
        """The exact check of a window holding fixed items, on FIXED_BUDGET nodes: running out counts as
        no room (and makes the result inexact), so relays never make a commune's compile slow."""
        quick = self.around(wi, items)
        if quick is not None:
            return quick or None
        try:
            return _single(self.wins[wi].start, _jobs(wi, items), self.gap, [FIXED_BUDGET])
        except _Cut:
            self.exact = False
            return None

    # A window's feasibility for a set of items, cached for the search.
    def fits(self, wi: int, items: Sequence[Item]) -> bool:
        w = self.wins[wi]
        load = sum(it.duration for it in items) + self.gap * (len(items) - 1)
        if load > w.end - w.start + _EPS:
            return False
        if all(wi in it.free for it in items):
            return True
        key = (wi, frozenset(it.key for it in items))
        hit = self.fit_cache.get(key)
        if hit is None:
            if self._has_fixed(wi, items):
                hit = self.fixed_single(wi, items) is not None
            else:
                hit = self.single(w.start, _jobs(wi, items)) is not None
            self.fit_cache[key] = hit
        return hit

    @staticmethod
    def _has_fixed(wi: int, items: Sequence[Item]) -> bool:
        return any(it.usable[wi][1] - it.usable[wi][0] <= it.duration + _EPS for it in items)

    def _relayout(self, wi: int, schedule: list[tuple[Item, float]]) -> None:
        w, gap = self.wins[wi], self.gap
        w.layout = list(schedule)
        holes, t = [], w.start
        for it, s in sorted(schedule, key=lambda p: p[1]):
            if s - gap > t:
                holes.append([t, s - gap])
            t = s + it.duration + gap
        if w.end > t:
            holes.append([t, w.end])
        w.holes = holes

    def _add(self, wi: int, it: Item) -> None:
        w = self.wins[wi]
        w.members.append(it)
        w.load += it.duration + self.gap
        w.constrained += wi not in it.free

    def _try_direct(self, wi: int, it: Item) -> bool:
        """Put `it` in window `wi` around what is there: in a hole, else by laying the window out anew."""
        w, gap, d = self.wins[wi], self.gap, it.duration
        lo, hi = it.usable[wi]
        for k, (a, b) in enumerate(w.holes):
            s = a if a >= lo else lo
            e = s + d
            if e <= b + _EPS and e <= hi + _EPS:
                w.holes[k: k + 1] = [p for p in ([a, s - gap], [e + gap, b]) if p[1] > p[0]]
                w.layout.append((it, s))
                self._add(wi, it)
                return True
        if w.load + d > w.end - w.start + _EPS or (w.constrained == 0 and wi in it.free):
            return False  # no room by length alone, or a packed window of free items: holes were exact
        try:
            if self._has_fixed(wi, w.members):
                schedule = self.fixed_single(wi, [*w.members, it])
            else:
                schedule = self.single(w.start, _jobs(wi, [*w.members, it]))
        except _Cut:
            self.exact = False
            return False
        if schedule is None:
            return False
        self._add(wi, it)
        self._relayout(wi, schedule)
        return True

    def place(self, it: Item) -> None:
        got: list[int] = []
        for wi in it.usable:
            if len(got) == it.wanted:
                break
            if self._try_direct(wi, it):
                got.append(wi)
        self.placed.append((it, got))
        best = min(it.wanted, len(it.usable))
        if len(got) < best and it.search:
            self._improve(len(self.placed) - 1, len(got) + 1, best)

    # --- the search for a better arrangement (only when an item is short of plays) ---

    def _known_failure(self, it: Item, target: int) -> bool:
        if it.free != frozenset(it.usable):
            return False
        return any(c <= target and d <= it.duration + _EPS for c, d in self.failed.get(it.free, ()))

    def _improve(self, k: int, target: int, best: int) -> None:
        found: dict[int, list[int]] | None = None
        while target <= best:
            it = self.placed[k][0]
            counts = [len(ws) for _, ws in self.placed[:k]] + [target]
            if self._known_failure(it, target) or not self._hall(counts):
                break
            try:
                res = self._search(counts)
            except _Cut:
                self.exact = False
                break
            if res is None:
                if it.free == frozenset(it.usable):
                    self.failed.setdefault(it.free, []).append((target, it.duration))
                break
            found, target = res, target + 1
        if found is not None:
            self._apply(found)

    def _hall(self, counts: list[int]) -> bool:
        """Necessary condition: for every set of windows, the plays that can only go there fit by length."""
        n = len(self.wins)
        if n > _HALL_MAX_WINDOWS:  # 2**n subsets: skip the shortcut, the search decides
            return True
        gap = self.gap
        for mask in range(1, 1 << n):
            cap = sum(w.end - w.start + gap for i, w in enumerate(self.wins) if mask >> i & 1)
            need = 0.0
            for (it, _), c in zip(self.placed, counts, strict=False):
                outside = sum(1 for wi in it.usable if not mask >> wi & 1)
                if c > outside:
                    need += (c - outside) * (it.duration + gap)
            if need > cap + _EPS:
                return False
        return True

    def _search(self, counts: list[int]) -> dict[int, list[int]] | None:
        items = [it for it, _ in self.placed]
        fixed = [(it, c) for it, c in zip(items, counts, strict=True) if c and c == len(it.usable)]
        choice = [(it, c) for it, c in zip(items, counts, strict=True) if 0 < c < len(it.usable)]
        members: list[list[Item]] = [[] for _ in self.wins]
        for it, _ in fixed:
            for wi in it.usable:
                members[wi].append(it)
        if not all(self.fits(wi, m) for wi, m in enumerate(members) if m):
            return None
        # The item being placed first, then the longest: they decide most.
        choice.sort(key=lambda p: (p[0] is not items[-1], -p[0].duration, p[0].key))
        nodes = [0]
        failed: set[tuple[int, tuple[object, ...]]] = set()
        chosen: dict[int, list[int]] = {it.key: list(it.usable) for it, _ in fixed}
        gap = self.gap
        caps = [w.end - w.start + gap for w in self.wins]
        suffix = [0.0] * (len(choice) + 1)
        for i in range(len(choice) - 1, -1, -1):
            suffix[i] = suffix[i + 1] + choice[i][1] * (choice[i][0].duration + gap)

        # Windows where every item still to choose is free: only the members' total length matters.
        free_later = [[all(wi in it.free for it, _ in choice[pos:]) for wi in range(len(self.wins))]
                      for pos in range(len(choice) + 1)]

        def canon(pos: int, wi: int) -> object:
            # Members that are free in the window differ only by their length: interchangeable.
            m = members[wi]
            durations = tuple(sorted(round(x.duration, 6) for x in m if wi in x.free))
            bound = frozenset(x.key for x in m if wi not in x.free)
            if not bound and free_later[pos][wi]:
                return round(sum(durations), 6), len(durations)
            return bound, durations

        def dfs(pos: int) -> bool:
            if pos == len(choice):
                return True
            nodes[0] += 1
            if nodes[0] > SEARCH_BUDGET:
                raise _Cut
            room = sum(c - sum(x.duration + gap for x in m) for c, m in zip(caps, members, strict=True))
            if suffix[pos] > room + _EPS:
                return False
            state = (pos, tuple(canon(pos, wi) for wi in range(len(members))))
            if state in failed:
                return False
            it, c = choice[pos]
            for ws in combinations(it.usable, c):
                ok = []
                for wi in ws:
                    members[wi].append(it)
                    ok.append(wi)
                    if not self.fits(wi, members[wi]):
                        break
                else:
                    chosen[it.key] = list(ws)
                    if dfs(pos + 1):
                        return True
                for wi in ok:
                    members[wi].pop()
            failed.add(state)
            return False

        return chosen if dfs(0) else None

    def _apply(self, chosen: dict[int, list[int]]) -> None:
        for w in self.wins:
            w.members, w.load, w.constrained = [], 0.0, 0
        for i, (it, _) in enumerate(self.placed):
            ws = sorted(chosen.get(it.key, []))
            self.placed[i] = (it, ws)
            for wi in ws:
                self._add(wi, it)
        for wi, w in enumerate(self.wins):
            # The search checked every window; its check has no budget left to lose here.
            quick = self.around(wi, w.members)
            schedule = quick or _single(w.start, _jobs(wi, w.members), self.gap, [WINDOW_BUDGET])
            assert schedule is not None
            self._relayout(wi, schedule)

    # --- the chair's order inside each window ---

    def _in_order(self, t: float,
                  rest: list[tuple[Item, float, float]]) -> list[tuple[Item, float, float]] | None:
        """The same rule without the look-ahead: the first item in the chair's order that may start, each
        time; when that meets every end of validity it is what the look-ahead would choose too."""
        out: list[tuple[Item, float, float]] = []
        by_start = sorted(range(len(rest)), key=lambda j: (rest[j][1], rest[j][0].pref), reverse=True)
        ready: list[tuple[tuple[int, int], int]] = []
        while by_start or ready:
            if not ready and rest[by_start[-1]][1] > t:
                t = rest[by_start[-1]][1]
            while by_start and rest[by_start[-1]][1] <= t:
                j = by_start.pop()
                heapq.heappush(ready, (rest[j][0].pref, j))
            it, lo, hi = rest[heapq.heappop(ready)[1]]
            s = t if t >= lo else lo
            e = s + it.duration
            if e > hi + _EPS:
                return None
            out.append((it, s, e))
            t = e + self.gap
        return out

    def _by_deadlines(self, t: float, rest: list[tuple[Item, float, float]], end: float) -> Layout:
        """The look-ahead rule when every item may start at once (only ends of validity bind): the rest fits
        from `t` iff, for each end of validity, what must end by it fits before it (EDF), so each choice
        is checked against the few items whose validity ends inside the window, not the whole window."""
        gap = self.gap
        bound = sorted((hi, it.key, it.duration + gap) for it, _, hi in rest if hi < end - _EPS)
        total = sum(it.duration + gap for it, _, _ in rest)
        out: Layout = []
        while rest:
            for j, (it, _, hi) in enumerate(rest):
                e = t + it.duration
                if e > hi + _EPS or e + total - (it.duration + gap) > end + _EPS:
                    continue
                cum, ok = 0.0, True
                for b_hi, b_key, p in bound:
                    if b_key == it.key:
                        continue
                    cum += p
                    if e + cum > b_hi + _EPS:
                        ok = False
                        break
                if ok:
                    out.append((it, t, e))
                    total -= it.duration + gap
                    bound = [b for b in bound if b[1] != it.key]
                    t = e + gap
                    del rest[j]
                    break
            else:  # pragma: no cover - the set fits, so some first item keeps the rest feasible
                raise AssertionError("window layout lost its feasibility")
        return out

    def _around_fixed(self, wi: int, rest: list[tuple[Item, float, float]]) -> Layout | None:
        """Around fixed items (no slack: relays at fixed times): when the others may play anywhere in the
        window, fill the gaps between the fixed ones in the chair's order (each gap takes the first items
        that fit whole, the others wait for a later gap); otherwise, or when that leaves one over, the
        placement's own layout. None when the window holds no fixed item."""
        w, gap = self.wins[wi], self.gap
        fixed = sorted((lo, it, hi) for it, lo, hi in rest if hi - lo <= it.duration + _EPS)
        if not fixed:
            return None
        placed = [(it, s, s + it.duration) for it, s in sorted(w.layout, key=lambda p: p[1])]
        if any(wi not in it.free for it, lo, hi in rest if hi - lo > it.duration + _EPS):
            return placed
        waiting = [it for it, lo, hi in rest if hi - lo > it.duration + _EPS]  # in the chair's order
        out: Layout = []
        t = w.start
        for lo, it, hi in [*fixed, (w.end + gap, None, w.end + gap)]:
            if lo < t - _EPS:
                return placed
            stop = lo - gap  # this gap ends `gap` before the fixed item
            for other in list(waiting):
                if t + other.duration <= stop + _EPS:
                    out.append((other, t, t + other.duration))
                    t += other.duration + gap
                    waiting.remove(other)
            if it is not None:
                out.append((it, lo, hi))
                t = hi + gap
        if waiting:  # the chair's order left one over: the placement's own layout
            return placed
        return sorted(out, key=lambda p: p[1])

    def layout(self, wi: int) -> list[tuple[Item, float, float]]:
        """The window's plays, earliest first: at each moment the first item in the chair's order that may
        start then and leaves the rest able to fit; validity may make an item wait. Around fixed items
        (relays), each gap takes the first items in the chair's order that fit in it."""
        w, gap = self.wins[wi], self.gap
        jobs = _jobs(wi, w.members)
        out: list[tuple[Item, float, float]] = []
        t = w.start
        rest = sorted(jobs, key=lambda j: j[0].pref)
        if w.constrained == 0:
            for it, _, _ in rest:
                out.append((it, t, t + it.duration))
                t += it.duration + gap
            return out
        quick = self._around_fixed(wi, rest) or self._in_order(t, rest)
        if quick is not None:
            return quick
        if all(lo <= t for _, lo, _ in rest):
            return self._by_deadlines(t, rest, w.end)
        try:
            while rest:
                quick = self._in_order(t, rest)
                if quick is not None:  # from here on the chair's order meets every end of validity
                    return out + quick
                cands = sorted(range(len(rest)), key=lambda j: (max(t, rest[j][1]), rest[j][0].pref))
                for j in cands:
                    it, lo, hi = rest[j]
                    s = t if t >= lo else lo
                    e = s + it.duration
                    others = rest[:j] + rest[j + 1:]
                    if e <= hi + _EPS and self.single(e + gap, others) is not None:
                        out.append((it, s, e))
                        t, rest = e + gap, others
                        break
                else:  # pragma: no cover - the set fits, so some first item keeps the rest feasible
                    raise AssertionError("window layout lost its feasibility")
        except _Cut:
            # Out of budget: the layout found while placing (feasible, though not in the chair's order).
            self.exact = False
            return [(it, s, s + it.duration) for it, s in sorted(w.layout, key=lambda p: p[1])]
        return out


def place(spans: Sequence[tuple[float, float]], items: Sequence[Item], gap: float) -> Placement:
    """Place `items` (in rank order) into windows `spans` (start, end seconds); see the module doc."""
    placer = _Placer(spans, gap)
    for it in items:
        if it.usable and it.wanted > 0:
            placer.place(it)
        else:
            placer.placed.append((it, []))
    return Placement(
        windows={it.key: ws for it, ws in placer.placed},
        layout=[placer.layout(wi) for wi in range(len(placer.wins))],
        exact=placer.exact,
    )
