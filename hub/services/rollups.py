"""Daily roll-ups of the raw events (plays, device online/offline changes, device events and anomalies,
emergency deliveries): one local day (the hub's time zone) at a time, rebuilt whole from the raw rows, so a
day can be recomputed any number of times with the same result.

The midnight job stores the last LATE_DAYS days (reports that reached the hub late are counted the next
night); the statistics compute today from the raw rows and store any past day not stored yet. The raw rows
are kept RAW_RETENTION_DAYS (docs/OPERATIONS.md, "Statistics"); the roll-ups keep the history.

How a day counts (docs/API.md, "Statistics"):
- a play counts on the day it started (or was due, when it never started), by its commune, device kind,
  bulletin priority and origin, exercise or not, part of the day (morning: started before local noon) and
  outcome; its air time (completed or interrupted plays) counts on each day it overlaps, so a play across
  midnight is split between the two days; a local-language version (reported as its own play after the
  Vietnamese one) adds air time, not a play;
- a device's day is observed from its registration (or midnight) to midnight (or now); it is online from a
  change to online to the next change to offline; an outage counts on the day it began, its time to
  recover on the day it ended (a device offline across midnight: one outage on the first day, its
  recovery on the second); a device that never came online has no outage, only no online time;
- an emergency counts on the day it was sent, for every target device registered then: its delay from
  sending to the first confirmed play (hub/services/deliveries.first_play), or none if it never played.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    DateTime,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from hub.models import (
    Bulletin,
    BulletinTarget,
    Device,
    DeviceAnomaly,
    DeviceEventRow,
    DeviceStateChange,
    FirstSeenPlaying,
    Play,
)
from hub.services.deliveries import CONFIRMED, first_play
from hub.services.windows import window_table
from hub.stat_models import (
    StatDeviceDay,
    StatDeviceMonth,
    StatEmergencyDelay,
    StatPlayDay,
    StatPlayMonth,
    StatProblemDay,
    StatRollupDay,
    StatWindowDay,
    StatWindowMonth,
)
from playlists.window_sets import day_spans
from protocol.topics import covers

log = logging.getLogger(__name__)

LATE_DAYS = 7  # the midnight job recomputes this many past days (an agent's outbox may send days late)
RAW_RETENTION_DAYS = 400  # raw plays, device events and state changes kept (a year and a reporting period)
LONGEST_PLAY = timedelta(days=1)  # a play that began up to this long before midnight may end in the day
PLAY_DIMS = ("area_path", "kind", "priority", "origin", "exercise", "part", "outcome")


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day as [start, end) aware datetimes."""
    return datetime.combine(day, time(0), tz), datetime.combine(day + timedelta(days=1), time(0), tz)


@dataclass
class DayRollup:
    """One day's roll-up rows (plain dicts, the columns of the stat_* tables without `day`)."""

    plays: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    delays: list[dict[str, Any]] = field(default_factory=list)
    windows: list[dict[str, Any]] = field(default_factory=list)


def _ms(d: timedelta) -> int:
    return max(0, round(d.total_seconds() * 1000))


def _seconds(d: timedelta) -> int:
    return max(0, round(d.total_seconds()))


def compute_day(sess: Session, day: date, tz: ZoneInfo, now: datetime) -> DayRollup:
    """The roll-up of one local day from the raw rows (nothing is written)."""
    start, end = day_bounds(day, tz)
    until = min(end, now)
    day_ = _Day(
        sess,
        {d.id: d for d in sess.scalars(select(Device).where(Device.created_at < until))},
        start,
        end,
        until,
        tz,
    )
    out = DayRollup()
    shown = _plays(day_, out)
    _windows(day_, out)
    outages = _devices(day_, out, shown)
    _problems(day_, out, outages)
    _delays(day_, out)
    return out


@dataclass(frozen=True)
class _Day:
    sess: Session
    devices: dict[str, Device]
    start: datetime
    end: datetime
    until: datetime  # the end, or now for today
    tz: ZoneInfo


def _naive(col: Any) -> Any:
    """A time column as stored (naive UTC), skipping the per-row conversion of UTCDateTime: a day has
    tens of thousands of plays."""
    return type_coerce(col, DateTime())


