"""Hub roles: publish intents (the transactional outbox, hub/services/intents.py and intent_runner.py) and the
election of the publishing process (hub/election.py). The kill -9 failover with real processes and agents is
tests/e2e/test_failover.py."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text, update

from hub.app import build_services
from hub.db import Database
from hub.election import Leadership, LeadershipLost
from hub.models import PublishIntent
from hub.roles import SYSTEM
from hub.services import Services
from hub.services.intent_runner import IntentRunner
from hub.services.intents import MAX_ATTEMPTS, Recorded
from hub.services.publishing import RecordingPublisher
from hub.signing import SEQ_BLOCK, SeqAllocator
from protocol.clock import FrozenClock
from tests.hub.conftest import PG_ADMIN, SAMPLE, T0, Hub, make_config

ALERT_TOPIC = "nguon/v1/area/67/alert"


def intents_of(s: Services) -> list[PublishIntent]:
    with s.ctx.db.session() as sess:
        return list(sess.scalars(select(PublishIntent).order_by(PublishIntent.id)))


def new_leader(s: Services) -> IntentRunner:
    """Another process's runner on the same database (nothing handled yet)."""
    return IntentRunner(s.ctx, s.publishing, s.areas, lambda ids: s.send_areas(ids, force=True))


async def write_emergency(hub: Hub, text_: str = "Lũ đang lên, sơ tán ngay.") -> str:
    status, b = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={"title": "Cảnh báo lũ", "priority": "emergency", "text": text_, "targets": ["67"],
              "kinds": ["radio"]},
    )
    assert status == 201, b
    return str(b["id"])


def alerts(hub: Hub) -> list[bytes]:
    return [p for t, p, _ in hub.publisher.messages if t == ALERT_TOPIC]


async def test_an_approval_records_its_intent_and_the_leader_publishes_the_stored_bytes(hub: Hub) -> None:
    bid = await write_emergency(hub)
    # refused (a viewer may not approve): nothing recorded, nothing sent
    status, _ = await hub.call("POST", f"/api/v1/bulletins/{bid}/approve", "viewer")
    assert status == 403 and intents_of(hub.s) == [] and alerts(hub) == []
    status, out = await hub.call("POST", f"/api/v1/bulletins/{bid}/approve", "editor67")
    assert status == 200, out
    (row,) = intents_of(hub.s)
    assert row.kind == "alert" and row.params == {"bulletin": bid, "msg_type": "Alert"}
    # signed once, stored before it was sent: the bytes published are the stored ones
    assert alerts(hub) == [row.wire] and row.topics == [ALERT_TOPIC]
    await asyncio.sleep(0)  # the PUBACK callbacks
    await hub.s.intents.settle()
    assert intents_of(hub.s)[0].done_at is not None
    # a leader that died between the PUBACK and marking it done: the next one sends the same bytes again
    with hub.s.ctx.db.session() as sess:
        sess.execute(update(PublishIntent).values(done_at=None))
    assert await new_leader(hub.s).catch_up() == 1
    assert alerts(hub) == [row.wire, row.wire]


async def test_a_standby_records_and_the_next_leader_publishes_once(hub: Hub) -> None:
    hub.s.intents.leading = False  # this process stands by: its API records, it does not publish
    bid = await write_emergency(hub)
    status, _ = await hub.call("POST", f"/api/v1/bulletins/{bid}/approve", "editor67")
    assert status == 200
    status, _ = await hub.call("POST", f"/api/v1/bulletins/{bid}/recall", "editor67", json={"reason": "Nhầm"})
    assert status == 200
    assert alerts(hub) == [] and [r.kind for r in intents_of(hub.s)] == ["alert", "recall"]
    leader = new_leader(hub.s)
    assert await leader.catch_up() == 2
    first = alerts(hub)
    assert len(first) == 2  # the alert, then the recall, in the order recorded
    # a poll that raced with them, or a duplicate NOTIFY: nothing is sent twice
    for r in intents_of(hub.s):
        await leader.dispatch([])
        await leader._start(Recorded(r.id, r.kind, dict(r.params)))
    assert alerts(hub) == first
    await asyncio.sleep(0)
    await leader.settle()
    assert all(r.done_at is not None for r in intents_of(hub.s))
    assert await new_leader(hub.s).catch_up() == 0


