"""A device's page (Thiết bị → one device): the operator of its area issues a new MQTT password (shown once,
with what to do on the Pi) and removes the device after a confirmation naming it and its commune; both
audited. Hostile: another area's operator, the viewer, a bad CSRF token, a form posted twice."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.broker import check_password
from hub.models import AuditEntry, Device
from hub.roles import SYSTEM
from hub.services.publishing import RecordingPublisher
from protocol.clock import FrozenClock

from .conftest import PASSWORD, T0, WebHub, make_services, served

DEV, AREA = "loa-x", "67/660/24613"
SECRET_RE = re.compile(r'<input id="secret" readonly value="([^"]+)"')
WAS_RE = re.compile(r'name="was" value="([0-9a-f]+)"')


@pytest.fixture
async def managed(tmp_path: Path, blocking_on_loop: list[str]) -> AsyncIterator[WebHub]:
    """The web hub keeping the broker's files ([broker_files]: an ACL and password file in tmp)."""
    clock, publisher = FrozenClock(T0), RecordingPublisher()
    broker = {
        "acl": str(tmp_path / "acl"),
        "password_file": str(tmp_path / "passwd"),
        "reload_command": ["true"],
    }
    services = make_services(tmp_path, clock, publisher, extra={"broker_files": {"brokers": [broker]}})
    services.accounts.create_user(SYSTEM, username="oper611", password=PASSWORD, role="operator",
                                  area="67/660/24611")
    async with served(services, clock, publisher) as hub:
        yield hub
    assert not blocking_on_loop, "a page blocked the event loop:\n" + "\n".join(blocking_on_loop[:3])


def stored(web: WebHub) -> str | None:
    with web.s.ctx.db.session() as sess:
        d = sess.get(Device, DEV)
        return None if d is None else (d.broker_secret or "")


def audit(web: WebHub, action: str) -> list[AuditEntry]:
    with web.s.ctx.db.session() as sess:
        ok = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.outcome == "ok")
        return list(sess.scalars(ok))


async def test_new_mqtt_password_shown_once_and_only_to_the_areas_operator(managed: WebHub) -> None:
    first = managed.s.devices.register(SYSTEM, device_id=DEV, kind="radio", area=AREA, name="Cụm loa chợ")
    first_hash = stored(managed)
    assert first_hash and check_password(first["broker_password"], first_hash)
    oper = await managed.as_user("oper")
    status, html = await oper.get("/devices?q=loa-x")
    assert status == 200 and 'href="/devices/loa-x"' in html
    status, html = await oper.get("/devices/loa-x")
    assert status == 200 and "Cấp mật khẩu MQTT mới" in html and "Gỡ thiết bị" in html
    was = WAS_RE.search(html)
    assert was
    r = await oper.post("/devices/loa-x/broker-secret", {"was": was.group(1)})
    html = await r.text()
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store", html
    m = SECRET_RE.search(html)
    assert m and 'data-copy="secret"' in html
    password, new_hash = m.group(1), stored(managed)
    assert new_hash and new_hash != first_hash and check_password(password, new_hash)
    assert not check_password(first["broker_password"], new_hash)
    assert 'username = "loa-x"' in html and "/etc/nguon/mqtt-password" in html and "nguon-agent" in html
    assert [a.target for a in audit(managed, "device.broker_secret")] == [DEV]
    # the same form again (a reload of the answer, a replay): no second password unseen
    r = await oper.post("/devices/loa-x/broker-secret", {"was": was.group(1)})
    assert r.status == 409 and "đã được cấp lại" in await r.text() and stored(managed) == new_hash
    r = await oper.post("/devices/loa-x/broker-secret", {"was": "x" * 10_000})
    assert r.status == 409 and stored(managed) == new_hash
    fresh = WAS_RE.search((await oper.get("/devices/loa-x"))[1])
    assert fresh and fresh.group(1) != was.group(1)
    r = await oper.post("/devices/loa-x/broker-secret", {"was": fresh.group(1)}, csrf="wrong")
    assert r.status == 403 and stored(managed) == new_hash
    viewer = await managed.as_user("viewer")
    status, html = await viewer.get("/devices/loa-x")
    assert status == 200 and "Cấp mật khẩu MQTT mới" not in html and "Gỡ thiết bị" not in html
    r = await viewer.post("/devices/loa-x/broker-secret", {"was": was.group(1)})
    assert r.status == 403 and "Không có quyền" in await r.text() and stored(managed) == new_hash
    other = await managed.as_user("oper611")  # an operator of another commune: not even told it exists
    assert (await other.get("/devices/loa-x"))[0] == 404
    r = await other.post("/devices/loa-x/broker-secret", {"was": was.group(1)})
    assert r.status == 404 and stored(managed) == new_hash
    r = await oper.post("/devices/nope/broker-secret", {"was": was.group(1)})
    assert r.status == 404
    assert len(audit(managed, "device.broker_secret")) == 1


async def test_remove_after_a_confirmation_naming_the_device_and_commune(managed: WebHub) -> None:
    managed.s.devices.register(SYSTEM, device_id=DEV, kind="radio", area=AREA, name="Cụm loa chợ")
    commune = managed.s.areas.get(AREA).name
    viewer, other = await managed.as_user("viewer"), await managed.as_user("oper611")
    assert (await viewer.get("/devices/loa-x/remove"))[0] == 403
    assert (await other.get("/devices/loa-x/remove"))[0] == 404
    assert (await viewer.post("/devices/loa-x/remove", {})).status == 403
    assert (await other.post("/devices/loa-x/remove", {})).status == 404
    with managed.s.ctx.db.session() as sess:  # each of the viewer's refusals audited, once
        denied = sess.scalars(select(AuditEntry.username).where(AuditEntry.outcome == "denied")).all()
    assert denied == ["viewer", "viewer"]
    oper = await managed.as_user("oper")
    status, html = await oper.get("/devices/loa-x/remove")
    assert status == 200 and "Cụm loa chợ" in html and commune in html
    assert 'action="/devices/loa-x/remove"' in html
    assert (await oper.post("/devices/loa-x/remove", {}, csrf="wrong")).status == 403
    assert stored(managed) is not None  # nothing removed by any of these
    r = await oper.post("/devices/loa-x/remove", {})
    assert r.status == 303 and r.headers["Location"] == "/devices?removed=loa-x"
    assert stored(managed) is None
    status, html = await oper.get(r.headers["Location"])
    assert "Đã gỡ thiết bị loa-x khỏi danh mục" in html
    r = await oper.post("/devices/loa-x/remove", {})  # replayed: gone already, nothing more happens
    assert r.status == 404
    (entry,) = audit(managed, "device.remove")
    assert entry.target == DEV and entry.username == "oper" and entry.detail["area"] == AREA


async def test_without_managed_broker_files_the_page_says_how(web: WebHub) -> None:
    web.s.devices.register(SYSTEM, device_id=DEV, kind="radio", area=AREA)
    oper = await web.as_user("oper")
    status, html = await oper.get("/devices/loa-x")
    assert status == 200 and "python -m hub broker passwd" in html and "Cấp mật khẩu MQTT mới" not in html
    r = await oper.post("/devices/loa-x/broker-secret", {"was": "0"})
    assert r.status == 409 and "broker passwd" in await r.text()