def _air_ms(sess: Session, started: Any, ended: Any, end: datetime, begin: datetime | None = None) -> Any:
    """SQL: a play's milliseconds on air from its start (or `begin`, whichever is last) to its end (or `end`,
    whichever is first), rounded (the same as _ms in Python; clipped at 0)."""
    pg = sess.get_bind().dialect.name == "postgresql"
    until = literal(end, DateTime())
    first = started
    if begin is not None:
        since = literal(begin, DateTime())
        first = func.greatest(started, since) if pg else func.max(started, since)
    if pg:
        ms = func.round(func.extract("epoch", func.least(ended, until) - first) * 1000)
    else:  # SQLite: julianday is a fraction of a day, precise to well under a millisecond
        ms = func.round((func.julianday(func.min(ended, until)) - func.julianday(first)) * 86_400_000.0)
    return case((ms > 0, cast(ms, BigInteger)), else_=0)


def _windows(day: _Day, out: DayRollup) -> None:
    """Fill out.windows: the air time of the day inside each broadcast window in force for the commune and
    device kind (the windows table: a commune's own hours, else its district's, else the province's, else
    the regulation's; LED occasions added), one SQL sum per distinct window."""
    sess = day.sess
    table = window_table(sess)
    local_day = day.start.date()
    by_window: dict[tuple[str, str], list[str]] = defaultdict(list)
    for area, kind in sorted({(r["area_path"], r["kind"]) for r in out.plays if r["air_ms"]}):
        for w in table.resolve(area, kind, local_day).windows:
            by_window[(kind, w)].append(area)
    started, ended = _naive(Play.started_at), _naive(Play.ended_at)
    area = func.coalesce(func.nullif(Play.area_path, ""), Device.area_path)
    until = day.until.astimezone(UTC).replace(tzinfo=None)
    registered = _naive(Device.created_at) < literal(until, DateTime())
    for (kind, w), areas in sorted(by_window.items()):
        (span,) = day_spans(local_day, [w], str(day.tz))
        ws, we = (max(span.start, day.start), min(span.end, day.end))
        if ws >= we:
            continue
        ws_, we_ = (t.astimezone(UTC).replace(tzinfo=None) for t in (ws, we))
        q = (
            select(area, func.sum(_air_ms(sess, started, ended, we_, ws_)))
            .select_from(Play)
            .join(Device, and_(Device.id == Play.device_id, registered))
            .where(
                Device.kind == kind,
                area.in_(areas),
                Play.outcome.in_(CONFIRMED),
                Play.started_at >= ws - LONGEST_PLAY,
                Play.started_at < we,
                Play.ended_at > ws,
            )
            .group_by(area)
        )
        for a, ms in sess.execute(q):
            if ms:
                out.windows.append({"area_path": a, "kind": kind, "window_label": w, "air_ms": int(ms)})


