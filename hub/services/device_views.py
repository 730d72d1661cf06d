"""How a device reads: its problems by the Thiết bị page's rules (the thresholds), and the device, play and
command as the API returns them. Pure functions of the rows (hub/services/devices.py reads and stores)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from hub.models import Command, Device, Play
from hub.security import folded

COMMAND_TTL = timedelta(seconds=60)  # docs/PROTOCOL.md: a command's envelope expires 60 s after issue

# What makes a device need an operator's attention (`problems` in device_dict; docs/API.md).
SILENT_AFTER = timedelta(minutes=5)  # no status for this long (an agent sends one every 30 s by default)
OUTBOX_BACKLOG = 50  # reports waiting on the device to be sent
DISK_LOW_MB = 200  # free space on the device's card
HOT_C = 75  # the controller's temperature
PROGRAMME_LATE_AFTER = timedelta(minutes=3)  # a newer programme published this long ago and still not here
REJECTED_WITHIN = timedelta(hours=24)  # refused messages count for this long (then the device is fine again)

Published = dict[tuple[str, str], tuple[int, datetime]]  # (area, kind) -> (version, published_at)


def is_online(state: str | None) -> bool:
    """A device state counts as online unless it is offline (its last will) or not known yet."""
    return state not in ("offline", "unknown", None)


def device_problems(
    d: Device,
    now: datetime | None,
    published: Published | None = None,
    rejections: dict[str, list[str]] | None = None,
    anomalies: dict[str, dict[str, int]] | None = None,
) -> list[dict[str, Any]]:
    """Why this device needs attention, most urgent first: [{"code", "value"}], empty when it is fine.
    Codes: offline; silent (no status for SILENT_AFTER although not offline); rejected (messages it refused
    for their signature, seq or expiry: its "rejected" events of the last REJECTED_WITHIN, value their count,
    "reasons" the distinct reasons; `rejections` maps a device id to one reason per event); programme
    (online, but a programme published PROGRAMME_LATE_AFTER ago has not reached it: value its version,
    "latest" the hub's); clock (not synchronised: it plays no scheduled item); outbox; disk; hot."""
    st = d.last_status or {}
    out: list[dict[str, Any]] = []
    if d.state in ("offline", "unknown"):
        out.append({"code": "offline", "value": d.last_seen.isoformat() if d.last_seen else None})
    elif now is not None and d.last_seen is not None and now - d.last_seen > SILENT_AFTER:
        out.append({"code": "silent", "value": d.last_seen.isoformat()})
    reachable = not out
    refused = (rejections or {}).get(d.id)
    if refused:
        out.append({"code": "rejected", "value": len(refused), "reasons": sorted(set(refused))})
    odd = (anomalies or {}).get(d.id)
    if odd:
        out.append({"code": "anomaly", "value": sum(odd.values()), "reasons": sorted(odd)})
    have, latest = st.get("programme_version"), (published or {}).get((d.area_path, d.kind))
    if (
        reachable
        and latest is not None
        and isinstance(have, int)
        and have < latest[0]
        and now is not None
        and now - latest[1] > PROGRAMME_LATE_AFTER
    ):
        out.append({"code": "programme", "value": have, "latest": latest[0]})
    return out + status_problems(st)


# The problems a status shows by itself (whatever the time): a bit each in Device.flags.
STATUS_FLAGS = {"clock": 1, "outbox": 2, "disk": 4, "hot": 8}


def status_problems(st: dict[str, Any]) -> list[dict[str, Any]]:
    """The problems in a device's own status: clock, outbox, disk, hot (device_problems' last four)."""
    out: list[dict[str, Any]] = []
    checks = (
        ("clock", st.get("clock"), lambda v: v in ("unsynced", "unknown")),
        ("outbox", st.get("outbox"), lambda v: v > OUTBOX_BACKLOG),
        ("disk", st.get("disk_free_mb"), lambda v: v < DISK_LOW_MB),
        ("hot", st.get("temperature_c"), lambda v: v >= HOT_C),
    )
    for code, value, bad in checks:
        ok_type = isinstance(value, str) if code == "clock" else isinstance(value, int | float)
        if ok_type and not isinstance(value, bool) and bad(value):
            out.append({"code": code, "value": value})
    return out


def summary_columns(device_id: str, name: str, st: dict[str, Any]) -> tuple[int, int | None, str]:
    """Device.flags, .programme_version and .search for a device with this id, name and last status."""
    flags = sum(STATUS_FLAGS[p["code"]] for p in status_problems(st))
    have = st.get("programme_version")
    version = have if isinstance(have, int) and abs(have) < 2**31 else None  # as device_problems reads it
    return flags, version, f"{folded(device_id)} {folded(name)}"[:300]


@event.listens_for(Device, "before_insert")
@event.listens_for(Device, "before_update")
def _keep_summary(_mapper: Any, _conn: Any, d: Device) -> None:
    """Whenever a device is stored through the ORM, its summary columns follow its status and name."""
    d.flags, d.programme_version, d.search = summary_columns(d.id, d.name or "", d.last_status or {})


PLAYING_STATES = ("playing", "emergency")


def map_state(d: dict[str, Any]) -> str:
    """How the map (Bản đồ) shows a device_dict: offline, attention (a problem other than being offline),
    playing or idle. The page reads the same in SQL (device_list.map_points)."""
    if not d["online"]:
        return "offline"
    if [p for p in d["problems"] if p["code"] != "offline"]:
        return "attention"
    return "playing" if d["state"] in PLAYING_STATES or d.get("now_playing") else "idle"


def device_dict(
    d: Device,
    now: datetime | None = None,
    published: Published | None = None,
    rejections: dict[str, list[str]] | None = None,
    anomalies: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    st = d.last_status or {}
    return {
        "id": d.id,
        "kind": d.kind,
        "area": d.area_path,
        "name": d.name,
        "state": d.state,
        "online": is_online(d.state),
        "last_seen": d.last_seen.isoformat() if d.last_seen else None,
        "now_playing": st.get("now_playing"),
        "volume": st.get("volume"),
        "clock": st.get("clock"),
        "programme_version": st.get("programme_version"),
        "status": st,
        "problems": device_problems(d, now, published, rejections, anomalies),
        "lat": d.lat,
        "lon": d.lon,
    }


def play_dict(p: Play) -> dict[str, Any]:
    return {
        "event_id": p.event_id,
        "device_id": p.device_id,
        "area": p.area_path,  # the commune the device was in when it played (kept across reorganisations)
        "bulletin_id": p.bulletin_id,
        "outcome": p.outcome,
        "scheduled_at": p.scheduled_at.isoformat() if p.scheduled_at else None,
        "started_at": p.started_at.isoformat() if p.started_at else None,
        "ended_at": p.ended_at.isoformat() if p.ended_at else None,
        "emergency": p.emergency,
        "exercise": p.exercise,
        "received_at": p.received_at.isoformat(),
        "data": p.data,
    }


def command_dict(c: Command) -> dict[str, Any]:
    res = c.result or {}
    return {
        "id": c.id,
        "device_id": c.device_id,
        "command": c.command,
        "args": c.args,
        "issued_at": c.issued_at.isoformat(),
        "answered": c.result is not None,
        "ok": res.get("ok") if c.result is not None else None,
        "detail": res.get("detail"),
        "result_at": c.result_at.isoformat() if c.result_at else None,
    }
