"""Tiếp sóng in the pages: the editorial board adds a relay, the form refuses one outside the windows with the
reason and keeps what was typed, the chair's programme screen shows the relay at its time, the chair edits
and deletes a relay of the commune, and cannot touch the province's."""

from __future__ import annotations

import html as htmllib

from hub.models import RelayRow
from hub.roles import SYSTEM

from .conftest import WebHub
from .pagehelp import count, write

OWN = "67/660/24613"


async def test_relay_form_window_check_programme_view_edit_and_delete(web: WebHub) -> None:
    bid = await write(web, title="Lịch tiêm chủng", targets=(OWN,))
    ed = await web.as_user("editor67")
    assert (await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    status, page = await ed.get("/relays?area=67")
    assert status == 200 and 'id="relay-form"' in page and 'href="/relays"' in page  # the menu links here
    form = {"area": "67", "title": "Thời sự VOV", "source": "https://radio.example.vn/vov1.mp3",
            "start": "06:20", "minutes": "15", "days": "daily", "dates": ""}
    r = await ed.post("/relays", form)  # 06:20-06:35 leaves the 05:00-06:30 window
    text = htmllib.unescape(await r.text())
    assert r.status == 422 and "không nằm trọn trong một khung giờ phát" in text
    assert 'value="https://radio.example.vn/vov1.mp3"' in text  # what was typed is kept
    r = await ed.post("/relays", {**form, "start": "06:00"})
    assert r.status == 303, await r.text()
    status, page = await ed.get(r.headers["Location"])
    assert "Đã thêm lịch tiếp sóng" in page and "06:00–06:15" in page

    chair = await web.as_user("chair24613")
    status, page = await chair.get("/programme?date=2026-11-23")
    text = htmllib.unescape(page)
    assert status == 200 and "Tiếp sóng</span>" in text and "Thời sự VOV" in text
    assert "06:00:00–06:15:00" in text and "Lịch tiêm chủng" in text  # the bulletin beside the relay
    status, page = await chair.get(f"/relays?area={OWN}")
    assert "Thời sự VOV" in page and "Sửa lịch tiếp sóng Thời sự VOV" not in page  # the province's: read only
    with web.s.ctx.db.session() as sess:
        province_relay = sess.query(RelayRow).one().id
    r = await chair.post(f"/relays/{province_relay}/delete", {"area": OWN})
    assert r.status == 403

    r = await chair.post("/relays", {**form, "area": OWN, "title": "Đài tỉnh", "start": "17:30"})
    assert r.status == 303, await r.text()
    with web.s.ctx.db.session() as sess:
        mine = sess.query(RelayRow).filter(RelayRow.title == "Đài tỉnh").one().id
    status, page = await chair.get(f"/relays?area={OWN}&edit={mine}")
    assert "Sửa lịch tiếp sóng «Đài tỉnh»" in htmllib.unescape(page)
    r = await chair.post(f"/relays/{mine}", {**form, "area": OWN, "title": "Đài tỉnh", "start": "18:00"})
    assert r.status == 303, await r.text()
    status, page = await chair.get(r.headers["Location"])
    assert "18:00–18:15" in page
    r = await chair.post(f"/relays/{mine}/delete", {"area": OWN})
    assert r.status == 303
    assert count(web, RelayRow) == 1

    # the loudspeaker's report of the relay in the play log: minutes relayed and gaps
    web.s.devices.register(SYSTEM, device_id="loa-1", kind="radio", area=OWN)
    data = {"bulletin_id": province_relay, "outcome": "completed", "relay": True, "relayed_s": 840.0,
            "started_at": "2026-11-23T06:00:00+07:00", "ended_at": "2026-11-23T06:15:00+07:00",
            "gaps": [{"from": "2026-11-23T06:05:00+07:00", "to": "2026-11-23T06:06:00+07:00",
                      "why": "mất luồng"}]}
    ev = {"id": "e1", "device_id": "loa-1", "type": "play", "at": "2026-11-23T06:15:00+07:00", "data": data}
    assert web.s.devices.ingest_events("loa-1", [ev]) == 1
    status, page = await chair.get("/plays")
    text = htmllib.unescape(page)
    assert status == 200 and "Tiếp sóng</span>" in text and "Thời sự VOV" in text
    assert "14.0 phút, 1 lần gián đoạn" in text
    # a report with odd fields (the hub stores what a device says) still shows
    odd = {**data, "relayed_s": "many", "gaps": "none"}
    assert web.s.devices.ingest_events("loa-1", [{**ev, "id": "e2", "data": odd}]) == 1
    status, page = await chair.get("/plays")
    assert status == 200 and "? phút, 0 lần gián đoạn" in page