def _plays(day: _Day, out: DayRollup) -> dict[str, int]:
    """Fill out.plays; returns each LED board's seconds shown within the day. The plays that started (or
    were due) in the day are summed set-based (one GROUP BY: a province's day is ~20,000 plays); the few that
    began the day before and ran past midnight add their time in this day."""
    sess, devices = day.sess, day.devices
    start, end, until = (t.astimezone(UTC).replace(tzinfo=None) for t in (day.start, day.end, day.until))
    noon = (day.start + timedelta(hours=12)).astimezone(UTC).replace(tzinfo=None)
    started, ended, scheduled = _naive(Play.started_at), _naive(Play.ended_at), _naive(Play.scheduled_at)
    air = case(
        (and_(Play.outcome.in_(CONFIRMED), started.is_not(None), ended.is_not(None)),
         _air_ms(sess, started, ended, end)),
        else_=0,
    )  # fmt: skip
    area = func.coalesce(func.nullif(Play.area_path, ""), Device.area_path)
    part = case((func.coalesce(started, scheduled) < literal(noon, DateTime()), "morning"), else_="evening")
    priority = func.coalesce(Bulletin.priority, "normal")
    origin = func.coalesce(Bulletin.origin, "province")
    until_ = literal(until, DateTime())
    in_day = or_(
        and_(Play.started_at >= day.start, Play.started_at < day.end),
        and_(Play.started_at.is_(None), Play.scheduled_at >= day.start, Play.scheduled_at < day.end),
    )
    joined = (
        select()
        .select_from(Play)
        .join(Device, and_(Device.id == Play.device_id, _naive(Device.created_at) < until_))
        .outerjoin(Bulletin, Bulletin.id == Play.bulletin_id)
        .where(in_day)
    )
    dims = (area, Device.kind, priority, origin, Play.exercise, part, Play.outcome)
    # A bulletin's local-language version (bản tiếng dân tộc) is reported as its own play after the
    # Vietnamese one: its air time counts, but it is the same item, not a second play planned or played.
    one_item = case((func.coalesce(Play.data["language"].as_string(), "vie") == "vie", 1), else_=0)
    acc: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    q_plays = joined.add_columns(*dims, func.sum(one_item), func.sum(air)).group_by(*dims)
    for *key, n, ms in sess.execute(q_plays):
        k = (*key[:4], bool(key[4]), *key[5:])
        acc[k][0] += int(n)
        acc[k][1] += int(ms or 0)
    shown: dict[str, int] = defaultdict(int)
    q_led = joined.add_columns(Play.device_id, func.sum(air)).where(Device.kind == "led")
    for dev_id, ms in sess.execute(q_led.group_by(Play.device_id)):
        shown[dev_id] += int(ms or 0)
    # began the day before and ran past midnight: only its time in this day counts
    q = select(Play.device_id, Play.area_path, Play.bulletin_id, Play.outcome, started, ended, Play.exercise)
    q = q.where(
        Play.started_at >= day.start - LONGEST_PLAY,
        Play.started_at < day.start,
        Play.ended_at > day.start,
        Play.outcome.in_(CONFIRMED),
    )
    for dev_id, area_path, bid, outcome, t_start, t_end, exercise in sess.execute(q):
        dev = devices.get(dev_id)
        if dev is None or t_start is None or t_end is None:
            continue
        ms = _ms(min(t_end, end) - max(t_start, start))
        if not ms:
            continue
        b = sess.get(Bulletin, bid)
        priority_, origin_ = (b.priority, b.origin) if b is not None else ("normal", "province")
        part_ = "morning" if start < noon else "evening"
        where = area_path or dev.area_path
        acc[(where, dev.kind, priority_, origin_, bool(exercise), part_, outcome)][1] += ms
        if dev.kind == "led":
            shown[dev.id] += ms
    out.plays = [
        {**dict(zip(PLAY_DIMS, k, strict=True)), "plays": n, "air_ms": a} for k, (n, a) in acc.items()
    ]
    return {dev: ms // 1000 for dev, ms in shown.items()}


def _devices(day: _Day, out: DayRollup, shown: dict[str, int]) -> dict[str, int]:
    """Fill out.devices (availability, outages, recovery); returns outages begun per device."""
    sess, devices, start, until = day.sess, day.devices, day.start, day.until
    changes: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
    q = (
        select(DeviceStateChange.device_id, DeviceStateChange.at, DeviceStateChange.online)
        .where(DeviceStateChange.at >= start, DeviceStateChange.at < until)
        .order_by(DeviceStateChange.device_id, DeviceStateChange.at, DeviceStateChange.id)
    )
    for dev_id, at, online in sess.execute(q):
        changes[dev_id].append((at, online))
    # each device's last change before the day (its state at midnight): one query, the (device, at) index
    c = DeviceStateChange
    last = (
        select(c.device_id, func.max(c.at).label("at")).where(c.at < start).group_by(c.device_id).subquery()
    )
    before_rows = sess.execute(
        select(c.device_id, c.at, c.online).join(
            last, (c.device_id == last.c.device_id) & (c.at == last.c.at)
        )
    )
    befores = {dev: (at, bool(on)) for dev, at, on in before_rows}
    outages: dict[str, int] = {}
    for d in devices.values():
        before = befores.get(d.id)
        online = before[1] if before is not None else False
        down_since = before[0] if before is not None and not before[1] else None
        t = max(start, d.created_at)
        row = {"online_s": 0, "outages": 0, "recovered": 0, "recover_s": 0}
        for at, now_online in changes.get(d.id, []):
            if online:
                row["online_s"] += _seconds(at - t)
            if now_online == online:
                continue
            if not now_online:
                row["outages"] += 1
                down_since = at
            elif down_since is not None:
                row["recovered"] += 1
                row["recover_s"] += _seconds(at - down_since)
                down_since = None
            online, t = now_online, at
        if online:
            row["online_s"] += _seconds(until - t)
        out.devices.append(
            {
                "device_id": d.id,
                "area_path": d.area_path,
                "kind": d.kind,
                "observed_s": _seconds(until - max(start, d.created_at)),
                **row,
                "shown_s": shown.get(d.id, 0),
            }
        )
        outages[d.id] = row["outages"]
    return outages


def _problems(day: _Day, out: DayRollup, outages: dict[str, int]) -> None:
    """Fill out.problems: outages, refused messages, device errors and reports not believed, per commune."""
    sess, devices, start, end = day.sess, day.devices, day.start, day.end
    acc: dict[tuple[str, str], int] = defaultdict(int)
    for dev_id, n in outages.items():
        if n:
            acc[(devices[dev_id].area_path, "offline")] += n
    q_events = (
        select(DeviceEventRow.device_id, DeviceEventRow.type, func.count())
        .where(
            DeviceEventRow.type.in_(("rejected", "error")),
            DeviceEventRow.received_at >= start,
            DeviceEventRow.received_at < end,
        )
        .group_by(DeviceEventRow.device_id, DeviceEventRow.type)
    )
    q_anomalies = (
        select(DeviceAnomaly.device_id, DeviceAnomaly.code, func.count())
        .where(DeviceAnomaly.received_at >= start, DeviceAnomaly.received_at < end)
        .group_by(DeviceAnomaly.device_id, DeviceAnomaly.code)
    )
    for q in (q_events, q_anomalies):
        for dev_id, code, n in sess.execute(q):
            if dev_id in devices:
                acc[(devices[dev_id].area_path, str(code))] += int(n)
    out.problems = [{"area_path": a, "code": c, "count": n} for (a, c), n in acc.items()]


def _delays(day: _Day, out: DayRollup) -> None:
    """Fill out.delays: each emergency sent that day, each target device, its delay to first play."""
    sess, devices, start, end = day.sess, day.devices, day.start, day.end
    emergencies = sess.scalars(
        select(Bulletin).where(
            Bulletin.priority == "emergency", Bulletin.approved_at >= start, Bulletin.approved_at < end
        )
    ).all()
    for b in emergencies:
        sent = b.approved_at
        assert sent is not None  # selected on approved_at
        q = select(BulletinTarget.area_path).where(BulletinTarget.bulletin_id == b.id)
        targets = list(sess.scalars(q))
        plays: dict[str, list[Play]] = defaultdict(list)
        for p in sess.scalars(select(Play).where(Play.bulletin_id == b.id)):
            plays[p.device_id].append(p)
        seen = {
            r.device_id: r.at
            for r in sess.scalars(select(FirstSeenPlaying).where(FirstSeenPlaying.bulletin_id == b.id))
        }
        for d in devices.values():
            if d.kind not in (b.kinds or []) or d.created_at > sent:
                continue
            if not any(covers(t, d.area_path) for t in targets):
                continue
            first, _ = first_play(plays.get(d.id, []), seen.get(d.id), sent)
            out.delays.append(
                {
                    "bulletin_id": b.id,
                    "device_id": d.id,
                    "area_path": d.area_path,
                    "exercise": bool(b.exercise),
                    "delay_ms": _ms(first - sent) if first is not None else None,
                }
            )


def store_day(sess: Session, day: date, rollup: DayRollup, now: datetime) -> None:
    """Replace the stored roll-up of `day` with `rollup` (in the caller's transaction)."""
    iso = day.isoformat()
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (StatPlayDay, rollup.plays),
        (StatDeviceDay, rollup.devices),
        (StatProblemDay, rollup.problems),
        (StatEmergencyDelay, rollup.delays),
        (StatWindowDay, rollup.windows),
    ]
    for model, rows in tables:
        sess.execute(delete(model).where(model.day == iso))
        if rows:
            # the table's own insert: plain rows, none of the ORM's per-row bookkeeping (~5,000 rows a day)
            sess.execute(model.__table__.insert(), [{"day": iso, **r} for r in rows])
    sess.execute(delete(StatRollupDay).where(StatRollupDay.day == iso))
    sess.add(StatRollupDay(day=iso, computed_at=now))


