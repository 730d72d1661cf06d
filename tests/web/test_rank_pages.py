"""Art. 8.2 on the chair's screen: the chair's order cannot push a province bulletin out, and the page
says which bulletins took the room of the one left out."""

from __future__ import annotations

import html as html_lib

from sqlalchemy import update

from hub.models import Bulletin
from hub.roles import SYSTEM
from tests.web.conftest import WebHub
from tests.web.pagehelp import write


async def test_chairs_page_keeps_the_province_bulletin_and_says_who_took_the_room(web: WebHub) -> None:
    chair = await web.as_user("chair24613")
    editor = await web.as_user("editor67")
    ids = {}
    for who, title, minutes, targets in (
        ("chair24613", "Họp dân thôn 1", 85, ("67/660/24613",)),
        ("chair24613", "Họp dân thôn 2", 85, ("67/660/24613",)),
        ("editor67", "Phòng chống bão số 9", 10, ("67",)),
    ):
        bid = await write(web, who, title=title, targets=targets)
        user = chair if who == "chair24613" else editor
        r = await user.post(f"/bulletins/{bid}/action", {"action": "approve"})
        assert r.status == 303, await r.text()
        web.clock.advance(60)  # approved a minute apart: rank by approval time is defined
        # The length of a recorded bulletin (speaking 85 minutes in a test is not the point).
        with web.s.ctx.db.session() as sess:
            sess.execute(update(Bulletin).where(Bulletin.id == bid).values(duration_ms=minutes * 60_000))
        ids[title] = bid
    day = web.s.ctx.local_now().date().isoformat()
    await chair.get("/programme")
    # The chair orders the two commune bulletins first, the later one on top.
    r = await chair.post("/programme/order", [
        ("area", "67/660/24613"), ("date", day), ("kind", "radio"),
        ("order", ids["Họp dân thôn 2"]), ("order", ids["Họp dân thôn 1"]),
        ("order", ids["Phòng chống bão số 9"]),
    ])
    assert r.status == 303, await r.text()
    status, page = await chair.get(f"/programme?date={day}&kind=radio")
    assert status == 200
    text = html_lib.unescape(page)
    view = web.s.programmes.view(SYSTEM, "67/660/24613", "radio", web.s.ctx.local_now().date())
    on_air = {p["bulletin_id"] for p in view["programme"]}
    assert on_air == {ids["Họp dân thôn 1"], ids["Phòng chống bão số 9"]}
    # The page tells the chair why the second commune bulletin is not on air, naming who took the room.
    assert "Chưa phát: Không còn chỗ" in text
    assert "«Phòng chống bão số 9»" in text and "«Họp dân thôn 1»" in text