async def test_an_intent_that_keeps_failing_is_given_up_with_its_error(hub: Hub) -> None:
    with hub.s.ctx.db.session() as sess:
        sess.add(PublishIntent(kind="alert", params={"bulletin": "b-none"}, created_at=T0, attempts=0,
                               last_error=""))
    leader = new_leader(hub.s)
    for _ in range(MAX_ATTEMPTS):
        await leader.catch_up()
        await leader.settle()
    (row,) = intents_of(hub.s)
    assert row.done_at is not None and row.attempts == MAX_ATTEMPTS and "b-none" in row.last_error


def pg_services(tmp: Path, url: str) -> tuple[Services, RecordingPublisher]:
    cfg = make_config(tmp, database={"url": url})
    publisher = RecordingPublisher()
    s = build_services(cfg, clock=FrozenClock(T0), publisher=publisher)
    return s, publisher


@pytest.mark.postgres
async def test_postgresql_notify_wakes_the_leader_and_a_lost_notify_is_polled(
    tmp_path: Path, pg_url: str
) -> None:
    s, publisher = await asyncio.to_thread(pg_services, tmp_path, pg_url)
    try:
        await asyncio.to_thread(
            s.areas.import_tree, json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM
        )
        s.intents.leading = False  # the standby's side records
        leader = new_leader(s)
        task = asyncio.create_task(leader.run(), name="leader-intents")
        try:
            await asyncio.sleep(0.5)  # LISTENing
            t0 = time.monotonic()
            await s.set_order(SYSTEM, area="67/660/24611", day=T0.date(), order=[])
            await until(lambda: leader.ran == 1, 5)
            notified = time.monotonic() - t0
            assert notified < 0.5, notified  # NOTIFY, not the 1 s poll
            # a NOTIFY lost (the row written without one): the poll finds it
            with s.ctx.db.session() as sess:
                sess.add(PublishIntent(kind="republish", params={"areas": ["67/660/24613"], "kinds": ["led"]},
                                       created_at=T0, attempts=0, last_error=""))
            await until(lambda: leader.ran == 2, 5)
            await until(lambda: all(r.done_at is not None for r in intents_of(s)), 5)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        s.ctx.db.dispose()
    del publisher


async def until(pred: Any, timeout: float) -> None:  # noqa: ASYNC109 - a deadline
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.mark.postgres
async def test_postgresql_election_one_leader_and_a_lost_lock_connection_stops_it(pg_url: str) -> None:
    first, second = Database(pg_url), Database(pg_url)
    a, b = Leadership(first), Leadership(second)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        assert await asyncio.to_thread(a.try_lead) and a.role == "leader"
        assert not await asyncio.to_thread(b.try_lead) and b.role == "standby"
        # the server cuts the leader's lock session (as when its machine stops answering keepalives)
        pid = await asyncio.to_thread(lambda: a.lock._conn.connection.dbapi_connection.info.backend_pid)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        t0 = time.monotonic()
        with pytest.raises(LeadershipLost):
            await asyncio.wait_for(a.watch(), 5)
        assert time.monotonic() - t0 < 3
        await asyncio.wait_for(b.wait_to_lead(), 3)
        assert b.role == "leader" and b.describe()["role"] == "leader"
    finally:
        a.release()
        b.release()
        first.dispose()
        second.dispose()
        admin.dispose()


async def test_a_standby_refuses_a_live_announcement_with_503_the_proxy_retries_elsewhere(hub: Hub) -> None:
    """A live feed runs in the publishing process: a standby answers 503 (code standby), nothing started."""
    hub.s.intents.leading = False
    body = {"areas": ["67"], "priority": "emergency", "title": "Thông báo khẩn"}
    status, err = await hub.call("POST", "/api/v1/live", "editor67", json=body)
    assert status == 503 and "standby" in json.dumps(err), err
    assert intents_of(hub.s) == []


@pytest.mark.postgres
def test_postgresql_a_new_leader_signs_above_every_block_ever_reserved(pg_url: str) -> None:
    """SeqAllocator reserves under a row lock: a takeover's first seq is above all the old leader's block
    (never a seq a device has seen, never a regression), and blocks never overlap."""
    first, second = Database(pg_url), Database(pg_url)
    try:
        first.migrate()
        old, new = SeqAllocator(first), SeqAllocator(second)
        seen = [old.next() for _ in range(5)]  # what devices saw from the old leader
        taken = new.next()
        assert taken > max(seen) and taken > SEQ_BLOCK  # above the old leader's whole block
        assert old.next() < taken  # (the old one, were it alive, would still be in its own block)
        assert SeqAllocator(first).next() > taken + SEQ_BLOCK - 1  # a third start: above both blocks
    finally:
        first.dispose()
        second.dispose()