MONTH_SUMS: tuple[tuple[Any, Any, tuple[str, ...], tuple[str, ...]], ...] = (
    (StatPlayDay, StatPlayMonth, ("area_path", "kind", "part", "outcome"), ("plays", "air_ms")),
    (
        StatDeviceDay,
        StatDeviceMonth,
        ("device_id", "area_path", "kind"),
        ("observed_s", "online_s", "outages", "recovered", "recover_s", "shown_s"),
    ),
    (StatWindowDay, StatWindowMonth, ("area_path", "kind", "window_label"), ("air_ms",)),
)


def store_month(sess: Session, month: str) -> None:
    """Rebuild the monthly roll-ups of `month` (YYYY-MM) from its stored days, set-based (INSERT ... SELECT
    ... GROUP BY): the sums of whatever days of the month are stored."""
    for day_model, month_model, keys, sums in MONTH_SUMS:
        sess.execute(delete(month_model).where(month_model.month == month))
        cols = [getattr(day_model, k) for k in keys]
        q = (
            select(literal(month), *cols, *(func.sum(getattr(day_model, c)) for c in sums))
            .where(day_model.day >= f"{month}-01", day_model.day <= f"{month}-31")
            .group_by(*cols)
        )
        sess.execute(insert(month_model).from_select(["month", *keys, *sums], q))


