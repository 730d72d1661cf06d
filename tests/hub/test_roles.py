"""The roles' boundaries (hub/roles.py): each refusal is a 403 with an audit entry (or the login rules)."""

from __future__ import annotations

from sqlalchemy import select

from hub.models import AuditEntry, PublishedProgramme
from hub.roles import SYSTEM
from tests.hub.conftest import PASSWORD, Hub
from tests.hub.test_api import TEXT


def denied(hub: Hub, action: str) -> list[AuditEntry]:
    with hub.s.ctx.db.session() as sess:
        return list(
            sess.scalars(
                select(AuditEntry).where(AuditEntry.action == action, AuditEntry.outcome == "denied")
            )
        )


async def _approved(hub: Hub, priority: str = "priority", targets: list[str] | None = None) -> str:
    status, b = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={**TEXT, "priority": priority, "targets": targets or ["67"]},
    )
    assert status == 201, b
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200, b
    return str(b["id"])


async def test_chair_cannot_reorder_another_commune(hub: Hub) -> None:
    a, b = await _approved(hub), await _approved(hub)
    body = {"area": "67/660/24611", "date": "2026-11-23", "order": [b, a]}
    status, out = await hub.call("PUT", "/api/v1/programme/order", "chair24613", json=body)
    assert status == 403, out
    assert denied(hub, "programme.arrange")
    status, out = await hub.call(
        "PUT", "/api/v1/programme/order", "chair24613", json={**body, "area": "67/660/24613"}
    )
    assert status == 200, out
    status, prog = await hub.call(
        "GET", "/api/v1/programme?area=67/660/24613&kind=radio&date=2026-11-23", "chair24613"
    )
    assert [i["bulletin_id"] for i in prog["programme"]] == [b, a]
    # a normal bulletin cannot be put in the priority order
    n = await _approved(hub, "normal")
    status, out = await hub.call(
        "PUT", "/api/v1/programme/order", "chair24613", json={**body, "area": "67/660/24613", "order": [n]}
    )
    assert status == 422 and out["error"]["field"] == "order"
    # a normal bulletin nobody chose does not air (Art. 8.3), and another commune's chair cannot choose it
    status, prog = await hub.call(
        "GET", "/api/v1/programme?area=67/660/24613&kind=radio&date=2026-11-23", "chair24613"
    )
    assert {u["bulletin_id"]: u["reason"] for u in prog["unscheduled"]} == {n: "not_selected"}
    status, out = await hub.call(
        "PUT",
        "/api/v1/programme/selection",
        "chair24611",
        json={"area": "67/660/24613", "date": "2026-11-23", "selection": [n]},
    )
    assert status == 403, out
    status, prog = await hub.call(
        "GET", "/api/v1/programme?area=67/660/24613&kind=radio&date=2026-11-23", "chair24613"
    )
    assert n not in prog["selection"] and prog["choices"][n] == {"chosen": False, "by": "waiting"}


async def test_editor_cannot_approve_sensitive_without_review(hub: Hub) -> None:
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "sensitive": True})
    assert status == 201 and b["status"] == "in_review"
    status, out = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 403 and "kiểm duyệt" in out["error"]["message"]
    assert denied(hub, "bulletin.review")
    status, out = await hub.call(
        "POST", f"/api/v1/bulletins/{b['id']}/review", "reviewer67", json={"decision": "approve"}
    )
    assert status == 200 and out["status"] == "approved"


async def test_reject_needs_reason_and_viewer_cannot_write(hub: Hub) -> None:
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=TEXT)
    status, out = await hub.call(
        "POST", f"/api/v1/bulletins/{b['id']}/reject", "editor67", json={"reason": ""}
    )
    assert status == 422 and out["error"]["field"] == "reason"
    status, out = await hub.call(
        "POST", f"/api/v1/bulletins/{b['id']}/reject", "editor67", json={"reason": "Sai ngày"}
    )
    assert status == 200 and out["status"] == "rejected" and out["rejected_reason"] == "Sai ngày"
    status, out = await hub.call("POST", "/api/v1/bulletins", "viewer", json=TEXT)
    assert status == 403
    status, out = await hub.call(
        "POST", "/api/v1/users", "editor67", json={"username": "x", "password": PASSWORD, "role": "viewer"}
    )
    assert status == 403
    status, out = await hub.call("GET", "/api/v1/audit", "editor67")
    assert status == 403
    status, out = await hub.call("GET", "/api/v1/audit", "admin1")
    assert status == 200 and any(e["outcome"] == "denied" for e in out["entries"])


