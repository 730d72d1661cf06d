"""Which devices need an operator's attention (`problems` in GET /api/v1/devices), and why."""

from __future__ import annotations

from hub.roles import SYSTEM
from hub.services.devices import DISK_LOW_MB, HOT_C, OUTBOX_BACKLOG, SILENT_AFTER
from tests.hub.conftest import Hub

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
            "rejected": 2,
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
    status, body = await hub.call("GET", "/api/v1/devices", "oper")
    assert status == 200, body
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
