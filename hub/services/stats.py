"""Thống kê: the figures of an area (the caller's, or one inside it) for a period, grouped at a level
(province, district where the map has districts, commune), read from the daily roll-ups
(hub/services/rollups.py: how each figure counts) plus today's raw events.

- bulletins approved in the period that concern the area (a target covering it or inside it), by priority,
  form, origin and subject (lĩnh vực); emergencies and exercises;
- plays: planned (every play an agent reported: completed, interrupted, skipped, failed), the share
  completed as planned, air time by part of the day;
- emergency reach: the share of target devices that played within REACH_WITHIN, median and p95 delay;
- terminals: availability (online time / observed time), outages, time to recover, problems by kind, LED
  hours shown; communes ranked, weakest first, so a district sees which communes need help.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from hub.errors import Invalid
from hub.models import Bulletin
from hub.roles import Actor
from hub.services.areas import AreaService
from hub.services.base import Context, deny, require
from hub.services.periods import Period, parse_period
from hub.services.reorganise import successors
from hub.services.rollups import DayRollup, compute_day, pending_days, split_months
from hub.stat_models import (
    StatDeviceDay,
    StatDeviceMonth,
    StatEmergencyDelay,
    StatPlayDay,
    StatPlayMonth,
    StatProblemDay,
    StatWindowDay,
    StatWindowMonth,
)
from protocol.topics import covers

REACH_WITHIN_MS = 60_000  # an emergency "reached" a device that played it within 60 s of sending
LEVELS = ("province", "district", "commune")


@dataclass
class AreaFigures:
    """The figures of one area (a group at the chosen level, or one commune)."""

    path: str
    name: str
    devices: int = 0
    radio: int = 0
    led: int = 0
    planned: int = 0
    completed: int = 0
    interrupted: int = 0
    skipped: int = 0
    failed: int = 0
    air_morning_ms: int = 0
    air_evening_ms: int = 0
    observed_s: int = 0
    online_s: int = 0
    outages: int = 0
    recovered: int = 0
    recover_s: int = 0
    shown_s: int = 0
    problems: int = 0

    @property
    def share_as_planned(self) -> float | None:
        """Completed / planned, or None when nothing was planned."""
        return self.completed / self.planned if self.planned else None

    @property
    def availability(self) -> float | None:
        return self.online_s / self.observed_s if self.observed_s else None

    @property
    def mean_recover_s(self) -> float | None:
        return self.recover_s / self.recovered if self.recovered else None

    def add(self, other: AreaFigures) -> None:
        for k in _COUNTS:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "share_as_planned": self.share_as_planned,
            "availability": self.availability,
            "mean_recover_s": self.mean_recover_s,
        }


_COUNTS = tuple(f.name for f in fields(AreaFigures) if f.name not in ("path", "name"))


@dataclass(frozen=True)
class Reach:
    """Emergency reach over the emergencies (or exercises) sent in the period."""

    bulletins: int
    targets: int  # target devices, summed over the bulletins
    within: int  # of them, played within REACH_WITHIN_MS
    played: int
    median_ms: float | None
    p95_ms: float | None

    @property
    def share_within(self) -> float | None:
        return self.within / self.targets if self.targets else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share_within": self.share_within}


@dataclass
class Stats:
    area: str
    area_name: str
    level: str
    period: Period
    generated_at: datetime
    bulletins: dict[str, dict[str, int]] = field(default_factory=dict)  # dimension -> value -> count
    total: AreaFigures = field(default_factory=lambda: AreaFigures("", ""))
    groups: list[AreaFigures] = field(default_factory=list)  # at the level, by path
    communes: list[AreaFigures] = field(default_factory=list)  # ranked, weakest first
    reach: dict[str, Reach] = field(default_factory=dict)  # "emergency" (real), "exercise"
    problems: dict[str, int] = field(default_factory=dict)
    # past days of the period whose roll-up is not stored yet (the background catch-up is on them): their
    # figures are missing from the above, and the page says so
    pending: list[str] = field(default_factory=list)
    # air time inside each broadcast window: (group path at the level, device kind, window) -> ms
    windows: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "windows": [
                {"group": g, "kind": k, "window": w, "air_ms": ms}
                for (g, k, w), ms in sorted(self.windows.items())
            ],
            "area": self.area,
            "area_name": self.area_name,
            "level": self.level,
            "period": self.period.to_dict(),
            "generated_at": self.generated_at.isoformat(),
            "bulletins": self.bulletins,
            "total": self.total.to_dict(),
            "groups": [g.to_dict() for g in self.groups],
            "communes": [c.to_dict() for c in self.communes],
            "reach": {k: r.to_dict() for k, r in self.reach.items()},
            "problems": self.problems,
        }


class CommuneFigures(dict[str, AreaFigures]):
    """The communes' figures by path; `get` of an old unit's path (a reorganisation's area_lineage) finds
    the commune it became, so a period across a reorganisation counts under today's communes."""

    def __init__(self, figures: dict[str, AreaFigures], successors: dict[str, str]) -> None:
        super().__init__(figures)
        self.aliases = {old: new for old, new in successors.items() if new in figures}

    def get(self, key: str, default: AreaFigures | None = None) -> AreaFigures | None:  # type: ignore[override]
        found = super().get(key)
        return found if found is not None else super().get(self.aliases.get(key, ""), default)

    def old_paths(self) -> list[str]:
        return sorted(self.aliases)


def percentile(values: list[int], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..1) of `values`, None when empty."""
    if not values:
        return None
    s = sorted(values)
    return float(s[max(0, math.ceil(q * len(s)) - 1)])


def rank_key(c: AreaFigures) -> tuple[int, float, float, str]:
    """Weakest first: communes with devices before those without, then by share played as planned, then
    availability (a commune with nothing planned ranks as 0)."""
    return (0 if c.devices else 1, c.share_as_planned or 0.0, c.availability or 0.0, c.path)


class StatsService:
    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx, self.areas = ctx, areas
        self.catch_up: Callable[[], None] | None = None  # wakes the background catch-up (stats_catchup)

    def scope(self, actor: Actor, area: str | None) -> str:
        """The area asked for, checked against the caller's: default the caller's own (or the province)."""
        require(actor, "read")
        roots = sorted(p for p, a in self.areas.all().items() if a.parent_path is None)
        path = (area or "").strip() or actor.area_path or (roots[0] if roots else "")
        self.areas.get(path)
        if not actor.covers(path):
            raise deny("stats.read", path, f"Khu vực {path} nằm ngoài phạm vi được giao ({actor.area_path}).")
        return path

    def levels(self, area: str) -> list[str]:
        """The levels the figures of `area` can be grouped at (those present at or under it)."""
        present = {a.level for p, a in self.areas.all().items() if covers(area, p)}
        return [lv for lv in LEVELS if lv in present]

    def compute(self, actor: Actor, *, area: str | None, level: str | None, period: Period) -> Stats:
        path = self.scope(actor, area)
        levels = self.levels(path)
        level = (level or "").strip() or (levels[1] if len(levels) > 1 else levels[0])
        if level not in levels:
            raise Invalid(
                f"Cấp '{level[:20]}' không có dưới {path}; chọn {', '.join(levels)}.", field="level"
            )
        tz, now = self.ctx.tz, self.ctx.now()
        today = now.astimezone(tz).date()
        live: DayRollup | None = None
        with self.ctx.db.session() as sess:
            pending = pending_days(sess, period.first, min(period.last, today - timedelta(days=1)), tz)
        if pending and self.catch_up is not None:
            self.catch_up()  # never inside the request: the background catch-up stores them
        if period.first <= today <= period.last:
            with self.ctx.db.session() as sess:
                live = compute_day(sess, today, tz, now)
        areas = self.areas.all()
        out = Stats(path, areas[path].name, level, period, now, pending=[d.isoformat() for d in pending])
        with self.ctx.db.session() as sess:
            leaves = [p for p in areas if covers(path, p) and self.areas.is_leaf(p)]
            figures = {p: AreaFigures(p, areas[p].name) for p in leaves}
            communes = CommuneFigures(figures, successors(sess))
            self._plays(sess, path, period, live, communes)
            self._devices(sess, path, period, live, communes)
            out.problems = self._problems(sess, path, period, live, communes)
            out.reach = self._reach(sess, path, period, live)
            in_windows = self._windows(sess, path, period, live, communes)
            out.bulletins = self._bulletins(sess, path, period)
        groups: dict[str, AreaFigures] = {}
        for c in communes.values():
            g = self._ancestor(c.path, level)
            groups.setdefault(g, AreaFigures(g, areas[g].name)).add(c)
            out.total.add(c)
        out.total.path, out.total.name = path, areas[path].name
        out.groups = [groups[g] for g in sorted(groups)]
        for (commune, kind, w), ms in in_windows.items():
            key = (self._ancestor(commune, level), kind, w)
            out.windows[key] = out.windows.get(key, 0) + ms
        out.communes = sorted(communes.values(), key=rank_key)
        return out

    def _ancestor(self, path: str, level: str) -> str:
        areas, p = self.areas.all(), path
        while areas[p].level != level and areas[p].parent_path:
            p = areas[p].parent_path or p
        return p if areas[p].level == level else path

    @staticmethod
    def _area(model: Any, path: str, communes: CommuneFigures | None = None) -> ColumnElement[bool]:
        olds = communes.old_paths() if communes is not None else []
        return or_(
            model.area_path == path,
            model.area_path.like(path.replace("%", "") + "/%"),
            model.area_path.in_(olds),
        )

    @classmethod
    def _where(
        cls, model: Any, path: str, period: Period, communes: CommuneFigures | None = None
    ) -> list[ColumnElement[bool]]:
        return [
            model.day >= period.first.isoformat(),
            model.day <= period.last.isoformat(),
            cls._area(model, path, communes),
        ]

    @classmethod
    def _by_month(
        cls, day_model: Any, month_model: Any, path: str, period: Period, communes: CommuneFigures
    ) -> list[tuple[Any, list[ColumnElement[bool]]]]:
        """The tables and conditions that cover the period: the monthly roll-up for its whole months, the
        daily one for the days before and after them."""
        months, spans = split_months(period.first, period.last)
        out: list[tuple[Any, list[ColumnElement[bool]]]] = []
        if months:
            out.append((month_model, [month_model.month.in_(months), cls._area(month_model, path, communes)]))
        for first, last in spans:
            out.append((day_model, cls._where(day_model, path, Period("custom", first, last), communes)))
        return out

    def _plays(
        self,
        sess: Session,
        path: str,
        period: Period,
        live: DayRollup | None,
        communes: CommuneFigures,
    ) -> None:
        rows: list[tuple[str, str, str, int, int]] = []
        for m, where in self._by_month(StatPlayDay, StatPlayMonth, path, period, communes):
            q = (
                select(m.area_path, m.part, m.outcome, func.sum(m.plays), func.sum(m.air_ms))
                .where(*where)
                .group_by(m.area_path, m.part, m.outcome)
            )
            rows += [(str(a), str(p), str(o), int(n or 0), int(x or 0)) for a, p, o, n, x in sess.execute(q)]
        rows += [
            (r["area_path"], r["part"], r["outcome"], r["plays"], r["air_ms"])
            for r in (live.plays if live else [])
        ]
        for area, part, outcome, n, air in rows:
            c = communes.get(area)
            if c is None:
                continue
            c.planned += n
            if outcome in ("completed", "interrupted", "skipped", "failed"):
                setattr(c, outcome, getattr(c, outcome) + n)
            if part == "morning":
                c.air_morning_ms += air
            else:
                c.air_evening_ms += air

    def _windows(
        self, sess: Session, path: str, period: Period, live: DayRollup | None, communes: CommuneFigures
    ) -> dict[tuple[str, str, str], int]:
        """Air time inside each broadcast window, by (commune, device kind, window)."""
        rows: list[tuple[str, str, str, int]] = []
        for m, where in self._by_month(StatWindowDay, StatWindowMonth, path, period, communes):
            q = select(m.area_path, m.kind, m.window_label, func.sum(m.air_ms)).where(*where)
            q = q.group_by(m.area_path, m.kind, m.window_label)
            rows += [(str(a), str(k), str(w), int(ms or 0)) for a, k, w, ms in sess.execute(q)]
        for r in live.windows if live else []:
            rows.append((r["area_path"], r["kind"], r["window_label"], r["air_ms"]))
        out: dict[tuple[str, str, str], int] = defaultdict(int)
        for area, kind, w, ms in rows:
            c = communes.get(area)
            if c is not None:
                out[(c.path, kind, w)] += ms
        return out

    def _devices(
        self,
        sess: Session,
        path: str,
        period: Period,
        live: DayRollup | None,
        communes: CommuneFigures,
    ) -> None:
        sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * 6)
        for m, where in self._by_month(StatDeviceDay, StatDeviceMonth, path, period, communes):
            q = (
                select(
                    m.device_id,
                    m.area_path,
                    m.kind,
                    func.sum(m.observed_s),
                    func.sum(m.online_s),
                    func.sum(m.outages),
                    func.sum(m.recovered),
                    func.sum(m.recover_s),
                    func.sum(m.shown_s),
                )
                .where(*where)
                .group_by(m.device_id, m.area_path, m.kind)
            )
            for dev, area, kind, *vals in sess.execute(q):
                acc = sums[(dev, area, kind)]
                for i, v in enumerate(vals):
                    acc[i] += int(v or 0)
        for r in live.devices if live else []:
            acc = sums[(r["device_id"], r["area_path"], r["kind"])]
            keys = ("observed_s", "online_s", "outages", "recovered", "recover_s", "shown_s")
            for i, k in enumerate(keys):
                acc[i] += int(r[k])
        for (_, area, kind), (obs, onl, outg, rec, rec_s, shown) in sums.items():
            c = communes.get(area)
            if c is None:
                continue
            c.devices += 1
            c.radio += kind == "radio"
            c.led += kind == "led"
            c.observed_s += obs
            c.online_s += onl
            c.outages += outg
            c.recovered += rec
            c.recover_s += rec_s
            c.shown_s += shown

    def _problems(
        self,
        sess: Session,
        path: str,
        period: Period,
        live: DayRollup | None,
        communes: CommuneFigures,
    ) -> dict[str, int]:
        m = StatProblemDay
        q = select(m.area_path, m.code, func.sum(m.count)).where(*self._where(m, path, period, communes))
        rows = [(str(a), str(c), int(n or 0)) for a, c, n in sess.execute(q.group_by(m.area_path, m.code))]
        rows += [(r["area_path"], r["code"], r["count"]) for r in (live.problems if live else [])]
        out: dict[str, int] = defaultdict(int)
        for area, code, n in rows:
            c = communes.get(area)
            if c is None:
                continue
            c.problems += n
            out[code] += n
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def _reach(self, sess: Session, path: str, period: Period, live: DayRollup | None) -> dict[str, Reach]:
        m = StatEmergencyDelay
        q = select(m.bulletin_id, m.area_path, m.exercise, m.delay_ms).where(*self._where(m, path, period))
        rows: list[tuple[str, str, bool, int | None]] = [
            (str(b), str(a), bool(x), None if d is None else int(d)) for b, a, x, d in sess.execute(q)
        ]
        rows += [
            (r["bulletin_id"], r["area_path"], r["exercise"], r["delay_ms"])
            for r in (live.delays if live else [])
            if covers(path, r["area_path"])
        ]
        out = {}
        for key, exercise in (("emergency", False), ("exercise", True)):
            mine = [r for r in rows if bool(r[2]) == exercise]
            delays = [int(r[3]) for r in mine if r[3] is not None]
            out[key] = Reach(
                bulletins=len({r[0] for r in mine}),
                targets=len(mine),
                within=sum(1 for d in delays if d <= REACH_WITHIN_MS),
                played=len(delays),
                median_ms=float(statistics.median(delays)) if delays else None,
                p95_ms=percentile(delays, 0.95),
            )
        return out

    def _bulletins(self, sess: Session, path: str, period: Period) -> dict[str, dict[str, int]]:
        tz = self.ctx.tz
        start = datetime.combine(period.first, time(0), tz)
        end = datetime.combine(period.last + timedelta(days=1), time(0), tz)
        out: dict[str, dict[str, int]] = {"priority": {}, "form": {}, "origin": {}, "kind": {}, "subject": {}}
        q = select(Bulletin).where(Bulletin.approved_at >= start, Bulletin.approved_at < end)
        for b in sess.scalars(q):
            if not any(covers(t, path) or covers(path, t) for t in b.target_paths):
                continue
            kind = "exercise" if b.exercise else "emergency" if b.priority == "emergency" else "other"
            for dim, value in (
                ("priority", b.priority),
                ("form", b.form),
                ("origin", b.origin),
                ("kind", kind),
                ("subject", b.subject),
            ):
                out[dim][value] = out[dim].get(value, 0) + 1
        return out


def compute_query(svc: StatsService, actor: Actor, q: Mapping[str, str]) -> Stats:
    """The figures asked for by a URL's query (API and page alike): area, level, period (day, week, month,
    half, custom), date (a day in the period; default today), from and to (a custom period)."""
    for name in ("area", "level", "period", "date", "from", "to"):
        if len(q.get(name, "")) > 200:
            raise Invalid(f"Tham số '{name}' quá dài.", field=name)
    period = parse_period(
        q.get("period"),
        anchor=q.get("date"),
        first=q.get("from"),
        last=q.get("to"),
        today=svc.ctx.local_now().date(),
    )
    return svc.compute(actor, area=q.get("area"), level=q.get("level"), period=period)
