"""`central.confirm_minutes`: a central emergency waits N minutes for the duty editors, who see it on every
page; it airs when nobody acted, not when an editor refused it; audited either way. With 0 (the default) it
airs at once and the banner says so, with the way to cancel it."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.models import CentralRequest
from hub.roles import SYSTEM
from tests.central.conftest import CentralHub, alerts, central_config, vi_alert
from tests.hub.conftest import running_hub
from tests.web.conftest import Browserish


async def _page(h: CentralHub, who: str) -> str:
    b = Browserish(h.hub.client)
    r = await b.login(who)
    assert r.status == 303
    status, html = await b.get("/bulletins")
    assert status == 200
    return html


async def test_confirm_within_minutes_then_air(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    async with running_hub(central_config(tmp_path, key, confirm_minutes=5)) as hub:
        h = CentralHub(hub, key)
        s, quiet = await h.send(vi_alert("vn-wait-1", headline="Lũ quét: chờ xác nhận"))
        assert s == 200 and quiet["outcome"] == "pending"
        s, refused = await h.send(vi_alert("vn-wait-2", headline="Sạt lở: bị từ chối", codes=("24613",)))
        assert s == 200 and refused["outcome"] == "pending"
        assert alerts(hub) == []  # nothing aired yet
        html = await _page(h, "editor67")
        assert "Trung ương yêu cầu phát khẩn cấp" in html and "Lũ quét: chờ xác nhận" in html
        assert f"/bulletins/{quiet['bulletin']}" in html
        assert "Trung ương yêu cầu" not in await _page(h, "viewer")  # only those who can act see it
        # an editor refuses the second one; nobody acts on the first
        status, _ = await hub.call(
            "POST",
            f"/api/v1/bulletins/{refused['bulletin']}/reject",
            "editor67",
            json={"reason": "Đã xác minh: sai địa bàn"},
        )
        assert status == 200
        hub.clock.advance(4 * 60)
        assert await hub.s.central.air_due() == []  # not yet
        hub.clock.advance(61)
        assert await hub.s.central.air_due() == [quiet["bulletin"]]
        assert [a.identifier for _, a in alerts(hub)] == [quiet["bulletin"]]
        assert hub.s.bulletins.get(SYSTEM, refused["bulletin"])["status"] == "rejected"
        with hub.s.ctx.db.session() as sess:
            outcomes = {r.bulletin_id: r.outcome for r in sess.query(CentralRequest)}
        assert outcomes == {quiet["bulletin"]: "aired", refused["bulletin"]: "refused"}
        due = {e["target"]: e["detail"]["outcome"] for e in h.audit("central.air_due")}
        assert due == {quiet["bulletin"]: "aired", refused["bulletin"]: "refused"}
        html = await _page(h, "editor67")
        assert "đang phát" in html and f"/emergency/{quiet['bulletin']}" in html


async def test_at_once_by_default_with_the_banner(central: CentralHub) -> None:
    s, out = await central.send(vi_alert("vn-now"))
    assert s == 200 and out["outcome"] == "aired" and len(alerts(central.hub)) == 1
    html = await _page(central, "editor67")
    assert "đang phát" in html and f"/emergency/{out['bulletin']}" in html
    status, _ = await central.hub.call("POST", f"/api/v1/alerts/{out['bulletin']}/cancel", "editor67")
    assert status == 200  # the duty editor cancels it
    assert "Trung ương yêu cầu" not in await _page(central, "editor67")
