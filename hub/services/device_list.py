"""The device lists at a province's size (issue 19): counts, filters, sorts and pages in SQL on the devices'
summary columns (Device.flags, .programme_version, .search, kept by hub/services/device_views.py), so the
Thiết bị page and the start pages read only the rows they show, not every device with its problems.

`attention_sql` is device_problems' "needs attention" (a non-empty list) written as SQL: the two must agree
(tests/hub/test_device_list.py compares them on every device of a filled province).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from hub.models import Area, Device, DeviceAnomaly, DeviceEventRow, PublishedProgramme
from hub.roles import Actor
from hub.search import search_words
from hub.security import folded
from hub.services import reports
from hub.services.device_views import (
    PLAYING_STATES,
    PROGRAMME_LATE_AFTER,
    REJECTED_WITHIN,
    SILENT_AFTER,
    Published,
    device_dict,
    is_online,
)

OFFLINE_STATES = ("offline", "unknown")
SORTS = ("attention", "id", "area", "seen")


@dataclass(frozen=True)
class DeviceFilter:
    """Which devices a list shows: its search words (as typed), state (attention | offline | online | ""),
    kind and area (a subtree)."""

    q: str = ""
    state: str = ""
    kind: str = ""
    area: str = ""


def online_sql() -> ColumnElement[bool]:
    return Device.state.not_in(OFFLINE_STATES)


def attention_sql(now: datetime) -> ColumnElement[bool]:
    """A device needs attention (device_problems is not empty) at `now`."""
    since = now - REJECTED_WITHIN
    rejected = exists().where(
        DeviceEventRow.device_id == Device.id,
        DeviceEventRow.type == "rejected",
        DeviceEventRow.received_at >= since,
    )
    odd = exists().where(DeviceAnomaly.device_id == Device.id, DeviceAnomaly.received_at >= since)
    late = exists().where(
        PublishedProgramme.area_path == Device.area_path,
        PublishedProgramme.kind == Device.kind,
        PublishedProgramme.version > Device.programme_version,
        PublishedProgramme.published_at < now - PROGRAMME_LATE_AFTER,
    )
    return or_(
        Device.state.in_(OFFLINE_STATES),
        Device.last_seen < now - SILENT_AFTER,
        Device.flags != 0,
        rejected,
        odd,
        late,
    )


def scope_sql(actor: Actor, area: str = "") -> ColumnElement[bool]:
    """The devices in the actor's area (and in `area`, when given)."""
    out: list[ColumnElement[bool]] = []
    for top in (actor.area_path, area):
        if top:
            out.append(or_(Device.area_path == top, Device.area_path.startswith(top + "/", autoescape=True)))
    return and_(true(), *out)


def _search_sql(q: str, area_names: dict[str, str]) -> ColumnElement[bool]:
    """Every word of the search in the device's id, name or area name (hub.search's rule, in SQL)."""
    out: list[ColumnElement[bool]] = []
    folded_names = {p: folded(n) for p, n in area_names.items()}
    for w in search_words(q):
        paths = [p for p, n in folded_names.items() if w in n]
        in_area = Device.area_path.in_(paths) if paths else false()
        out.append(or_(Device.search.contains(w, autoescape=True), in_area))
    return and_(true(), *out)


def filter_sql(
    actor: Actor, f: DeviceFilter, now: datetime, area_names: dict[str, str]
) -> ColumnElement[bool]:
    conds = [scope_sql(actor, f.area), _search_sql(f.q, area_names)]
    if f.state == "attention":
        conds.append(attention_sql(now))
    elif f.state == "online":
        conds.append(online_sql())
    elif f.state == "offline":
        conds.append(~online_sql())
    if f.kind:
        conds.append(Device.kind == f.kind)
    return and_(*conds)


def _order(sort: str, desc: bool, now: datetime) -> list[Any]:
    """The ORDER BY of a sort (the web list's DEVICE_SORTS); `desc` turns every key round."""
    never = case((Device.last_seen.is_(None), 0), else_=1)  # never seen sorts first, like "" did
    keys: dict[str, list[Any]] = {
        "attention": [
            case((attention_sql(now), 0), else_=1),
            case((online_sql(), 1), else_=0),
            Area.name,
            Device.id,
        ],
        "id": [Device.id],
        "area": [Area.name, Device.id],
        "seen": [never, Device.last_seen, Device.id],
    }
    return [k.desc() if desc else k.asc() for k in keys[sort]]


