"""The statistics against figures worked out by hand (tests/hub/statsdata.py says how each is reached)."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from hub.errors import Forbidden, Invalid
from hub.models import Bulletin, DeviceStateChange
from hub.roles import SYSTEM, Actor
from hub.services.periods import Period, parse_period
from hub.services.rollups import RAW_RETENTION_DAYS, prune_raw
from hub.services.stats import percentile
from hub.stat_models import StatPlayMonth, StatRollupDay
from hub.stats_tables import tables
from hub.tasks import OwnedTasks
from tests.hub.conftest import Hub, make_config, running_hub
from tests.hub.statsdata import D2, local, seed

PERIOD = Period("custom", date(2026, 11, 23), date(2026, 11, 24))
D_NOV1, D_NOV30 = date(2026, 11, 1), date(2026, 11, 30)
Q = "period=custom&from=2026-11-23&to=2026-11-24"


async def test_figures_of_a_known_set_of_events(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    st = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD)
    a = {c.path: c for c in st.communes}
    nd, nt = a["67/660/24611"], a["67/660/24613"]
    # plays: P1 completed, P2 skipped, P3 failed, P4 completed (across midnight, counted on D1), P7 completed;
    # P6 started before the period: not counted, but its 30 s in D1 are air time
    assert (nd.planned, nd.completed, nd.skipped, nd.failed, nd.interrupted) == (5, 3, 1, 1, 0)
    assert nd.share_as_planned == pytest.approx(0.6)
    assert nd.air_morning_ms == (120 + 30 + 60 + 40) * 1000  # P1, P6's piece, P4's D2 piece, P7
    assert nd.air_evening_ms == 60 * 1000  # P4's D1 piece
    assert (nt.planned, nt.completed, nt.share_as_planned) == (2, 2, 1.0)
    assert (nt.air_morning_ms, nt.air_evening_ms) == (30_000, 180_000)
    # availability: loa-a 23 h + 22.5 h, bang-b 48 h, of 96 h; loa-c 12 h of 48 h
    assert (nd.devices, nd.radio, nd.led) == (2, 1, 1)
    assert (nd.observed_s, nd.online_s) == (4 * 86_400, 82_800 + 81_000 + 172_800)
    assert nd.availability == pytest.approx(336_600 / 345_600)
    assert (nd.outages, nd.recovered, nd.recover_s, nd.mean_recover_s) == (1, 1, 9_000, 9_000)
    assert nd.shown_s == 120
    assert (nt.online_s, nt.outages, nt.recovered) == (43_200, 0, 0)
    assert nt.availability == pytest.approx(0.25)
    # problems by kind
    assert st.problems == {"not_sent": 1, "offline": 1, "rejected": 1}
    assert (nd.problems, nt.problems) == (2, 1)
    # a commune with no devices: present, nothing to divide by, ranked after those with devices
    empty = a["67/661/24658"]
    assert (empty.devices, empty.planned, empty.share_as_planned, empty.availability) == (0, 0, None, None)
    assert [c.path for c in st.communes[:2]] == ["67/660/24611", "67/660/24613"]
    assert len(st.communes) == 7
    # emergency reach: loa-a after 20 s, loa-c after 90 s
    r = st.reach["emergency"]
    assert (r.bulletins, r.targets, r.within, r.played) == (1, 2, 1, 2)
    assert r.share_within == 0.5
    assert (r.median_ms, r.p95_ms) == (55_000, 90_000)
    assert st.reach["exercise"].targets == 0
    # bulletins approved in the period: E1 and the exercise X1 (N1, N2 were approved before)
    assert st.bulletins["priority"] == {"emergency": 2}
    assert st.bulletins["kind"] == {"emergency": 1, "exercise": 1}
    assert st.bulletins["origin"] == {"province": 2}
    # totals and the district level
    assert (st.total.planned, st.total.completed, st.total.devices) == (7, 5, 3)
    by_district = hub.s.stats.compute(SYSTEM, area="67", level="district", period=PERIOD)
    assert [g.path for g in by_district.groups] == ["67/660", "67/661", "67/662"]
    assert (by_district.groups[0].planned, by_district.groups[1].planned) == (7, 0)


async def test_days_are_stored_once_and_read_back_the_same(hub: Hub) -> None:
    seed(hub.s, hub.clock, rolled_up=False)
    assert hub.s.stats_catchup.catch_up() == 3  # D0 (registration), D1, D2; today (D3) is never stored
    first = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD).to_dict()
    with hub.s.ctx.db.session() as sess:
        assert set(sess.scalars(select(StatRollupDay.day))) == {"2026-11-22", "2026-11-23", "2026-11-24"}
    assert first["pending"] == []
    again = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD).to_dict()
    assert {k: v for k, v in again.items() if k != "generated_at"} == {
        k: v for k, v in first.items() if k != "generated_at"
    }
    assert hub.s.stats_catchup.catch_up() == 0  # nothing left
    assert hub.s.rollup_recent() == 7  # the midnight job recomputes the last days: same figures
    third = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD).to_dict()
    assert third["communes"] == first["communes"]


async def test_whole_months_read_from_the_monthly_rollup_give_the_same_figures(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    month = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=Period("month", D_NOV1, D_NOV30))
    with hub.s.ctx.db.session() as sess:  # November is read from its monthly rows: they exist and add up
        n = sess.scalar(select(func.sum(StatPlayMonth.plays)).where(StatPlayMonth.month == "2026-11"))
        assert n == 8  # P1-P8 (P6 on D0), today's none
    # the same days from the daily rows only (22-25 November is not a whole month): the same figures
    days = hub.s.stats.compute(
        SYSTEM, area="67", level="commune", period=Period("custom", date(2026, 11, 22), date(2026, 11, 25))
    )
    assert [c.to_dict() for c in month.communes] == [c.to_dict() for c in days.communes]
    assert month.total.to_dict() == {**days.total.to_dict()}
    assert month.total.planned == 8 and month.total.devices == 3


async def test_a_query_during_the_catch_up_answers_at_once_and_says_which_days_are_pending(hub: Hub) -> None:
    seed(hub.s, hub.clock, rolled_up=False)
    woken: list[int] = []
    hub.s.stats.catch_up = lambda: woken.append(1)  # the running task's wake-up, recorded
    t0 = time.perf_counter()
    st = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD)
    assert time.perf_counter() - t0 < 5
    assert st.pending == ["2026-11-23", "2026-11-24"] and woken == [1]
    assert st.total.planned == 0  # nothing of the pending days is counted, nothing was stored
    with hub.s.ctx.db.session() as sess:
        assert list(sess.scalars(select(StatRollupDay.day))) == []
    status, body = await hub.call("GET", f"/api/v1/stats?{Q}", "viewer")
    assert status == 200 and body["pending"] == ["2026-11-23", "2026-11-24"]
    # the background task, running: it stores the pending days, then the same query has them all
    async with OwnedTasks("t") as tasks:
        tasks.start("stats-catchup", hub.s.stats_catchup.run())
        for _ in range(200):
            if hub.s.stats_catchup.done:
                break
            await asyncio.sleep(0.05)
        assert tasks.dead() == {}
    after = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD)
    assert after.pending == [] and after.total.planned == 7


async def test_today_is_computed_from_the_raw_events(hub: Hub) -> None:
    seed(hub.s, hub.clock, rolled_up=False)
    hub.clock.set(local(D2, 12))  # D2 is today, at noon: loa-a online since 01:30, loa-c came at 12:00
    st = hub.s.stats.compute(
        SYSTEM,
        area="67/660/24611",
        level="commune",
        period=Period("day", date(2026, 11, 24), date(2026, 11, 24)),
    )
    assert st.period.first == date(2026, 11, 24)
    (c,) = st.communes
    assert (c.observed_s, c.online_s) == (2 * 12 * 3600, 10.5 * 3600 + 12 * 3600)
    with hub.s.ctx.db.session() as sess:
        assert "2026-11-24" not in set(sess.scalars(select(StatRollupDay.day)))  # today is not stored


async def test_scope_is_the_callers_area(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    chair = Actor(user_id=None, username="chair", role="commune_chair", area_path="67/660/24613")
    st = hub.s.stats.compute(chair, area=None, level=None, period=PERIOD)
    assert st.area == "67/660/24613"
    assert [c.path for c in st.communes] == ["67/660/24613"]
    assert st.total.planned == 2
    with pytest.raises(Forbidden):
        hub.s.stats.compute(chair, area="67/660", level=None, period=PERIOD)
    with pytest.raises(Invalid):
        hub.s.stats.compute(SYSTEM, area="67/660", level="province", period=PERIOD)


def test_periods() -> None:
    today = date(2026, 11, 30)
    assert parse_period("half", anchor="2026-03-04", first=None, last=None, today=today) == Period(
        "half", date(2026, 1, 1), date(2026, 6, 30)
    )
    assert parse_period("half", anchor=None, first=None, last=None, today=today).first == date(2026, 7, 1)
    assert parse_period("week", anchor="2026-11-26", first=None, last=None, today=today) == Period(
        "week", date(2026, 11, 23), date(2026, 11, 29)
    )
    assert parse_period("month", anchor="2026-12-09", first=None, last=None, today=today).last == date(
        2026, 12, 31
    )
    assert parse_period("half", anchor="2026-09-01", first=None, last=None, today=today).label == (
        "6 tháng cuối năm 2026"
    )
    for kind, anchor, first, last in (
        ("year", None, None, None),
        ("day", "2026-13-01", None, None),
        ("day", "x" * 5000, None, None),
        ("custom", None, "2026-01-01", None),
        ("custom", None, "2026-02-01", "2026-01-01"),
        ("custom", None, "2024-01-01", "2026-01-01"),
        ("day", "1900-01-01", None, None),
    ):
        with pytest.raises(Invalid):
            parse_period(kind, anchor=anchor, first=first, last=last, today=today)


def test_percentile_nearest_rank() -> None:
    assert percentile([], 0.95) is None
    assert percentile([5], 0.95) == 5
    assert percentile(list(range(1, 101)), 0.95) == 95


async def test_raw_events_past_retention_are_deleted_after_their_day_is_rolled_up(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    hub.clock.set(local(D2, 10) + timedelta(days=RAW_RETENTION_DAYS + 2))  # D1, D2 now past retention
    before = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD)
    with hub.s.ctx.db.session() as sess:  # the figures were stored when asked; forget them to test the prune
        sess.execute(delete(StatRollupDay))
    deleted = prune_raw(hub.s.ctx.db, hub.s.ctx.tz, hub.s.ctx.now())
    assert deleted["plays"] == 8 and deleted["device_events"] == 1
    with hub.s.ctx.db.session() as sess:  # each device keeps its last change (its state)
        kept = sess.execute(select(DeviceStateChange.device_id, DeviceStateChange.online)).all()
    assert sorted(kept) == [("bang-b", True), ("loa-a", True), ("loa-c", True)]
    after = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD)
    assert [c.to_dict() for c in after.communes] == [c.to_dict() for c in before.communes]
    assert after.reach == before.reach and after.problems == before.problems


@pytest.mark.postgres
async def test_the_same_figures_on_postgresql(tmp_path: Path, pg_url: str, hub: Hub) -> None:
    """The set-based roll-up (SQL air time, month sums) gives PostgreSQL the same figures as SQLite."""
    seed(hub.s, hub.clock)
    month = Period("month", D_NOV1, D_NOV30)
    want = [hub.s.stats.compute(SYSTEM, area="67", level="commune", period=p) for p in (PERIOD, month)]
    async with running_hub(make_config(tmp_path / "pg", database={"url": pg_url})) as pg:
        seed(pg.s, pg.clock)
        got = [pg.s.stats.compute(SYSTEM, area="67", level="commune", period=p) for p in (PERIOD, month)]
    for w, g in zip(want, got, strict=True):
        assert [c.to_dict() for c in g.communes] == [c.to_dict() for c in w.communes]
        assert (g.reach, g.problems, g.bulletins, g.pending) == (w.reach, w.problems, w.bulletins, w.pending)
        assert g.windows == w.windows and g.windows
    assert got[0].total.air_morning_ms == (120 + 30 + 60 + 40 + 30) * 1000


async def test_air_time_per_broadcast_window(hub: Hub) -> None:
    """The regulation's windows (no rule set): radio 05:00-06:30 and 17:00-18:30. P1 (loa-a, D1 05:00-05:02)
    is 120 s in the morning window, P5 (loa-c, D2 17:00-17:03) 180 s in the evening one; P4 (the LED board,
    23:59-00:01), P6, P7, P8 are outside every window: 24611 has 310 s on air, 190 s outside."""
    seed(hub.s, hub.clock)
    st = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD)
    assert st.windows == {
        ("67/660/24611", "radio", "05:00-06:30"): 120_000,
        ("67/660/24613", "radio", "17:00-18:30"): 180_000,
    }
    month = hub.s.stats.compute(SYSTEM, area="67", level="district", period=Period("month", D_NOV1, D_NOV30))
    assert month.windows == {
        ("67/660", "radio", "05:00-06:30"): 120_000,
        ("67/660", "radio", "17:00-18:30"): 180_000,
    }
    table = {t.key: t for t in tables(st)}["windows"]
    assert ["Phường Nghĩa Đức", "Đài truyền thanh", "05:00-06:30", 0.03] in table.rows
    outside = [r for r in table.rows if r[1] == "—"]
    assert [r[3] for r in outside] == [round(190 / 3600, 2), round(30 / 3600, 2)]
    assert {"group": "67/660/24613", "kind": "radio", "window": "17:00-18:30", "air_ms": 180_000} in (
        st.to_dict()["windows"]
    )


async def test_a_local_language_version_is_air_time_of_the_same_item_not_a_second_play(hub: Hub) -> None:
    """N2 gets an Ê Đê version: loa-c reports its Vietnamese part (P5, 17:00-17:03) and then the Ê Đê part
    (17:03-17:05). 24613 still has 2 items planned and 2 completed; its evening air time is 180 s + 120 s;
    the bulletin's delivery page counts one play for loa-c."""
    seed(hub.s, hub.clock, rolled_up=False)
    with hub.s.ctx.db.session() as sess:
        n2 = sess.get(Bulletin, "N2")
        assert n2 is not None
        n2.language_versions = [{"language": "rad", "media": "a" * 64}]
    part = {
        "bulletin_id": "N2",
        "outcome": "completed",
        "language": "rad",
        "scheduled_at": local(D2, 17, 3).isoformat(),
        "started_at": local(D2, 17, 3).isoformat(),
        "ended_at": local(D2, 17, 5).isoformat(),
    }
    assert hub.s.devices.ingest_events("loa-c", [{"id": "p5-rad", "type": "play", "data": part}]) == 1
    hub.s.stats_catchup.catch_up()
    st = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=PERIOD)
    nt = {c.path: c for c in st.communes}["67/660/24613"]
    assert (nt.planned, nt.completed, nt.share_as_planned) == (2, 2, 1.0)
    assert (nt.air_morning_ms, nt.air_evening_ms) == (30_000, 180_000 + 120_000)
    rows = {r["device_id"]: r for r in hub.s.deliveries.deliveries(SYSTEM, "N2")["devices"]}
    assert rows["loa-c"]["plays"] == 1