async def test_emergency_needs_editor_rights(hub: Hub) -> None:
    status, out = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "chair24613",
        json={**TEXT, "priority": "emergency", "targets": ["67/660/24613"]},
    )
    assert status == 403
    bid = await _approved(hub, "emergency", ["67/660"])
    alerts = [t for t, _, retained in hub.publisher.messages if not retained]
    assert alerts == ["nguon/v1/area/67/660/alert"]
    status, out = await hub.call("POST", f"/api/v1/alerts/{bid}/cancel", "editor67")
    assert status == 200 and out["status"] == "cancelled"


async def test_users_api_passwords_disable_and_lockout(hub: Hub) -> None:
    base = {"username": "newchair", "role": "commune_chair", "area": "67/660/24631"}
    for pw in ("short1A", "password1234", "newchair-Password1"):  # zxcvbn: too short, common, own name
        status, out = await hub.call("POST", "/api/v1/users", "admin1", json={**base, "password": pw})
        assert status == 422 and out["error"]["field"] == "password", (pw, out)
    status, out = await hub.call(
        "POST", "/api/v1/users", "admin1", json={**base, "area": "67/660", "password": PASSWORD}
    )
    assert status == 422 and out["error"]["field"] == "area"
    status, out = await hub.call("POST", "/api/v1/users", "admin1", json={**base, "password": PASSWORD})
    assert status == 201, out
    await hub.login("newchair")
    # disabled: the token dies and login is refused
    status, out = await hub.call("PATCH", "/api/v1/users/newchair", "admin1", json={"disabled": True})
    assert status == 200 and out["disabled"]
    r = await hub.client.get("/api/v1/me", headers={"Authorization": f"Bearer {hub.tokens['newchair']}"})
    assert r.status == 401
    r = await hub.client.post("/api/v1/auth/login", json={"username": "newchair", "password": PASSWORD})
    assert r.status == 401 and (await r.json())["error"]["code"] == "account_disabled"
    # lockout after 5 failures, growing, and it waits
    for _ in range(5):
        r = await hub.client.post(
            "/api/v1/auth/login", json={"username": "viewer", "password": "Wrong-pass-123"}
        )
        assert r.status == 401
    r = await hub.client.post("/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert r.status == 429 and int(r.headers["Retry-After"]) == 31
    hub.clock.advance(31)
    r = await hub.client.post("/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD})
    assert r.status == 200


async def test_recall_and_confirmations(hub: Hub) -> None:
    bid = await _approved(hub, "priority", ["67/660/24613"])
    status, out = await hub.call(
        "POST", f"/api/v1/bulletins/{bid}/recall", "chair24611", json={"reason": "Sai"}
    )
    assert status == 403
    status, out = await hub.call(
        "POST", f"/api/v1/bulletins/{bid}/recall", "editor67", json={"reason": "Sai"}
    )
    assert status == 200 and out["status"] == "recalled"
    await hub.s.publishing.flush()
    assert any(t == "nguon/v1/area/67/660/24613/alert" for t, _, r in hub.publisher.messages if not r)
    # believed only from a device the recall was for (tests/security/test_device_reports.py)
    hub.s.devices.register(SYSTEM, device_id="radio-9", kind="radio", area="67/660/24613")
    hub.s.devices.ingest_events(
        "radio-9",
        {
            "id": "radio-9:1",
            "device_id": "radio-9",
            "type": "recall_confirmed",
            "at": "2026-11-23T04:01:00+07:00",
            "data": {"bulletin_id": bid},
        },
    )
    status, out = await hub.call("GET", f"/api/v1/bulletins/{bid}", "editor67")
    assert [c["device_id"] for c in out["recall_confirmations"]] == ["radio-9"]
    body = hub.s.ctx.db  # the republished programme lists it as recalled
    with body.session() as sess:
        row = sess.scalar(select(PublishedProgramme).where(PublishedProgramme.area_path == "67/660/24613"))
        assert row is not None and bid in row.body["recalled"]
