"""A known set of device reports for the statistics tests, with the figures worked out by hand.

Local time is UTC+7. Devices are registered on D0 = 22 November 2026 at 23:00; the period is D1..D2
(23 and 24 November); the figures are read on D3 at 10:00.

- loa-a (radio, 24611): online from registration; offline at D1 23:00, back at D2 01:30 (an outage across
  midnight: 2.5 h). Plays: P6 completed D0 23:59:30-D1 00:00:30 (before the period: not counted, 30 s of air
  in D1); P1 completed D1 05:00-05:02; P2 skipped (due D1 17:00); P3 failed (D1 17:05); P7 the emergency
  E1 at D2 10:00:20-10:01:00 (20 s after sending).
- bang-b (LED, 24611): online throughout. P4 completed D1 23:59:00-D2 00:01:00 (counted on D1, 60 s of air
  in each day, shown 120 s).
- loa-c (radio, 24613): silent until D2 12:00 (no outage: never online before). P8 the emergency at D2
  10:01:30-10:02:00 (90 s: after 60 s; a play report is believed even from a device that shows offline);
  P5 completed D2 17:00-17:03.
- Communes 24631, 24658, 24661, 24673, 24676 have no devices (7 communes in all).
- Problems: loa-a's outage (offline, 24611), one refused message from loa-c on D2 (rejected, 24613), one
  play of a bulletin never sent to loa-a on D1 (not_sent, 24611).
- Bulletins approved in the period: E1 (emergency, province, radio, D2 10:00), X1 (an exercise, 67/661,
  no devices there, D1 12:00). N1 and N2 were approved on D0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.models import Bulletin, BulletinTarget
from hub.roles import SYSTEM

D0 = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)  # 22 Nov 23:00 local
D1 = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # 23 Nov 00:00 local
D2 = D1 + timedelta(days=1)
D3 = D2 + timedelta(days=1)


def local(day: datetime, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A local time (UTC+7) on the local day that starts at `day`."""
    return day + timedelta(hours=hh, minutes=mm, seconds=ss)


def _bulletin(
    db: Any,
    bid: str,
    *,
    priority: str,
    origin: str,
    targets: list[str],
    kinds: list[str],
    at: datetime,
    exercise: bool = False,
) -> None:
    with db.session() as sess:
        sess.add(
            Bulletin(
                id=bid,
                title=f"Bản tin {bid}",
                priority=priority,
                form="text",
                origin=origin,
                status="approved",
                kinds=kinds,
                targets=[BulletinTarget(area_path=t) for t in targets],
                text="Thông báo",
                duration_ms=60_000,
                plays_per_day=1,
                repeat={},
                version=1,
                exercise=exercise,
                created_at=at,
                updated_at=at,
                approved_at=at,
            )
        )


def _play(
    s: Any,
    dev: str,
    eid: str,
    bid: str,
    outcome: str,
    *,
    started: datetime | None = None,
    ended: datetime | None = None,
    scheduled: datetime | None = None,
) -> None:
    data = {
        "bulletin_id": bid,
        "outcome": outcome,
        "scheduled_at": (scheduled or started or D0).isoformat(),
        "started_at": started.isoformat() if started else None,
        "ended_at": ended.isoformat() if ended else None,
    }
    assert s.devices.ingest_events(dev, [{"id": eid, "type": "play", "data": data}]) == 1


def _status(s: Any, clock: Any, at: datetime, dev: str, state: str) -> None:
    clock.set(at)
    s.devices.ingest_status(dev, {"device_id": dev, "state": state, "at": at.isoformat()})


def seed(s: Any, clock: Any, *, rolled_up: bool = True) -> None:
    """Register the devices and feed the reports above through the hub's ingest path; then (unless
    `rolled_up` is false) store the past days' roll-ups as the hub's background catch-up does."""
    db = s.ctx.db
    clock.set(D0)
    for dev, kind, area in (
        ("loa-a", "radio", "67/660/24611"),
        ("bang-b", "led", "67/660/24611"),
        ("loa-c", "radio", "67/660/24613"),
    ):
        s.devices.register(SYSTEM, device_id=dev, kind=kind, area=area)
    _status(s, clock, D0, "loa-a", "idle")
    _status(s, clock, D0, "bang-b", "idle")
    _bulletin(
        db,
        "N1",
        priority="normal",
        origin="province",
        targets=["67"],
        kinds=["radio", "led"],
        at=D0 - timedelta(hours=1),
    )
    _bulletin(
        db,
        "N2",
        priority="priority",
        origin="district",
        targets=["67/660"],
        kinds=["radio", "led"],
        at=D0 - timedelta(hours=1),
    )
    _bulletin(
        db,
        "X1",
        priority="emergency",
        origin="province",
        targets=["67/661"],
        kinds=["radio"],
        at=local(D1, 12),
        exercise=True,
    )
    _status(s, clock, local(D1, 23), "loa-a", "offline")
    _status(s, clock, local(D2, 1, 30), "loa-a", "idle")
    _bulletin(
        db, "E1", priority="emergency", origin="province", targets=["67"], kinds=["radio"], at=local(D2, 10)
    )
    _status(s, clock, local(D2, 12), "loa-c", "idle")
    clock.set(local(D1, 6))
    _play(
        s,
        "loa-a",
        "p6",
        "N1",
        "completed",
        started=local(D1 - timedelta(days=1), 23, 59, 30),
        ended=local(D1, 0, 0, 30),
    )
    _play(s, "loa-a", "p1", "N1", "completed", started=local(D1, 5), ended=local(D1, 5, 2))
    assert (
        s.devices.ingest_events("loa-a", [{"id": "bad", "type": "play", "data": {"bulletin_id": "E404"}}])
        == 0
    )
    clock.set(local(D1, 23, 30))
    _play(s, "loa-a", "p2", "N1", "skipped", scheduled=local(D1, 17))
    _play(s, "loa-a", "p3", "N2", "failed", scheduled=local(D1, 17, 5), started=local(D1, 17, 5))
    clock.set(local(D2, 20))
    _play(s, "bang-b", "p4", "N1", "completed", started=local(D1, 23, 59), ended=local(D2, 0, 1))
    _play(s, "loa-a", "p7", "E1", "completed", started=local(D2, 10, 0, 20), ended=local(D2, 10, 1))
    _play(s, "loa-c", "p8", "E1", "completed", started=local(D2, 10, 1, 30), ended=local(D2, 10, 2))
    _play(s, "loa-c", "p5", "N2", "completed", started=local(D2, 17), ended=local(D2, 17, 3))
    rejected = {
        "id": "r1",
        "type": "rejected",
        "data": {"reason": "bad_signature", "detail": "x", "topic": "t"},
    }
    assert s.devices.ingest_events("loa-c", [rejected]) == 1
    clock.set(local(D3, 10))
    if rolled_up:
        s.stats_catchup.catch_up()
