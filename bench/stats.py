"""A province's half-year of device reports, rolled up, then the Thống kê queries timed; one JSON line.

    .venv/bin/python bench/stats.py [--devices 2000] [--days 182] [--plays 10] [--db sqlite|postgresql]

The data: 10 districts x 10 communes, `devices` terminals (one LED board in ten), `plays` plays a day each
(completed mostly, some skipped, failed or interrupted, morning and evening), each device offline for 1-3
hours every 5 days or so (some across midnight), a refused message now and then, and an emergency every
month to the whole province that most devices play within a minute. Raw rows go in through SQLAlchemy in
bulk (not the MQTT ingest path: bench/api.py and bench/fanout.py measure that): raw executemany on sqlite3,
COPY on PostgreSQL. Then every day is rolled up by the hub's background catch-up
(hub/services/stats_catchup.py), as after an install or a gap. `--db postgresql` uses a throwaway database
on 127.0.0.1:5432 (user postgres).

Timed: the roll-up (all days, and one day as the midnight job does it), then each query cold and warm:
the province by district, a district by commune and a commune, for the half-year and for a month.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text

from hub.app import build_services
from hub.config import build_config
from hub.models import Bulletin, BulletinTarget, Device
from hub.roles import SYSTEM
from hub.services.periods import Period
from hub.services.rollups import rollup_days
from protocol.clock import FrozenClock
from protocol.vocabulary import SUBJECTS

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST = date(2026, 1, 1)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def tree() -> dict[str, Any]:
    return {
        "code": "67",
        "name": "Tỉnh Bench",
        "level": "province",
        "children": [
            {
                "code": f"{660 + d}",
                "name": f"Huyện {d}",
                "level": "district",
                "children": [
                    {"code": f"{24000 + d * 10 + c}", "name": f"Xã {d}-{c}", "level": "commune"}
                    for c in range(10)
                ],
            }
            for d in range(10)
        ],
    }


def local(day: date, hours: float) -> datetime:
    return (datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(hours=hours)).astimezone(UTC)


def _register(
    s: Any, rng: random.Random, devs: list[tuple[str, str, str]], days: int, start: datetime
) -> tuple[list[str], list[tuple[str, datetime]]]:
    """The devices, 400 bulletins over the period and an emergency a month; returns the bulletins' ids and
    the emergencies' (id, sent)."""
    with s.ctx.db.session() as sess:
        sess.execute(
            insert(Device),
            [
                {"id": d, "kind": k, "area_path": a, "name": "", "state": "idle", "created_at": start}
                for d, k, a in devs
            ],
        )
        bulletins = []
        for i in range(400):
            bid = f"b{i:04d}"
            bulletins.append(bid)
            sess.add(
                Bulletin(
                    id=bid,
                    title=bid,
                    priority=rng.choice(("priority", "normal", "normal")),
                    form=rng.choice(("text", "audio")),
                    origin=rng.choice(("province", "district", "commune")),
                    subject=rng.choice(SUBJECTS),
                    status="approved",
                    kinds=["radio", "led"],
                    targets=[BulletinTarget(area_path="67")],
                    repeat={},
                    created_at=start,
                    updated_at=start,
                    approved_at=local(FIRST + timedelta(days=i * days // 400), 3),
                )
            )
        emergencies = []
        for m in range(days // 30):
            bid, at = f"e{m:02d}", local(FIRST + timedelta(days=30 * m + 12), 10.25)
            emergencies.append((bid, at))
            sess.add(
                Bulletin(
                    id=bid,
                    title=bid,
                    priority="emergency",
                    form="text",
                    origin="province",
                    status="finished",
                    kinds=["radio", "led"],
                    targets=[BulletinTarget(area_path="67")],
                    repeat={},
                    exercise=m % 3 == 2,
                    created_at=at,
                    updated_at=at,
                    approved_at=at,
                )
            )
    return bulletins, emergencies


def fill(
    s: Any, rng: random.Random, devices: int, days: int, plays: int
) -> dict[str, int]:
    """Write the raw rows; returns how many of each."""
    communes = [f"67/{660 + d}/{24000 + d * 10 + c}" for d in range(10) for c in range(10)]
    start = local(FIRST, 0) - timedelta(days=1)
    devs = [
        (f"d{i:05d}", "led" if i % 10 == 9 else "radio", communes[i % len(communes)]) for i in range(devices)
    ]
    counts = {"plays": 0, "state_changes": 0, "events": 0, "bulletins": 0}
    bulletins, emergencies = _register(s, rng, devs, days, start)
    counts["bulletins"] = len(bulletins) + len(emergencies)
    plays_out: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = [(d, _ts(start), 1) for d, _, _ in devs]
    events: list[tuple[Any, ...]] = []
    outcomes = ("completed",) * 90 + ("skipped",) * 5 + ("failed",) * 3 + ("interrupted",) * 2
    durations = [timedelta(seconds=x) for x in range(30, 301)]
    writer = _Writer(s.ctx.db.engine)

    def flush(force: bool = False) -> None:
        tables = (("plays", plays_out), ("device_state_changes", changes), ("device_events", events))
        for table, rows in tables:
            if rows and (force or len(rows) >= 50_000):
                writer.write(table, rows)
                rows.clear()

    n = 0
    rand, choice = rng.random, rng.choice
    for day_i in range(days):
        day = FIRST + timedelta(days=day_i)
        morning, evening = local(day, 5).replace(tzinfo=None), local(day, 17).replace(tzinfo=None)
        for dev, _kind, area in devs:
            for k in range(plays):
                t = (morning if k < plays // 2 else evening) + timedelta(seconds=rand() * 5040)
                outcome = choice(outcomes)
                end_t = t + choice(durations)
                n += 1
                ts, te = _ts(t), _ts(end_t)
                plays_out.append(
                    (
                        f"p{n}",
                        dev,
                        area,
                        choice(bulletins),
                        outcome,
                        ts,
                        None if outcome == "skipped" else ts,
                        None if outcome in ("skipped", "failed") else te,
                        0,
                        0,
                        "{}",
                        te,
                    )
                )
            if rand() < 0.2:  # an outage of 1-3 hours, some across midnight
                down = local(day, choice((rng.uniform(0, 24), 23.5))).replace(tzinfo=None)
                up = down + timedelta(hours=rng.uniform(1, 3))
                changes.extend(((dev, _ts(down), 0), (dev, _ts(up), 1)))
            if rand() < 0.01:
                events.append((f"r{n}", dev, "rejected", None, '{"reason": "expired"}', _ts(local(day, 12))))
        for bid, at in emergencies:
            if at.astimezone(TZ).date() == day:
                for dev, _, area in devs:
                    if rand() < 0.97:
                        t = at.replace(tzinfo=None) + timedelta(seconds=rng.expovariate(1 / 15))
                        n += 1
                        plays_out.append(
                            (
                                f"p{n}",
                                dev,
                                area,
                                bid,
                                "completed",
                                None,
                                _ts(t),
                                _ts(t + timedelta(seconds=60)),
                                1,
                                0,
                                "{}",
                                _ts(t + timedelta(seconds=61)),
                            )
                        )
        counts["plays"] = n
        flush()
    flush(force=True)
    writer.close()
    with s.ctx.db.session() as sess:
        counts["state_changes"] = int(sess.scalar(text("SELECT count(*) FROM device_state_changes")) or 0)
        counts["events"] = int(sess.scalar(text("SELECT count(*) FROM device_events")) or 0)
    return counts


def _ts(t: datetime) -> str:
    """A naive UTC time as SQLAlchemy stores it (SQLite compares these strings; PostgreSQL parses them)."""
    return t.replace(tzinfo=None).isoformat(" ", "microseconds")


_COLUMNS = {
    "plays": "event_id, device_id, area_path, bulletin_id, outcome, scheduled_at, started_at, ended_at, "
    "emergency, exercise, data, received_at",
    "device_state_changes": "device_id, at, online",
    "device_events": "event_id, device_id, type, at, data, received_at",
}


class _Writer:
    """Raw rows straight to the driver: executemany on sqlite3, COPY on PostgreSQL (the ORM's bulk insert
    took 40 minutes for the full size)."""

    def __init__(self, engine: Any) -> None:
        self.raw = engine.raw_connection()
        self.pg = engine.dialect.name == "postgresql"

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        cols = _COLUMNS[table]
        cur = self.raw.cursor()
        if self.pg:
            pg_rows = rows  # PostgreSQL's booleans from the 0/1 SQLite takes
            if table == "device_state_changes":
                pg_rows = [(d, at, bool(on)) for d, at, on in rows]
            elif table == "plays":
                pg_rows = [(*r[:8], bool(r[8]), bool(r[9]), *r[10:]) for r in rows]
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in pg_rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(rows[0]))
            sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608 - names from _COLUMNS
            cur.executemany(sql, rows)
        cur.close()
        self.raw.commit()

    def close(self) -> None:
        self.raw.close()


def timed(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return round(time.perf_counter() - t0, 3), out


def run(url: str, args: argparse.Namespace, tmp: str) -> dict[str, Any]:
    last = FIRST + timedelta(days=args.days - 1)
    clock = FrozenClock(local(last + timedelta(days=1), 9))
    cfg = build_config(
        {
            "data_dir": f"{tmp}/hub",
            "database": {"url": url},
            "mqtt": {"enabled": False},
            "programme": {"scheduler": False},
        },
        environ={},
    )
    s = build_services(cfg, clock=clock)
    s.areas.import_tree(tree(), SYSTEM)
    rng = random.Random(args.seed)  # noqa: S311 - test data, not secrets
    t_fill, counts = timed(lambda: fill(s, rng, args.devices, args.days, args.plays))
    days = [FIRST + timedelta(days=i) for i in range(args.days)]
    # every day, as the hub's background catch-up stores them (newest month first, 8 days a transaction)
    t_rollup, n_days = timed(s.stats_catchup.catch_up)
    assert n_days == len(days) + 1, n_days  # and the day the devices were registered
    t_one_day, _ = timed(lambda: rollup_days(s.ctx.db, days[-1:], s.ctx.tz, clock.now()))
    half = Period("custom", FIRST, last)
    month = Period("month", date(2026, 3, 1), date(2026, 3, 31))
    queries = {
        "province_by_district_half": ("67", "district", half),
        "district_by_commune_half": ("67/660", "commune", half),
        "commune_half": ("67/660/24000", "commune", half),
        "province_by_commune_month": ("67", "commune", month),
    }
    out: dict[str, Any] = {}
    for name, (area, level, period) in queries.items():
        cold, st = timed(
            lambda a=area, lv=level, p=period: s.stats.compute(SYSTEM, area=a, level=lv, period=p)
        )
        warm = min(
            timed(lambda a=area, lv=level, p=period: s.stats.compute(SYSTEM, area=a, level=lv, period=p))[0]
            for _ in range(3)
        )
        out[name] = {"cold_s": cold, "warm_s": warm, "planned": st.total.planned, "devices": st.total.devices}
    s.ctx.db.dispose()
    return {
        "fill_s": t_fill,
        "rollup_all_days_s": t_rollup,
        "rollup_one_day_s": t_one_day,
        "rows": counts,
        "queries": out,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=2000)
    ap.add_argument("--days", type=int, default=182)
    ap.add_argument("--plays", type=int, default=10)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.db == "sqlite":
            url = f"sqlite:///{tmp}/bench.sqlite3"
            result = run(url, args, tmp)
        else:
            name = f"nguon_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                result = run(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", args, tmp)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    print(
        json.dumps(
            {
                "bench": "stats",
                "db": args.db,
                "devices": args.devices,
                "days": args.days,
                "plays_per_day": args.plays,
                **result,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
