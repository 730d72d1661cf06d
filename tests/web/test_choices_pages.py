"""The chair's screen for Art. 8.2/8.3: the standing rule, choices refused with a reason, "Mới" on a priority
bulletin approved after the chair's order was saved."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.models import AuditEntry, NormalChoice, StandingChoice
from hub.roles import SYSTEM
from tests.web.conftest import WebHub
from tests.web.pagehelp import bulletin_form, write

AREA = "67/660/24613"


async def approve(web: WebHub, *ids: str) -> None:
    ed = await web.as_user("editor67")
    for bid in ids:
        assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303


def form(day: str, *extra: tuple[str, str]) -> list[tuple[str, str]]:
    return [("area", AREA), ("date", day), ("kind", "radio"), *extra]


async def test_chair_sets_the_standing_rule_on_the_screen(web: WebHub) -> None:
    day = web.s.ctx.local_now().date()
    chair = await web.as_user("chair24613")
    await chair.get("/programme")
    r = await chair.post(
        "/programme/standing",
        form(day.isoformat(), ("origins", "province"), ("kinds", "radio"), ("kinds", "led")),
    )
    assert r.status == 303 and r.headers["Location"].endswith("#standing")
    _, html = await chair.get(r.headers["Location"])
    assert "Đã lưu quy tắc tự động nhận" in html
    assert 'name="origins" value="province" checked' in html
    assert 'name="origins" value="district" checked' not in html
    with web.s.ctx.db.session() as sess:
        (entry,) = sess.scalars(select(AuditEntry).where(AuditEntry.action == "programme.standing"))
        assert entry.username == "chair24613" and entry.target == AREA
    # a province normal bulletin approved afterwards airs without a choice; a district one waits
    province = await write(web, title="Thông báo của tỉnh", priority="normal")
    district = await write(web, "editor660", title="Thông báo của huyện", priority="normal")
    await approve(web, province)
    ed660 = await web.as_user("editor660")
    assert (await ed660.post(f"/bulletins/{district}/action", {"action": "approve"})).status == 303
    view = web.s.programmes.view(SYSTEM, AREA, "radio", day)
    assert province in {p["bulletin_id"] for p in view["programme"]}
    assert district not in {p["bulletin_id"] for p in view["programme"]}
    _, html = await chair.get("/programme")
    assert "Tự động nhận theo quy tắc của xã" in html and "Chờ chọn" in html
    assert 'id="nav-waiting"' in html and 'id="waiting-count">1 chờ chọn' in html
    # a viewer of the province sees the rule in words, with no form
    viewer = await web.as_user("viewer")
    _, html = await viewer.get(f"/programme?area={AREA}")
    assert "Đang tự động nhận: bản tin của tỉnh trên bảng tin điện tử; bản tin của tỉnh trên đài" in html
    assert 'action="/programme/standing"' not in html


async def test_hostile_posts_on_the_chairs_screen_change_nothing(web: WebHub) -> None:
    day = web.s.ctx.local_now().date().isoformat()
    mine = await write(web, title="Thông báo cho xã", priority="normal", targets=("67/660/24613",))
    theirs = await write(web, title="Thông báo xã khác", priority="normal", targets=("67/660/24611",))
    await approve(web, mine, theirs)
    chair = await web.as_user("chair24613")
    await chair.get("/programme")
    # no device kind ticked
    r = await chair.post("/programme/selection", form(day, ("shown", mine), ("selection", mine)))
    assert r.status == 422 and "ít nhất một loại thiết bị" in await r.text()
    # a bulletin sent to another commune, slipped into the form
    r = await chair.post(
        "/programme/selection", form(day, ("shown", mine), ("selection", theirs), ("kinds", "radio"))
    )
    assert r.status == 422 and "không gửi tới xã 67/660/24613" in await r.text()
    # a scope that does not exist
    r = await chair.post(
        "/programme/selection", form(day, ("selection", mine), ("kinds", "radio"), ("scope", "year"))
    )
    assert r.status == 422
    # no CSRF token
    r = await chair.post(
        "/programme/selection", form(day, ("selection", mine), ("kinds", "radio")), csrf="forged"
    )
    assert r.status == 403
    # another commune's chair, on this commune
    other = await web.as_user("chair24611")
    await other.get("/programme")
    for path, extra in (
        ("/programme/selection", [("selection", mine), ("kinds", "radio")]),
        ("/programme/standing", [("origins", "province"), ("kinds", "radio")]),
    ):
        r = await other.post(path, form(day, *extra))
        assert r.status == 403, path
    # a standing rule with levels but no device kind
    r = await chair.post("/programme/standing", form(day, ("origins", "province")))
    assert r.status == 422 and "loại thiết bị" in await r.text()
    with web.s.ctx.db.session() as sess:
        assert sess.scalars(select(NormalChoice)).all() == []
        assert sess.scalars(select(StandingChoice)).all() == []


async def test_priority_bulletin_approved_after_the_order_is_marked_new(web: WebHub) -> None:
    day = web.s.ctx.local_now().date()
    a = await write(web, title="Ưu tiên A")
    b = await write(web, title="Ưu tiên B")
    await approve(web, a, b)
    chair = await web.as_user("chair24613")
    await chair.get("/programme")
    r = await chair.post("/programme/order", form(day.isoformat(), ("order", b), ("order", a)))
    assert r.status == 303
    _, html = await chair.get("/programme")
    assert '<span class="badge new"' not in html
    web.clock.advance(60)
    late = await write(web, title="Ưu tiên C đến sau")
    await approve(web, late)
    view = web.s.programmes.view(SYSTEM, AREA, "radio", day)
    assert view["new"] == [late] and late in {p["bulletin_id"] for p in view["programme"]}
    _, html = await chair.get("/programme")
    row = html[html.index(f'id="prio-{late}"') :]
    row = row[: row.index("</li>")]
    assert "Ưu tiên C đến sau" in row and '<span class="badge new"' in row and ">Mới<" in row
    # once the chair saves the order again, it is no longer new
    r = await chair.post(
        "/programme/order", form(day.isoformat(), ("order", b), ("order", a), ("order", late))
    )
    assert r.status == 303
    assert web.s.programmes.view(SYSTEM, AREA, "radio", day)["new"] == []


async def test_saving_the_day_with_a_bulletin_not_yet_valid_on_screen(web: WebHub) -> None:
    """A normal bulletin valid from tomorrow is listed (not yet valid) on today's screen: saving today's
    choice leaves it unticked without refusing the form; ticking it for today says what to do instead."""
    day = web.s.ctx.local_now().date()
    today_b = await write(web, title="Thông báo hôm nay", priority="normal")
    ed = await web.as_user("editor67")
    starts = (day + timedelta(days=1)).isoformat() + "T00:00"
    r = await ed.post(
        "/bulletins/new",
        [*bulletin_form(title="Thông báo từ ngày mai", priority="normal"), ("valid_from", starts)],
    )
    assert r.status == 303, await r.text()
    later = r.headers["Location"].rsplit("/", 1)[1]
    await approve(web, today_b, later)
    view = web.s.programmes.view(SYSTEM, AREA, "radio", day)
    assert later in {u["bulletin_id"] for u in view["unscheduled"]}
    chair = await web.as_user("chair24613")
    await chair.get("/programme")
    fields = form(
        day.isoformat(),
        ("shown", today_b),
        ("shown", later),
        ("selection", today_b),
        ("scope", "day"),
        ("kinds", "radio"),
    )
    r = await chair.post("/programme/selection", fields)
    assert r.status == 303, await r.text()
    view = web.s.programmes.view(SYSTEM, AREA, "radio", day)
    assert view["selection"] == [today_b]
    r = await chair.post(
        "/programme/selection",
        form(day.isoformat(), ("shown", later), ("selection", later), ("scope", "day"), ("kinds", "radio")),
    )
    assert r.status == 422 and "suốt thời gian hiệu lực" in await r.text()
    r = await chair.post(
        "/programme/selection",
        form(
            day.isoformat(), ("shown", later), ("selection", later), ("scope", "validity"), ("kinds", "radio")
        ),
    )
    assert r.status == 303
    tomorrow = web.s.programmes.view(SYSTEM, AREA, "radio", day + timedelta(days=1))
    assert later in {p["bulletin_id"] for p in tomorrow["programme"]}
