"""Edits before approval keep versions (PUT /bulletins/{id}); after approval an edit is refused clearly."""

from __future__ import annotations

from typing import Any

from hub.models import BulletinVersion, Speech
from tests.hub.conftest import Hub

V1 = {
    "title": "Lịch tiêm chủng",
    "priority": "priority",
    "text": "Tiêm chủng ngày 25/11 tại trạm y tế.",
    "targets": ["67/660"],
    "kinds": ["radio"],
}
V2 = {**V1, "title": "Lịch tiêm chủng (sửa)", "text": "Tiêm chủng ngày 26/11 tại trạm y tế xã."}


async def test_edits_keep_versions_then_approval_freezes(hub: Hub) -> None:
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=V1)
    assert status == 201 and b["version"] == 1 and b["status"] == "submitted"
    url = f"/api/v1/bulletins/{b['id']}"
    status, b2 = await hub.call("PUT", url, "editor660", json=V2)  # a colleague whose area covers the targets
    assert status == 200, b2
    assert b2["version"] == 2 and b2["status"] == "submitted" and b2["title"] == V2["title"]
    assert b2["speech"]["sha256"] != b["speech"]["sha256"]  # the new text was spoken again
    bad = {**V2, "text": "   "}
    status, err = await hub.call("PUT", url, "editor67", json=bad)
    assert status == 422 and err["error"]["field"] == "text"
    status, err = await hub.call("PUT", url, "viewer", json=V2)
    assert status == 403
    status, err = await hub.call("PUT", url, "chair24613", json=V2)  # targets the whole district: not his
    assert status == 403

    status, full = await hub.call("GET", url, "chair24613")
    assert status == 200
    versions = full["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["created_by"] for v in versions] == ["editor67", "editor660"]
    assert versions[0]["content"]["text"] == V1["text"] and versions[1]["content"]["text"] == V2["text"]
    assert versions[1]["changed"] == ["text", "title"]
    assert hub.count(Speech) == 2  # each version keeps the speech it was approved on

    status, _ = await hub.call("POST", f"{url}/approve", "editor67")
    assert status == 200
    status, err = await hub.call("PUT", url, "editor67", json={**V2, "title": "Sửa sau khi duyệt"})
    assert status == 409 and err["error"]["field"] == "status"
    assert "không sửa được" in err["error"]["message"] and "thu hồi" in err["error"]["message"]
    assert hub.count(BulletinVersion) == 2
    status, full = await hub.call("GET", url, "editor67")
    assert full["title"] == V2["title"] and full["version"] == 2


async def test_draft_edit_is_not_spoken_and_rejected_goes_back_to_draft(hub: Hub) -> None:
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**V1, "draft": True})
    assert status == 201 and b["status"] == "draft"
    url = f"/api/v1/bulletins/{b['id']}"
    status, b = await hub.call("PUT", url, "editor67", json=V2)
    assert status == 200 and b["status"] == "draft" and b["speech"] is None and b["version"] == 2
    status, b = await hub.call("POST", f"{url}/submit", "editor67")
    assert status == 200 and b["status"] == "submitted" and b["speech"] is not None
    status, b = await hub.call("POST", f"{url}/reject", "editor67", json={"reason": "Sai ngày"})
    assert status == 200 and b["status"] == "rejected"
    status, b = await hub.call("PUT", url, "editor67", json=V1)
    assert status == 200 and b["status"] == "draft" and b["version"] == 3


async def test_approval_during_speech_wins_over_the_edit(hub: Hub) -> None:
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=V1)
    assert status == 201
    real = hub.s.bulletins.speech
    reviewer = hub.s.accounts.authenticate((await hub.login("editor660"))["Authorization"][7:], kind="api")[0]

    class ApproveWhileSpeaking:
        """The real speech service, with a colleague approving while the edited text is spoken."""

        async def speak(self, text: str, *, voice: str | None = None) -> Any:
            hub.s.bulletins.approve(reviewer, b["id"])
            return await real.speak(text)

    hub.s.bulletins.speech = ApproveWhileSpeaking()
    try:
        status, err = await hub.call("PUT", f"/api/v1/bulletins/{b['id']}", "editor67", json=V2)
    finally:
        hub.s.bulletins.speech = real
    assert status == 409, err
    status, full = await hub.call("GET", f"/api/v1/bulletins/{b['id']}", "editor67")
    assert full["status"] == "approved" and full["text"] == V1["text"] and len(full["versions"]) == 1
