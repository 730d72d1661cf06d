"""Tọa độ: an operator sets a device's coordinates on the Thiết bị page (decimal comma or point), only within
Vietnam, with a message saying what to fix; the map shows them (the API: tests/hub/test_stats_api.py)."""

from __future__ import annotations

from hub.models import Device
from hub.roles import SYSTEM

from .conftest import WebHub


def where(web: WebHub, dev: str) -> tuple[float | None, float | None]:
    with web.s.ctx.db.session() as sess:
        d = sess.get(Device, dev)
        assert d is not None
        return d.lat, d.lon


async def test_operator_sets_coordinates_within_vietnam(web: WebHub) -> None:
    web.s.devices.register(SYSTEM, device_id="loa-x", kind="radio", area="67/660/24613")
    oper = await web.as_user("oper")
    status, html = await oper.get("/devices?q=loa-x")
    assert status == 200 and 'action="/devices/loa-x/location"' in html and 'id="lat-loa-x"' in html
    r = await oper.post("/devices/loa-x/location", {"lat": "12,0045", "lon": " 107.6903 "})
    assert r.status == 303, await r.text()
    assert where(web, "loa-x") == (12.0045, 107.6903)
    status, html = await oper.get("/devices?q=loa-x&located=loa-x&device=loa-x")
    assert "Đã lưu tọa độ của loa-x." in html and 'value="12.0045"' in html
    status, html = await oper.get("/map")
    assert status == 200 and "loa-x" in html
    for lat, lon, says in (
        ("107.69", "12.0", "Kiểm tra xem vĩ độ và kinh độ có bị đổi chỗ không"),  # swapped
        ("48.85", "2.35", "nằm ngoài Việt Nam"),  # Paris
        ("0", "0", "nằm ngoài Việt Nam"),  # a GPS without a fix
        ("abc", "107", "Vĩ độ phải là một số độ thập phân"),
        ("12", "nan", "Kinh độ phải là một số độ thập phân"),
        ("1" * 5000, "107", "Vĩ độ phải là một số độ thập phân"),
    ):
        r = await oper.post("/devices/loa-x/location", {"lat": lat, "lon": lon})
        html = await r.text()
        assert r.status == 422 and says in html, (lat, lon, html.split('class="error"')[1][:400])
    assert where(web, "loa-x") == (12.0045, 107.6903)  # nothing written
    r = await oper.post("/devices/nope/location", {"lat": "12", "lon": "107"})
    assert r.status == 404
    viewer = await web.as_user("viewer")
    r = await viewer.post("/devices/loa-x/location", {"lat": "11", "lon": "107"})
    assert r.status == 403 and where(web, "loa-x") == (12.0045, 107.6903)
    r = await oper.post("/devices/loa-x/location", {"lat": "11", "lon": "107"}, csrf="wrong")
    assert r.status == 403 and where(web, "loa-x") == (12.0045, 107.6903)
