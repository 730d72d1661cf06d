"""The midnight job on an injected clock: new day, expired emergencies out, bulletins finished; one leader."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hub import scheduler
from hub.app import build_services
from hub.models import Bulletin
from hub.roles import SYSTEM
from hub.scheduler import MidnightScheduler, next_midnight
from hub.services.publishing import RecordingPublisher
from hub.tasks import OwnedTasks
from protocol.clock import FrozenClock
from protocol.envelope import Verifier
from protocol.messages import ProgrammeBody
from tests.hub.conftest import SAMPLE, T0, Hub, make_config

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AFTER_MIDNIGHT = datetime(2026, 11, 24, 0, 0, 5, tzinfo=TZ)


def latest(hub: Hub, area: str = "67/660/24613", kind: str = "radio") -> ProgrammeBody:
    v = Verifier([hub.s.envelopes.key.public])
    wires = [
        w for t, w, retained in hub.publisher.messages if retained and t.endswith(f"{area}/program/{kind}")
    ]
    return ProgrammeBody.from_dict(dict(v.verify(wires[-1], now=hub.clock.now()).body))


async def approved(hub: Hub, **body: object) -> str:
    data = {"text": "Nội dung thông báo.", "targets": ["67/660"], "kinds": ["radio"], **body}
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=data)
    assert status == 201, b
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200, b
    return str(b["id"])


async def test_midnight_rolls_the_programme_over(hub: Hub) -> None:
    emergency = await approved(
        hub, title="Cảnh báo", priority="emergency", valid_until="2026-11-23T20:00:00+07:00"
    )
    today_only = await approved(
        hub, title="Hôm nay", priority="priority", valid_until="2026-11-23T23:00:00+07:00"
    )
    lasting = await approved(
        hub, title="Ba ngày", priority="priority", valid_until="2026-11-26T23:00:00+07:00"
    )
    await hub.s.publishing.flush()
    before = latest(hub)
    assert before.emergencies == [emergency] and before.days[0].date == "2026-11-23"
    assert today_only in {i.bulletin_id for i in before.days[0].items}

    hub.clock.set(AFTER_MIDNIGHT)
    job = MidnightScheduler(hub.s)
    assert await job.run_now() is True  # the scheduled job's own function, called directly
    after = latest(hub)
    assert after.version > before.version
    assert [d.date for d in after.days] == ["2026-11-24", "2026-11-25", "2026-11-26"]
    assert after.emergencies == [] and emergency not in {b.id for b in after.bulletins}
    scheduled = {i.bulletin_id for d in after.days for i in d.items}
    assert today_only not in scheduled and lasting in scheduled
    with hub.s.ctx.db.session() as sess:  # stored, not only shown: reports and filters see it
        assert sess.get(Bulletin, today_only).status == "finished"  # type: ignore[union-attr]
        assert sess.get(Bulletin, emergency).status == "finished"  # type: ignore[union-attr]
        assert sess.get(Bulletin, lasting).status == "approved"  # type: ignore[union-attr]
    hub.tokens.clear()  # 20 h later the morning tokens have expired
    status, listed = await hub.call("GET", "/api/v1/bulletins?status=finished", "editor67")
    assert status == 200 and {b["id"] for b in listed["bulletins"]} == {emergency, today_only}
    assert [e["detail"] for e in hub.s.audit(SYSTEM, action="programme.midnight")] == [
        {"finished": 2, "communes": len(hub.s.areas.leaves()), "rolled_up": 7, "media_deleted": 0}
    ]


def test_next_midnight_follows_the_hub_clock() -> None:
    assert next_midnight(datetime(2026, 11, 23, 23, 59, tzinfo=TZ), TZ) == AFTER_MIDNIGHT
    assert next_midnight(datetime(2026, 11, 23, 16, 59, 0, tzinfo=UTC), TZ) == AFTER_MIDNIGHT
    assert next_midnight(datetime(2026, 11, 24, 0, 0, 1, tzinfo=TZ), TZ) == AFTER_MIDNIGHT
    assert next_midnight(AFTER_MIDNIGHT, TZ) == datetime(2026, 11, 25, 0, 0, 5, tzinfo=TZ)


async def test_scheduled_at_the_hub_clocks_midnight(hub: Hub) -> None:
    hub.clock.set(datetime(2026, 11, 23, 23, 59, tzinfo=TZ))  # a shifted (demo) clock: 65 s to midnight
    job = MidnightScheduler(hub.s)
    assert job.next_run_time() is None  # nothing planned until the task runs
    async with OwnedTasks("test") as tasks:
        tasks.start("midnight", job.run())
        await asyncio.sleep(0)
        when = job.next_run_time()
        assert when is not None
        assert 60 < (when - datetime.now(UTC)).total_seconds() <= 65
    assert job.next_run_time() is None and tasks.dead() == {}


async def test_the_owned_task_runs_the_job_once_the_hub_clock_passes_midnight(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler, "LOOK_AGAIN_S", 0.02)  # the frozen clock only moves when the test sets it
    hub.clock.set(datetime(2026, 11, 23, 23, 59, tzinfo=TZ))
    job = MidnightScheduler(hub.s)
    async with OwnedTasks("test") as tasks:
        tasks.start("midnight", job.run())
        await asyncio.sleep(0.1)
        assert job.runs == 0  # not yet midnight on the hub's clock
        hub.clock.set(AFTER_MIDNIGHT)
        for _ in range(250):
            if job.runs:
                break
            await asyncio.sleep(0.02)
        assert job.runs == 1
        await asyncio.sleep(0.1)
        assert job.runs == 1 and tasks.running("midnight")  # once a night; the next is tomorrow's
        when = job.next_run_time()
        assert when is not None and 86390 < (when - datetime.now(UTC)).total_seconds() <= 86400
    assert len(hub.s.audit(SYSTEM, action="programme.midnight")) == 1


def test_one_leader_with_postgresql(tmp_path: Path, pg_url: str) -> None:
    import asyncio  # noqa: PLC0415

    async def main() -> None:
        hubs = []
        for i in range(2):
            cfg = make_config(tmp_path / f"h{i}", database={"url": pg_url})
            pub = RecordingPublisher()
            s = build_services(cfg, clock=FrozenClock(T0), publisher=pub)
            if i == 0:
                s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
            hubs.append((s, pub, MidnightScheduler(s)))
        (_, pub1, job1), (_, pub2, job2) = hubs
        try:
            assert await job1.run_now() is True
            assert await job2.run_now() is False and pub2.messages == []
            assert await job1.run_now() is True  # still the leader on the next night
            n1 = len(pub1.messages)
            assert n1 > 0
            job1.release()  # the leader goes away: the other takes over
            assert await job2.run_now() is True and len(pub2.messages) == n1 // 2
        finally:
            for s, _, job in hubs:
                job.release()
                s.ctx.db.dispose()

    asyncio.run(main())
