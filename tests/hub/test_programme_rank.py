"""Art. 8.2 through the API a commune chair's screen uses: rank decides which priority bulletins play,
the chair's order decides only when."""

from __future__ import annotations

from sqlalchemy import update

from hub.models import Bulletin
from tests.hub.conftest import Hub

DAY = "2026-11-23"
PROGRAMME = f"/api/v1/programme?area=67/660/24613&kind=radio&date={DAY}"


async def approved(hub: Hub, who: str, title: str, minutes: int, **body: object) -> str:
    data = {"title": title, "priority": "priority", "text": f"{title}.", "targets": ["67/660/24613"],
            "kinds": ["radio"], **body}
    status, b = await hub.call("POST", "/api/v1/bulletins", who, json=data)
    assert status == 201, b
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", who)
    assert status == 200, b
    hub.clock.advance(60)  # the next one is approved a minute later: rank by approval time is defined
    # The length a recorded or spoken bulletin would have (speaking 85 minutes in a test is not the point).
    with hub.s.ctx.db.session() as sess:
        sess.execute(update(Bulletin).where(Bulletin.id == b["id"]).values(duration_ms=minutes * 60_000))
    return str(b["id"])


async def test_chairs_order_cannot_push_a_province_bulletin_out(hub: Hub) -> None:
    c1 = await approved(hub, "chair24613", "Họp dân thôn 1", 85)
    c2 = await approved(hub, "chair24613", "Họp dân thôn 2", 85)
    prov = await approved(hub, "editor67", "Phòng chống bão số 9", 10, targets=["67"])
    before = hub.count(Bulletin)
    # The chair puts both commune bulletins first.
    status, out = await hub.call("PUT", "/api/v1/programme/order", "chair24613",
                                 json={"area": "67/660/24613", "date": DAY, "order": [c2, c1]})
    assert status == 200, out
    status, prog = await hub.call("GET", PROGRAMME, "chair24613")
    assert status == 200, prog
    plays = [(p["bulletin_id"], p["window"]) for p in prog["programme"]]
    # The province bulletin plays; the later-approved commune bulletin is the one left out.
    assert {bid for bid, _ in plays} == {c1, prov}
    (left,) = prog["unscheduled"]
    assert left["bulletin_id"] == c2 and left["reason"] == "window_full"
    assert "«Phòng chống bão số 9»" in left["detail"] and "«Họp dân thôn 1»" in left["detail"]
    # In the morning window the chair's order holds for what plays: c1 (listed) before the province one.
    morning = [bid for bid, w in plays if w == "05:00-06:30"]
    assert morning in ([c1], [prov], [c1, prov])
    assert hub.count(Bulletin) == before


async def test_a_bulletin_approved_after_the_order_keeps_its_rank(hub: Hub) -> None:
    com = await approved(hub, "chair24613", "Lịch tiêm chủng", 60)
    status, _ = await hub.call("PUT", "/api/v1/programme/order", "chair24613",
                               json={"area": "67/660/24613", "date": DAY, "order": [com]})
    assert status == 200
    # Approved after the chair saved the order, and not in it: 80 minutes, only one window can hold it.
    prov = await approved(hub, "editor67", "Thông báo của tỉnh", 80, targets=["67"],
                          valid_until="2026-11-23T07:00:00+07:00")
    status, prog = await hub.call("GET", PROGRAMME, "chair24613")
    assert status == 200, prog
    # Greedy placement would put the commune's bulletin (ordered first) in the morning and leave the
    # province bulletin out; by rank the province bulletin takes the morning and the commune's the evening.
    assert sorted((p["bulletin_id"], p["window"]) for p in prog["programme"]) == sorted(
        [(prov, "05:00-06:30"), (com, "17:00-18:30")])
    assert prog["unscheduled"] == []


async def test_order_for_someone_elses_bulletins_changes_nothing(hub: Hub) -> None:
    # Hostile or stale input: ids of another commune's bulletins, unknown ids, repeated ids.
    mine = await approved(hub, "chair24613", "Của xã", 5)
    prov = await approved(hub, "editor67", "Của tỉnh", 5, targets=["67"])
    theirs = await approved(hub, "chair24611", "Xã khác", 5, targets=["67/660/24611"])
    status, base = await hub.call("GET", PROGRAMME, "chair24613")
    assert [p["bulletin_id"] for p in base["programme"]] == [prov, mine]  # by rank: province first
    # Repeated ids: refused, nothing saved.
    status, out = await hub.call("PUT", "/api/v1/programme/order", "chair24613",
                                 json={"area": "67/660/24613", "date": DAY, "order": [mine, mine]})
    assert status == 422 and out["error"]["field"] == "order", out
    status, prog = await hub.call("GET", PROGRAMME, "chair24613")
    assert prog["programme"] == base["programme"]
    # Another commune's bulletin and an unknown id: refused or ignored, never put on this commune's air.
    status, out = await hub.call("PUT", "/api/v1/programme/order", "chair24613",
                                 json={"area": "67/660/24613", "date": DAY,
                                       "order": [theirs, "khong-co", mine]})
    assert status in (200, 422), out
    status, prog = await hub.call("GET", PROGRAMME, "chair24613")
    assert {p["bulletin_id"] for p in prog["programme"]} == {mine, prov}
    # The chair's own bulletin listed first plays first in the window; the province one still plays.
    status, out = await hub.call("PUT", "/api/v1/programme/order", "chair24613",
                                 json={"area": "67/660/24613", "date": DAY, "order": [mine]})
    assert status == 200, out
    status, prog = await hub.call("GET", PROGRAMME, "chair24613")
    assert [p["bulletin_id"] for p in prog["programme"]] == [mine, prov]
