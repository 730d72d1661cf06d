"""The device lists in SQL (hub/services/device_list.py) agree with the rules in Python: a device needs
attention in SQL exactly when device_problems lists a problem, the sorts order as the web list's keys
did, the search finds what hub.search finds, and the per-area counts add up. One filled province with
every kind of problem (offline, silent, rejected, anomalies, late programme, clock, outbox, disk, heat)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from hub.db import Database
from hub.models import Area, Device, DeviceAnomaly, DeviceEventRow, PublishedProgramme
from hub.roles import SYSTEM, Actor
from hub.search import matches, search_words
from hub.services import Services
from hub.services.device_list import DeviceFilter, map_points
from hub.services.device_views import map_state
from protocol.clock import FrozenClock
from protocol.topics import covers
from tests.dbfill import fill_province
from tests.web.conftest import T0, make_services

OPER_660 = Actor(user_id=None, username="oper660", role="operator", area_path="67/660")


@pytest.fixture(scope="module")
def prov(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, FrozenClock]]:
    clock = FrozenClock(T0)
    s = make_services(Path(tmp_path_factory.mktemp("devlist")), clock)
    fill_province(s, clock.now(), devices=400, bulletins=10, audit=10, plays=10)
    ids = sorted(d["id"] for d in s.devices.list(SYSTEM))
    now = clock.now()
    # statuses that show a problem by themselves (stored through the service: the summary follows)
    s.devices.ingest_statuses(
        {
            ids[1]: {"state": "idle", "clock": "synced", "disk_free_mb": 20},
            ids[2]: {"state": "idle", "clock": "synced", "temperature_c": 80},
            ids[3]: {"state": "idle", "clock": "synced", "outbox": 500},
            ids[4]: {"state": "playing", "clock": "synced", "programme_version": 2},
            ids[-1]: {"state": "idle", "clock": "synced", "programme_version": 7},
            ids[6]: {"state": "idle", "clock": "synced", "disk_free_mb": 900, "temperature_c": 40},
        }
    )
    d4 = next(d for d in s.devices.list(SYSTEM) if d["id"] == ids[4])
    d5 = next(d for d in s.devices.list(SYSTEM) if d["id"] == ids[-1])
    with s.ctx.db.session() as sess:
        for d, v in ((d4, 3), (d5, 7)):  # ids[4] is behind, ids[-1] (elsewhere) is up to date
            sess.add(
                PublishedProgramme(
                    area_path=d["area"],
                    kind=d["kind"],
                    version=v,
                    body={},
                    published_at=now - timedelta(hours=1),
                )
            )
        sess.add(
            DeviceEventRow(
                event_id="e-rej-1",
                device_id=ids[7],
                type="rejected",
                at=now,
                data={"reason": "expired"},
                received_at=now - timedelta(hours=1),
            )
        )
        sess.add(  # too old to count
            DeviceEventRow(
                event_id="e-rej-2",
                device_id=ids[8],
                type="rejected",
                at=now,
                data={"reason": "expired"},
                received_at=now - timedelta(hours=30),
            )
        )
        sess.add(DeviceAnomaly(device_id=ids[9], code="malformed", received_at=now - timedelta(minutes=5)))
        sess.execute(  # silent: online but no status for ten minutes
            update(Device).where(Device.id == ids[10]).values(last_seen=now - timedelta(minutes=10))
        )
        sess.execute(update(Device).where(Device.id == ids[11]).values(last_seen=None))  # never seen
    yield s, clock
    s.ctx.db.dispose()


def python_rows(s: Services, actor: Actor) -> list[dict[str, Any]]:
    names = {p: a.name for p, a in s.areas.all().items()}
    return [{**d, "area_vi": names.get(d["area"], d["area"])} for d in s.devices.list(actor)]


PY_SORTS = {  # the keys the web list sorted by in Python before issue 19's SQL
    "attention": lambda d: (not d["problems"], d["online"], d["area_vi"], d["id"]),
    "id": lambda d: d["id"],
    "area": lambda d: (d["area_vi"], d["id"]),
    "seen": lambda d: (d["last_seen"] or "", d["id"]),
}


def sql_ids(s: Services, actor: Actor, f: DeviceFilter, **kw: Any) -> list[str]:
    rows, total = s.devices.page(actor, f, per_page=10_000, **kw)
    assert total == len(rows)
    return [d["id"] for d in rows]


@pytest.mark.parametrize("actor", [SYSTEM, OPER_660], ids=["province", "district"])
def test_attention_in_sql_is_device_problems(prov: tuple[Services, FrozenClock], actor: Actor) -> None:
    s, _ = prov
    rows = python_rows(s, actor)
    wanted = sorted(d["id"] for d in rows if d["problems"])
    assert sorted(sql_ids(s, actor, DeviceFilter(state="attention"))) == wanted
    codes = {p["code"] for d in rows for p in d["problems"]}
    if actor is SYSTEM:  # every kind of problem is in the data set, so each rule was compared
        assert codes >= {
            "offline",
            "silent",
            "rejected",
            "anomaly",
            "programme",
            "clock",
            "outbox",
            "disk",
            "hot",
        }
    assert sorted(sql_ids(s, actor, DeviceFilter(state="online"))) == sorted(
        d["id"] for d in rows if d["online"]
    )
    assert sorted(sql_ids(s, actor, DeviceFilter(state="offline"))) == sorted(
        d["id"] for d in rows if not d["online"]
    )
    counts = s.devices.count_by_area(actor)
    for area in {d["area"] for d in rows}:
        here = [d for d in rows if d["area"] == area]
        assert counts[area] == (
            len(here),
            sum(d["online"] for d in here),
            sum(bool(d["problems"]) for d in here),
        )
    assert sum(n for n, _, _ in counts.values()) == len(rows)


def test_a_device_is_fine_again_when_time_passes(prov: tuple[Services, FrozenClock]) -> None:
    """The rejection's 24 hours end: the SQL rule moves with the clock, as device_problems does."""
    s, clock = prov
    before = set(sql_ids(s, SYSTEM, DeviceFilter(state="attention")))
    clock.advance(23 * 3600)
    try:
        after = set(sql_ids(s, SYSTEM, DeviceFilter(state="attention")))
        assert after == {d["id"] for d in s.devices.list(SYSTEM) if d["problems"]}
        assert after != before  # everything went silent meanwhile, and the rejection has expired
    finally:
        clock.set(T0)


