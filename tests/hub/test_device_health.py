"""Which devices need an operator's attention (`problems` in GET /api/v1/devices), and why."""

from __future__ import annotations

from typing import Any

from hub.roles import SYSTEM
from hub.services.devices import (
    DISK_LOW_MB,
    HOT_C,
    OUTBOX_BACKLOG,
    PROGRAMME_LATE_AFTER,
    REJECTED_WITHIN,
    SILENT_AFTER,
)
from tests.hub.conftest import Hub
from tests.hub.test_programme import programmes

AREA = "67/660/24613"
GOOD = {
    "state": "idle",
    "clock": "synced",
    "outbox": 0,
    "rejected": 0,
    "disk_free_mb": 4000,
    "temperature_c": 50,
}


async def test_problems_name_each_reason_with_its_value(hub: Hub) -> None:
    statuses = {
        "ok": GOOD,
        "off": {**GOOD, "state": "offline"},
        "bad": {
            **GOOD,
            "clock": "unsynced",
            "rejected": 2,  # the agent's count since it started: the hub goes by the events below
            "outbox": OUTBOX_BACKLOG + 1,
            "disk_free_mb": DISK_LOW_MB - 1,
            "temperature_c": HOT_C,
        },
        "edge": {**GOOD, "outbox": OUTBOX_BACKLOG, "disk_free_mb": DISK_LOW_MB, "temperature_c": HOT_C - 1},
        "odd": {**GOOD, "rejected": "nhiều", "outbox": True, "clock": None},  # garbage is not a problem
    }
    for dev in [*statuses, "never"]:
        hub.s.devices.register(SYSTEM, device_id=dev, kind="radio", area=AREA)
    hub.s.devices.ingest_statuses(statuses)
    hub.s.devices.ingest_events("bad", [refused(1, "bad_signature"), refused(2, "expired"), refused(1, "x")])
    status, body = await hub.call("GET", "/api/v1/devices", "oper")
    assert status == 200, body
    bad = next(d for d in body["devices"] if d["id"] == "bad")
    assert bad["problems"][0]["reasons"] == ["bad_signature", "expired"]  # event r1 sent twice: once
    problems = {d["id"]: [(p["code"], p["value"]) for p in d["problems"]] for d in body["devices"]}
    assert problems["ok"] == problems["edge"] == problems["odd"] == []
    assert [c for c, _ in problems["off"]] == ["offline"] and problems["off"][0][1] is not None
    assert problems["never"] == [("offline", None)]  # registered, never connected
    assert problems["bad"] == [
        ("rejected", 2),
        ("clock", "unsynced"),
        ("outbox", OUTBOX_BACKLOG + 1),
        ("disk", DISK_LOW_MB - 1),
        ("hot", HOT_C),
    ]

    # no status for longer than SILENT_AFTER while the broker never said offline: silent
    hub.clock.advance(SILENT_AFTER.total_seconds() + 1)
    hub.s.devices.ingest_status("edge", GOOD)  # this one is still talking
    status, body = await hub.call("GET", "/api/v1/devices", "oper")
    problems = {d["id"]: [p["code"] for p in d["problems"]] for d in body["devices"]}
    assert problems["ok"] == ["silent"] and problems["edge"] == [] and problems["off"] == ["offline"]

    # refused messages count for REJECTED_WITHIN, then the device is fine again
    hub.clock.advance(REJECTED_WITHIN.total_seconds())
    hub.s.devices.ingest_status("bad", {**GOOD, "rejected": 2})
    hub.tokens.clear()  # a day later: log in again
    status, body = await hub.call("GET", "/api/v1/devices", "oper")
    assert status == 200, body
    assert next(d["problems"] for d in body["devices"] if d["id"] == "bad") == []


def refused(n: int, reason: str) -> dict[str, Any]:
    return {
        "id": f"bad:rej{n}",
        "type": "rejected",
        "at": "2026-11-23T05:00:00+07:00",
        "data": {"reason": reason},
    }


async def test_an_online_device_that_misses_a_new_programme_needs_attention(hub: Hub) -> None:
    for dev in ("fresh", "stale"):
        hub.s.devices.register(SYSTEM, device_id=dev, kind="radio", area=AREA)
    body = {"title": "Lịch tiêm", "priority": "priority", "text": "Tiêm chủng thứ Bảy.", "targets": [AREA]}
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**body, "kinds": ["radio"]})
    assert status == 201, b
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200, b
    await hub.s.publishing.flush()
    latest = max(p.version for p in programmes(hub, f"{AREA}/program/radio"))

    def report() -> None:
        hub.s.devices.ingest_statuses(
            {
                "fresh": {**GOOD, "programme_version": latest},
                "stale": {**GOOD, "programme_version": latest - 1},
            }
        )

    async def problems() -> dict[str, list[Any]]:
        status, body = await hub.call("GET", "/api/v1/devices", "oper")
        assert status == 200, body
        return {d["id"]: d["problems"] for d in body["devices"]}

    report()
    assert (await problems()) == {"fresh": [], "stale": []}  # just published: still on its way
    hub.clock.advance(PROGRAMME_LATE_AFTER.total_seconds() + 1)
    report()
    assert (await problems()) == {
        "fresh": [],
        "stale": [{"code": "programme", "value": latest - 1, "latest": latest}],
    }