_WRITING = threading.Lock()


def rollup_days(db: Any, days: list[date], tz: ZoneInfo, now: datetime, batch: int = 1) -> int:
    """Compute and store the days, then their month's roll-ups, in one transaction per `batch` days of a
    month (the month's rows always agree with its stored days); returns how many days were stored."""
    by_month: dict[str, list[date]] = defaultdict(list)
    for day in days:
        by_month[day.isoformat()[:7]].append(day)
    for month, month_days in sorted(by_month.items()):
        for i in range(0, len(month_days), max(1, batch)):
            # one writer at a time in this hub (the catch-up, the midnight job, the prune): two transactions
            # rebuilding the same day would collide on PostgreSQL's unique (day, device) rows
            with _WRITING, db.session() as sess:
                for day in month_days[i : i + max(1, batch)]:
                    store_day(sess, day, compute_day(sess, day, tz, now), now)
                store_month(sess, month)
    return len(days)


def missing_days(sess: Session, first: date, last: date) -> list[date]:
    """The days from `first` to `last` (included) whose roll-up is not stored."""
    stored = set(
        sess.scalars(
            select(StatRollupDay.day).where(
                StatRollupDay.day >= first.isoformat(), StatRollupDay.day <= last.isoformat()
            )
        )
    )
    n = (last - first).days + 1
    return [d for d in (first + timedelta(days=i) for i in range(max(0, n))) if d.isoformat() not in stored]


def pending_days(sess: Session, first: date, last: date, tz: ZoneInfo) -> list[date]:
    """The past days from `first` to `last` not rolled up yet, from the first device's registration on
    (before it every day is empty: nothing to store)."""
    first_device = sess.scalar(select(func.min(Device.created_at)))
    if first_device is None:
        return []
    return missing_days(sess, max(first, first_device.astimezone(tz).date()), last)


def split_months(first: date, last: date) -> tuple[list[str], list[tuple[date, date]]]:
    """[first, last] as its whole months (YYYY-MM, read from the monthly roll-ups) and the spans of days
    before and after them (read from the daily ones)."""
    months: list[str] = []
    m = first if first.day == 1 else (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    lead_end = m - timedelta(days=1)
    while True:
        nxt = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
        if nxt - timedelta(days=1) > last:
            break
        months.append(m.isoformat()[:7])
        m = nxt
    if not months:
        return [], [(first, last)]
    spans = [(first, lead_end)] if first <= lead_end else []
    if m <= last:
        spans.append((m, last))
    return months, spans


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def prune_raw(db: Any, tz: ZoneInfo, now: datetime) -> dict[str, int]:
    """Delete raw rows older than RAW_RETENTION_DAYS, after storing the roll-up of any of their days not
    stored yet (their figures stay). Each device keeps its last online/offline change (its state then)."""
    cutoff = now - timedelta(days=RAW_RETENTION_DAYS)
    with db.session() as sess:
        oldest = sess.scalar(select(func.min(Play.started_at)).where(Play.started_at < cutoff))
        last = cutoff.astimezone(tz).date()
        todo = missing_days(sess, oldest.astimezone(tz).date(), last) if oldest else []
    rollup_days(db, todo, tz, now)
    with db.session() as sess:
        latest = select(func.max(DeviceStateChange.id)).group_by(DeviceStateChange.device_id)
        out = {
            "plays": _count(sess.execute(delete(Play).where(Play.received_at < cutoff))),
            "device_events": _count(
                sess.execute(delete(DeviceEventRow).where(DeviceEventRow.received_at < cutoff))
            ),
            "device_state_changes": _count(
                sess.execute(
                    delete(DeviceStateChange).where(
                        DeviceStateChange.at < cutoff, DeviceStateChange.id.not_in(latest.scalar_subquery())
                    )
                )
            ),
        }
    log.info("raw events before %s deleted (%d days rolled up first): %s", cutoff.date(), len(todo), out)
    return out