@pytest.mark.parametrize("sort", sorted(PY_SORTS))
@pytest.mark.parametrize("desc", [False, True])
def test_sorts_and_pages_in_sql(prov: tuple[Services, FrozenClock], sort: str, desc: bool) -> None:
    s, _ = prov
    wanted = [d["id"] for d in sorted(python_rows(s, SYSTEM), key=PY_SORTS[sort], reverse=desc)]
    assert sql_ids(s, SYSTEM, DeviceFilter(), sort=sort, desc=desc) == wanted
    page3, total = s.devices.page(SYSTEM, DeviceFilter(), sort=sort, desc=desc, page_no=3, per_page=50)
    assert total == len(wanted) and [d["id"] for d in page3] == wanted[100:150]
    last, _ = s.devices.page(SYSTEM, DeviceFilter(), sort=sort, desc=desc, page_no=999, per_page=50)
    assert [d["id"] for d in last] == wanted[(len(wanted) - 1) // 50 * 50 :]  # past the end: the last page


@pytest.mark.parametrize("q", ["loa", "LOA 24613", "cụm loa 3", "bang-", "hoa binh", "xã", "100%_", "zzz"])
def test_search_in_sql_is_hub_search(prov: tuple[Services, FrozenClock], q: str) -> None:
    s, _ = prov
    words = search_words(q)
    wanted = sorted(
        d["id"] for d in python_rows(s, SYSTEM) if matches(words, d["id"], d["name"], d["area_vi"])
    )
    assert sorted(sql_ids(s, SYSTEM, DeviceFilter(q=q))) == wanted
    kinds = sorted(sql_ids(s, SYSTEM, DeviceFilter(q=q, kind="led", area="67/660")))
    assert kinds == sorted(
        i for i in wanted if i.startswith("bang-") and covers("67/660", s.devices.get(SYSTEM, i).area_path)
    )


def test_summary_follows_each_new_status(prov: tuple[Services, FrozenClock]) -> None:
    s, _ = prov
    dev = sorted(d["id"] for d in s.devices.list(SYSTEM))[20]
    s.devices.ingest_status(dev, {"state": "idle", "clock": "synced", "temperature_c": 90})
    assert dev in sql_ids(s, SYSTEM, DeviceFilter(q=dev, state="attention"))
    s.devices.ingest_status(dev, {"state": "idle", "clock": "synced", "temperature_c": 30})
    assert dev not in sql_ids(s, SYSTEM, DeviceFilter(q=dev, state="attention"))


@pytest.mark.parametrize("actor", [SYSTEM, OPER_660], ids=["province", "district"])
def test_map_state_in_sql_is_the_rule_on_device_dict(
    prov: tuple[Services, FrozenClock], actor: Actor
) -> None:
    """The Bản đồ reads each device's state in SQL (device_list.map_points): the same as map_state on the
    full device_dict, for every device, with something playing by its state and by its now_playing."""
    s, _ = prov
    ids = sorted(d["id"] for d in s.devices.list(SYSTEM))
    s.devices.ingest_statuses(
        {
            ids[30]: {"state": "idle", "clock": "synced", "now_playing": "b-1"},
            ids[31]: {"state": "emergency", "clock": "synced"},
            ids[32]: {"state": "idle", "clock": "synced", "now_playing": ""},
        }
    )
    wanted = {d["id"]: map_state(d) for d in s.devices.list(actor)}
    got = {d["id"]: d["map_state"] for d in s.devices.map_points(actor)}
    assert got == wanted
    if actor is SYSTEM:
        assert set(got.values()) == {"offline", "attention", "playing", "idle"}
        assert got[ids[30]] == got[ids[31]] == "playing" and got[ids[32]] == "idle"
    area = "67/660/24613"
    assert {d["id"] for d in s.devices.map_points(actor, area)} == {
        i for i in wanted if covers(area, s.devices.get(SYSTEM, i).area_path)
    }


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_map_points_read_now_playing_on_both_databases(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The map's playing state reads the status's now_playing in SQL (JSON: json_extract / ->>)."""
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}" if engine == "sqlite" else request.getfixturevalue("pg_url")
    db = Database(url)
    db.migrate()
    now = T0
    try:
        with db.session() as sess:
            sess.add(Area(path="67", code="67", name="Tỉnh", level="province", parent_path=None, depth=0))
            for dev, state, st in (
                ("loa-a", "idle", {"now_playing": "b-1"}),
                ("loa-b", "idle", {"now_playing": None}),
                ("loa-c", "idle", {}),
                ("loa-d", "emergency", {}),
                ("loa-e", "offline", {"now_playing": "b-1"}),
                ("loa-f", "idle", {"now_playing": "b-1", "temperature_c": 90}),
            ):
                sess.add(Device(id=dev, kind="radio", area_path="67", state=state, last_status=st,
                                last_seen=now, created_at=now))
        with db.session() as sess:
            got = {d["id"]: d["map_state"] for d in map_points(sess, SYSTEM, "", now)}
        assert got == {"loa-a": "playing", "loa-b": "idle", "loa-c": "idle", "loa-d": "playing",
                       "loa-e": "offline", "loa-f": "attention"}
    finally:
        db.dispose()
