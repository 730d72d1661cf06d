"""Approved LED text bulletins written straight to the hub's database: the cheap way for a test to fill a
commune's programme near the devices' message limit (no speech, no workflow)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from hub.models import Bulletin, BulletinTarget


def add_approved_led_bulletins(
    db: Any, ids: list[str], *, priority: str, target: str, text: str, duration_ms: int, now: datetime
) -> list[str]:
    """One approved province LED bulletin per id ("Thông báo dài N"), shown once a day; returns `ids`."""
    with db.session() as sess:
        for i, bid in enumerate(ids):
            sess.add(
                Bulletin(
                    id=bid,
                    title=f"Thông báo dài {i}",
                    priority=priority,
                    form="text",
                    origin="province",
                    status="approved",
                    kinds=["led"],
                    targets=[BulletinTarget(area_path=target)],
                    text=text,
                    duration_ms=duration_ms,
                    plays_per_day=1,
                    repeat={},
                    version=1,
                    created_at=now,
                    updated_at=now,
                    approved_at=now,
                )
            )
    return ids


# --- a province-size data set (issue 19): lists, bench and browser tests at the volume a province has
_PLACES = (
    "Hòa Bình", "Tân Lập", "Phú Lợi", "Quảng Tín", "Đắk Sắk", "Nam Dong", "Thuận An", "Kiến Thành",
    "Đức Minh", "Trúc Sơn", "Cư Knia", "Ea Pô", "Tâm Thắng", "Nâm N'Jang", "Đạo Nghĩa", "Quảng Khê",
)  # fmt: skip
_TITLES = (
    "Lịch tiêm chủng", "Thông báo cắt điện", "Phòng chống sốt xuất huyết", "Lịch thu thuế",
    "Tuyển quân năm 2027", "Hướng dẫn phòng cháy rừng", "Cảnh báo mưa lũ", "Họp dân tổ dân phố",
)  # fmt: skip
_ACTIONS = (
    "bulletin.create", "bulletin.submit", "bulletin.approve", "bulletin.reject", "session.login",
    "device.command", "programme.publish", "bulletin.edit",
)  # fmt: skip
_STATUSES = ("draft", "submitted", "approved", "approved", "rejected", "finished", "finished", "recalled")


def province_tree(districts: int = 10, communes: int = 100) -> tuple[dict[str, Any], list[str]]:
    """Districts 700.. with communes 30000.. under the sample province 67 (import it after the sample)."""
    children, paths = [], []
    for d in range(districts):
        dcode, kids = str(700 + d), []
        for c in range(d, communes, districts):
            ccode = str(30000 + c)
            kind = "Phường" if c % 4 == 0 else "Xã"
            name = f"{kind} {_PLACES[c % len(_PLACES)]} {c // len(_PLACES) + 1}"
            kids.append({"code": ccode, "name": name, "level": "commune"})
            paths.append(f"67/{dcode}/{ccode}")
        district = {"code": dcode, "name": f"Huyện {_PLACES[d % len(_PLACES)]}", "level": "district"}
        children.append({**district, "children": kids})
    tree = {"code": "67", "name": "Tỉnh Mẫu Ba Cấp", "level": "province", "children": children}
    return tree, paths


def fill_province(
    services: Any,
    now: datetime,
    *,
    devices: int = 2000,
    bulletins: int = 500,
    audit: int = 10_000,
    plays: int = 20_000,
    seed: int = 19,
) -> list[str]:
    """Areas (100 more communes), devices (1 in 25 with a problem), bulletins of every status over 60 days,
    audit entries and plays, straight into the database (no workflow: seconds, not minutes). Returns the
    communes' paths."""
    from hub.models import AuditEntry, Device, Play  # noqa: PLC0415 - only the big fill needs these
    from hub.roles import SYSTEM  # noqa: PLC0415

    rng = random.Random(seed)  # noqa: S311 - a repeatable data set, not a secret
    tree, communes = province_tree()
    services.areas.import_tree(tree, SYSTEM)
    dev_ids: list[str] = []
    with services.ctx.db.session() as sess:
        for i in range(devices):
            area = communes[i % len(communes)]
            n = i // len(communes) + 1
            kind = "led" if n % 5 == 0 else "radio"
            dev = f"{'bang' if kind == 'led' else 'loa'}-{area.rsplit('/', 1)[1]}-{n:02d}"
            dev_ids.append(dev)
            offline = i % 25 == 7
            status = {"state": "idle", "volume": 70, "clock": "unsynced" if i % 50 == 3 else "synced"}
            sess.add(
                Device(
                    id=dev,
                    kind=kind,
                    area_path=area,
                    name=f"Cụm loa {n}" if kind == "radio" else "",
                    state="offline" if offline else "idle",
                    last_status=status,
                    last_seen=now - timedelta(hours=3 if offline else 0, seconds=rng.randint(0, 60)),
                    created_at=now - timedelta(days=90),
                    # on the map (Bản đồ): a commune's devices around its own point, 1 in 40 not placed
                    lat=None if i % 40 == 11 else 12.2 + (i % len(communes)) % 10 * 0.05 + n * 0.001,
                    lon=None if i % 40 == 11 else 107.9 + (i % len(communes)) // 10 * 0.05 + n * 0.001,
                )
            )
    with services.ctx.db.session() as sess:
        for i in range(bulletins):
            created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
            state = _STATUSES[i % len(_STATUSES)]
            target = communes[rng.randrange(len(communes))] if i % 3 else "67"
            sess.add(
                Bulletin(
                    id=f"b-fill-{i:04d}",
                    title=f"{_TITLES[i % len(_TITLES)]} số {i}",
                    priority="priority" if i % 4 == 0 else "normal",
                    form="text",
                    origin="province",
                    status=state,
                    kinds=["radio", "led"] if i % 2 else ["radio"],
                    targets=[BulletinTarget(area_path=target)],
                    text="Nội dung bản tin thử tải.",
                    duration_ms=20_000,
                    plays_per_day=1,
                    repeat={},
                    version=1,
                    created_at=created,
                    updated_at=created,
                    submitted_at=created if state != "draft" else None,
                    approved_at=created if state in ("approved", "finished", "recalled") else None,
                    rejected_reason="Thiếu nguồn tin." if state == "rejected" else None,
                    recalled_at=created if state == "recalled" else None,
                    recall_reason="Sai ngày." if state == "recalled" else None,
                    valid_until=now + timedelta(days=7) if state == "approved" else None,
                )
            )
    users = ("admin1", "editor67", "reviewer67", "oper", "chair24613")
    with services.ctx.db.session() as sess:
        for i in range(audit):
            action = _ACTIONS[i % len(_ACTIONS)]
            sess.add(
                AuditEntry(
                    at=now - timedelta(seconds=(audit - i) * 37),
                    username=users[i % len(users)],
                    action=action,
                    target=f"b-fill-{i % max(1, bulletins):04d}" if action.startswith("bulletin") else "",
                    outcome="denied" if i % 97 == 0 else "ok",
                    ip="10.0.0.5",
                    detail={},
                )
            )
    with services.ctx.db.session() as sess:
        for i in range(plays):
            start = now - timedelta(minutes=rng.randint(0, 60 * 24 * 7))
            sess.add(
                Play(
                    event_id=f"fill-{i}",
                    device_id=dev_ids[i % len(dev_ids)] if dev_ids else "loa-x",
                    bulletin_id=f"b-fill-{i % max(1, bulletins):04d}",
                    outcome="completed" if i % 11 else "interrupted",
                    scheduled_at=start,
                    started_at=start,
                    ended_at=start + timedelta(seconds=20),
                    data={},
                    received_at=start,
                )
            )
    return communes
