"""The menu's counters (issue 19, hub/services/counters.py): each role's waiting work on every page, the
same numbers as its start page's queues, counted only where the person may see."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from hub.models import Bulletin, User
from hub.roles import SYSTEM
from hub.services.accounts import actor_for
from protocol.clock import FrozenClock
from tests.dbfill import fill_province

from .conftest import T0, USERS, WebHub, make_services
from .pagehelp import write


def badge(html: str, badge_id: str) -> str | None:
    m = re.search(rf'id="{badge_id}"[^>]*>([\d.]+)<', html)
    return m.group(1) if m else None


async def test_each_role_sees_its_counts_in_the_menu(web: WebHub) -> None:
    first = await write(web, "editor660", title="Thông báo họp dân")
    await write(web, "editor660", title="Lịch cắt điện")
    ed67 = await web.as_user("editor67")
    _, html = await ed67.get("/plays")  # any page: the counters are in the menu
    assert badge(html, "nav-approve") == "2" and "2 bản tin chờ duyệt" in html
    r = await ed67.post(f"/bulletins/{first}/action", {"action": "reject", "reason": "Thiếu giờ họp."})
    assert r.status == 303
    _, html = await (await web.as_user("editor660")).get("/bulletins")
    assert badge(html, "nav-rejected") == "1" and badge(html, "nav-approve") == "1"
    _, html = await ed67.get("/bulletins")
    assert badge(html, "nav-rejected") is None  # not editor67's own bulletin
    _, html = await (await web.as_user("reviewer67")).get("/")
    assert badge(html, "nav-approve") is None and badge(html, "nav-review") is None
    _, html = await (await web.as_user("viewer")).get("/")
    assert not re.search(r'id="nav-(rejected|approve|review|devices|locked|denied)"', html)

    web.s.devices.register(SYSTEM, device_id="loa-24613-01", kind="radio", area="67/660/24613")
    web.s.devices.register(SYSTEM, device_id="loa-24611-01", kind="radio", area="67/660/24611")
    web.s.devices.ingest_statuses({"loa-24613-01": {"state": "offline"}, "loa-24611-01": {"state": "idle"}})
    _, html = await (await web.as_user("oper")).get("/bulletins")
    assert badge(html, "nav-devices") == "1" and "1 thiết bị cần chú ý" in html

    await ed67.get("/audit")  # refused, audited
    with web.s.ctx.db.session() as sess:
        sess.execute(
            update(User)
            .where(User.username == "viewer")
            .values(locked_until=web.clock.now() + timedelta(minutes=5))
        )
        sess.execute(  # a lock that has run out is not counted
            update(User)
            .where(User.username == "oper")
            .values(locked_until=web.clock.now() - timedelta(minutes=5))
        )
    _, html = await (await web.as_user("admin1")).get("/plays")
    assert badge(html, "nav-locked") == "1" and badge(html, "nav-denied") == "1"
    _, home = await (await web.as_user("admin1")).get("/")
    assert "1 đang tạm khóa do đăng nhập sai" in home and "1 thao tác bị từ chối hôm nay" in home


def test_counts_agree_with_the_start_pages_queues_at_a_province_size(tmp_path: Path) -> None:
    """Every user's menu counts equal the totals of their start page's queues (bulletins.search, which
    checks Actor.sees in Python) on a filled province: the SQL visibility rule is the same."""
    clock = FrozenClock(T0)
    s = make_services(tmp_path, clock)
    fill_province(s, clock.now(), devices=200, bulletins=120, audit=10, plays=10)
    with s.ctx.db.session() as sess:
        users = {u.username: u for u in sess.scalars(select(User))}
        ids = sorted(sess.scalars(select(Bulletin.id)))
        for n, bid in enumerate(ids):  # owners for the rejections, and some waiting for a sign-off
            values: dict[str, object] = {"created_by": users[USERS[1 + n % 3][0]].id}
            if n % 7 == 0:
                values["status"] = "in_review"
            sess.execute(update(Bulletin).where(Bulletin.id == bid).values(**values))
        actors = [actor_for(u) for u in users.values()]
    try:
        for a in actors:
            counts = s.counters.for_actor(a)
            queues = {
                "rejected": ("rejected", a.user_id) if a.may("bulletin.create") else None,
                "to_approve": ("submitted", None) if a.may("bulletin.approve") else None,
                "to_review": ("in_review", None) if a.may("bulletin.review") else None,
            }
            for key, q in queues.items():
                within = key == "to_approve"
                want = (
                    s.bulletins.search(a, status=q[0], created_by=q[1], limit=1, within=within)[1] if q else 0
                )
                assert counts.get(key, 0) == want, (a.username, key)
            if a.may("device.command") or a.role == "admin":
                want = sum(1 for d in s.devices.list(a) if d["problems"])
                assert want and counts.get("devices") == want
        assert any(c.get("to_review") for c in map(s.counters.for_actor, actors))  # each queue was compared
        assert any(c.get("rejected") for c in map(s.counters.for_actor, actors))
        chair = next(a for a in actors if a.username == "chair24613")  # sees the province's, approves none
        seen = s.bulletins.search(chair, status="submitted", limit=1)[1]
        assert seen > s.counters.for_actor(chair).get("to_approve", 0)
    finally:
        s.ctx.db.dispose()