def count_by_area(sess: Session, actor: Actor, now: datetime) -> dict[str, tuple[int, int, int]]:
    """Area path -> (devices, online, needing attention), for the areas with devices in the actor's area."""
    stmt = (
        select(
            Device.area_path,
            func.count(),
            func.sum(case((online_sql(), 1), else_=0)),
            func.sum(case((attention_sql(now), 1), else_=0)),
        )
        .where(scope_sql(actor))
        .group_by(Device.area_path)
    )
    return {p: (int(n), int(on or 0), int(att or 0)) for p, n, on, att in sess.execute(stmt)}


def page(
    sess: Session,
    actor: Actor,
    f: DeviceFilter,
    now: datetime,
    area_names: dict[str, str],
    *,
    sort: str = "attention",
    desc: bool = False,
    page_no: int = 1,
    per_page: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Page `page_no` of the devices `f` selects (the last one when past the end), as device_dict (with
    "area_vi"), and how many there are."""
    where = filter_sql(actor, f, now, area_names)
    total = int(sess.scalar(select(func.count()).select_from(Device).where(where)) or 0)
    page_no = max(1, min(page_no, math.ceil(total / per_page)))
    stmt = (
        select(Device)
        .join(Area, Area.path == Device.area_path)
        .where(where)
        .order_by(*_order(sort, desc, now))
        .offset((page_no - 1) * per_page)
        .limit(per_page)
    )
    rows = list(sess.scalars(stmt))
    return [
        {**d, "area_vi": area_names.get(d["area"], d["area"])} for d in problems_of(sess, rows, now)
    ], total


def problems_of(sess: Session, rows: list[Device], now: datetime) -> list[dict[str, Any]]:
    """device_dict of these few devices, reading only their rejections, anomalies and programmes."""
    ids = [d.id for d in rows]
    since = now - REJECTED_WITHIN
    published: Published = {
        (a, k): (v, at)
        for a, k, v, at in sess.execute(
            select(
                PublishedProgramme.area_path,
                PublishedProgramme.kind,
                PublishedProgramme.version,
                PublishedProgramme.published_at,
            ).where(PublishedProgramme.area_path.in_({d.area_path for d in rows}))
        )
    }
    rejections: dict[str, list[str]] = {}
    for dev, data in sess.execute(
        select(DeviceEventRow.device_id, DeviceEventRow.data).where(
            DeviceEventRow.device_id.in_(ids),
            DeviceEventRow.type == "rejected",
            DeviceEventRow.received_at >= since,
        )
    ):
        reason = data.get("reason") if isinstance(data, dict) else None
        rejections.setdefault(dev, []).append(str(reason or "?"))
    anomalies = reports.anomalies_by_device(sess, since, ids)
    return [device_dict(d, now, published, rejections, anomalies) for d in rows]


def map_points(sess: Session, actor: Actor, area: str, now: datetime) -> list[dict[str, Any]]:
    """The Bản đồ's devices of the actor's area (and `area`), by area and id: id, name, area, lat, lon and
    map_state read from the summary in SQL (device_views.map_state's rule on a device_dict: the two must
    agree, tests/hub/test_device_list.py), without reading each device's status and problems."""
    stmt = (
        select(
            Device.id,
            Device.name,
            Device.area_path,
            Device.state,
            Device.lat,
            Device.lon,
            case((attention_sql(now), 1), else_=0),
            Device.last_status["now_playing"].as_string(),
        )
        .where(scope_sql(actor, area))
        .order_by(Device.area_path, Device.id)
    )
    out: list[dict[str, Any]] = []
    for dev, name, path, state, lat, lon, attention, playing in sess.execute(stmt):
        if not is_online(state):
            shown = "offline"
        elif attention:
            shown = "attention"
        else:
            shown = "playing" if state in PLAYING_STATES or playing else "idle"
        out.append({"id": dev, "name": name, "area": path, "lat": lat, "lon": lon, "map_state": shown})
    return out
