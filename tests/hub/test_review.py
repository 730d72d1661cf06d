"""Review before air (Art. 14.5) through the REST API, on the province's default policy and on a
two-group configuration (the Department "Sở" and the Propaganda Board "Ban Tuyên giáo"); and the
submit-time checks of validity and plays per day."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.config import ConfigError, ReviewConfig, build_config
from hub.models import AuditEntry, Bulletin, BulletinSignoff
from hub.roles import SYSTEM
from tests.hub.conftest import T0, Hub, make_config, running_hub
from tests.hub.test_api import TEXT

GROUPS = {"so": "Sở Thông tin và Truyền thông", "btg": "Ban Tuyên giáo Tỉnh ủy"}


def _default_policy(tmp: Path, **review: Any) -> Any:
    return make_config(tmp, review={"self_approve": ReviewConfig().self_approve, **review})


@pytest.fixture
async def strict(tmp_path: Path) -> AsyncIterator[Hub]:
    """The default self-approval policy, one sign-off."""
    async with running_hub(_default_policy(tmp_path)) as h:
        h.user("editor67b", "editor", "67")
        h.user("editor661", "editor", "67/661")
        h.user("reviewer661", "reviewer", "67/661")
        yield h


@pytest.fixture
async def two_groups(tmp_path: Path) -> AsyncIterator[Hub]:
    """Two sign-offs, one from each group."""
    async with running_hub(_default_policy(tmp_path, signoffs=2, groups=GROUPS)) as h:
        for name, group in (("so1", "so"), ("so2", "so"), ("btg1", "btg"), ("nogroup", "")):
            h.user(name, "reviewer", "67")
            if group:
                status, out = await h.call(
                    "PATCH", f"/api/v1/users/{name}", "admin1", json={"review_group": group}
                )
                assert status == 200 and out["review_group"] == group, out
        h.user("btg661", "reviewer", "67/661")
        status, _ = await h.call("PATCH", "/api/v1/users/btg661", "admin1", json={"review_group": "btg"})
        assert status == 200
        yield h


def audit(hub: Hub, action: str, outcome: str = "ok") -> list[AuditEntry]:
    with hub.s.ctx.db.session() as sess:
        return list(
            sess.scalars(select(AuditEntry).where(AuditEntry.action == action, AuditEntry.outcome == outcome))
        )


async def _create(hub: Hub, who: str, **over: Any) -> dict[str, Any]:
    status, b = await hub.call("POST", "/api/v1/bulletins", who, json={**TEXT, **over})
    assert status == 201, b
    return dict(b)


async def test_authors_of_province_and_district_bulletins_do_not_approve_them(strict: Hub) -> None:
    hub = strict
    b = await _create(hub, "editor67", targets=["67"])
    assert b["origin"] == "province" and "approve" not in b["actions"]
    status, out = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 403 and "người viết" in out["error"]["message"]
    assert audit(hub, "bulletin.approve", "denied")
    status, seen = await hub.call("GET", f"/api/v1/bulletins/{b['id']}", "editor67b")
    assert "approve" in seen["actions"]
    status, out = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67b")
    assert status == 200 and out["status"] == "approved"

    # a colleague who wrote a version is an author too
    d = await _create(hub, "editor660", targets=["67/660"])
    assert d["origin"] == "district"
    status, out = await hub.call(
        "PUT", f"/api/v1/bulletins/{d['id']}", "editor67b", json={**TEXT, "title": "Sửa"}
    )
    assert status == 200
    for who in ("editor660", "editor67b"):
        status, out = await hub.call("POST", f"/api/v1/bulletins/{d['id']}/approve", who)
        assert status == 403, (who, out)
    status, out = await hub.call("POST", f"/api/v1/bulletins/{d['id']}/approve", "editor67")
    assert status == 200 and out["status"] == "approved"

    # a commune's own bulletin: its chair may approve what they wrote
    c = await _create(hub, "chair24613", targets=["67/660/24613"])
    assert c["origin"] == "commune" and "approve" in c["actions"]
    status, out = await hub.call("POST", f"/api/v1/bulletins/{c['id']}/approve", "chair24613")
    assert status == 200 and out["status"] == "approved"

    # an emergency is not held back by the policy (Art. 8.1): its page is the second check
    e = await _create(hub, "editor67", priority="emergency", targets=["67/660"])
    status, out = await hub.call("POST", f"/api/v1/bulletins/{e['id']}/approve", "editor67")
    assert status == 200 and out["status"] == "approved"


async def test_the_author_cannot_take_a_sensitive_bulletin_out_of_review(strict: Hub) -> None:
    hub = strict
    b = await _create(hub, "editor67", sensitive=True)
    url = f"/api/v1/bulletins/{b['id']}"
    assert b["status"] == "in_review" and b["review"]["needed"] == 1
    assert b["actions"] == ["edit"]
    # untick "sensitive" in an edit: refused, nothing written
    status, out = await hub.call(
        "PUT", url, "editor67", json={**TEXT, "sensitive": False, "title": "Bỏ nhạy cảm"}
    )
    assert status == 403 and "người kiểm duyệt" in out["error"]["message"]
    assert audit(hub, "bulletin.unflag", "denied")
    status, now = await hub.call("GET", url, "editor67")
    assert (
        now["status"] == "in_review"
        and now["sensitive"]
        and now["version"] == 1
        and now["title"] == TEXT["title"]
    )
    # nor through the unflag endpoint, nor by approving it
    status, out = await hub.call("POST", f"{url}/unflag", "editor67", json={"reason": "không nhạy cảm"})
    assert status == 403
    status, out = await hub.call("POST", f"{url}/approve", "editor67")
    assert status == 403 and "kiểm duyệt" in out["error"]["message"]
    # an edit during review is a new version, still in review
    status, v2 = await hub.call("PUT", url, "editor67b", json={**TEXT, "sensitive": True, "title": "Bản sửa"})
    assert status == 200 and v2["status"] == "in_review" and v2["version"] == 2
    # a reviewer of another district cannot clear it; the province's reviewer can, with a reason, audited
    status, out = await hub.call("POST", f"{url}/unflag", "reviewer661", json={"reason": "x"})
    assert status == 403
    status, out = await hub.call("POST", f"{url}/unflag", "reviewer67", json={"reason": ""})
    assert status == 422 and out["error"]["field"] == "reason"
    status, out = await hub.call("POST", f"{url}/unflag", "reviewer67", json={"reason": "x" * 2001})
    assert status == 422
    status, seen = await hub.call("GET", url, "reviewer67")
    assert "unflag" in seen["actions"] and "signoff" in seen["actions"] and "edit" not in seen["actions"]
    status, out = await hub.call("POST", f"{url}/unflag", "reviewer67", json={"reason": "Tin y tế thường"})
    assert status == 200 and out["status"] == "submitted" and not out["sensitive"]
    [entry] = audit(hub, "bulletin.unflag")
    assert entry.username == "reviewer67" and entry.detail["reason"] == "Tin y tế thường"
    status, out = await hub.call("POST", f"{url}/unflag", "reviewer67", json={"reason": "lại"})
    assert status == 409  # replayed: nothing more to clear


async def test_flag_sends_a_bulletin_to_review_and_reject_tells_the_editor_why(strict: Hub) -> None:
    hub = strict
    b = await _create(hub, "editor67")
    url = f"/api/v1/bulletins/{b['id']}"
    status, out = await hub.call("POST", f"{url}/flag", "viewer", json={})
    assert status == 403
    status, out = await hub.call("POST", f"{url}/flag", "reviewer661", json={})
    assert status == 403  # not their area
    status, out = await hub.call("POST", f"{url}/flag", "reviewer67", json={"reason": "Vấn đề phức tạp"})
    assert status == 200 and out["status"] == "in_review" and out["sensitive"]
    assert audit(hub, "bulletin.flag")[0].detail["reason"] == "Vấn đề phức tạp"
    status, out = await hub.call("POST", f"{url}/flag", "editor67", json={})
    assert status == 409
    status, out = await hub.call("POST", f"{url}/approve", "editor67b")
    assert status == 403  # now a reviewer must see it
    status, out = await hub.call("POST", f"{url}/reject", "editor67b", json={"reason": "thử"})
    assert status == 403  # nor can an editor turn it back
    status, out = await hub.call(
        "POST", f"{url}/review", "reviewer67", json={"decision": "reject", "reason": "Cần nguồn chính thức"}
    )
    assert status == 200 and out["status"] == "rejected"
    status, seen = await hub.call("GET", url, "editor67")
    assert seen["rejected_reason"] == "Cần nguồn chính thức" and "submit" in seen["actions"]
    # resubmitted, it goes back to review: the mark stays
    status, out = await hub.call("POST", f"{url}/submit", "editor67")
    assert status == 200 and out["status"] == "in_review"


async def test_two_groups_sign_off_each_once_and_never_the_author(two_groups: Hub) -> None:
    hub = two_groups
    b = await _create(hub, "admin1", sensitive=True)
    url = f"/api/v1/bulletins/{b['id']}"
    review = b["review"]
    assert review["needed"] == 2 and [g["code"] for g in review["groups"]] == ["so", "btg"]
    status, _ = await hub.call("PATCH", "/api/v1/users/admin1", "admin1", json={"review_group": "so"})
    assert status == 200
    status, out = await hub.call("POST", f"{url}/review", "admin1", json={"decision": "approve"})
    assert status == 403 and "Người viết" in out["error"]["message"]  # the author, though a reviewer
    status, out = await hub.call("POST", f"{url}/unflag", "admin1", json={"reason": "tôi viết, tôi bỏ"})
    assert status == 403 and "Người viết" in out["error"]["message"]  # nor can the author clear the mark
    status, out = await hub.call("PUT", url, "admin1", json={**TEXT, "sensitive": False})
    assert status == 403
    status, seen = await hub.call("GET", url, "admin1")
    assert "unflag" not in seen["actions"] and "signoff" not in seen["actions"] and seen["sensitive"]
    status, out = await hub.call("POST", f"{url}/review", "nogroup", json={"decision": "approve"})
    assert status == 403 and "chưa thuộc nhóm" in out["error"]["message"]
    status, out = await hub.call("POST", f"{url}/review", "btg661", json={"decision": "approve"})
    assert status == 403  # another district's reviewer

    status, out = await hub.call("POST", f"{url}/review", "so1", json={"decision": "approve"})
    assert status == 200 and out["status"] == "in_review"
    assert [(s["username"], s["group"]) for s in out["review"]["signoffs"]] == [("so1", "so")]
    assert not hub.publisher.messages  # nothing goes out on one sign-off
    status, out = await hub.call("POST", f"{url}/review", "so1", json={"decision": "approve"})
    assert status == 409 and "một lần" in out["error"]["message"]  # replayed
    status, out = await hub.call("POST", f"{url}/approve", "so2")
    assert status == 403 and GROUPS["btg"] in out["error"]["message"]  # same group again
    status, seen = await hub.call("GET", url, "so2")
    assert "signoff" not in seen["actions"] and "reject" in seen["actions"]
    status, seen = await hub.call("GET", url, "btg1")
    assert "signoff" in seen["actions"]

    # an edit makes a new version: the sign-offs start again
    status, v2 = await hub.call(
        "PUT", url, "editor67", json={**TEXT, "sensitive": True, "text": "Nội dung sửa."}
    )
    assert status == 200 and v2["status"] == "in_review" and v2["review"]["signoffs"] == []
    status, out = await hub.call("POST", f"{url}/review", "btg1", json={"decision": "approve"})
    assert status == 200 and out["status"] == "in_review"
    status, out = await hub.call("POST", f"{url}/review", "so2", json={"decision": "approve"})
    assert status == 200 and out["status"] == "approved"
    assert {s["group"] for s in out["review"]["signoffs"]} == {"so", "btg"}
    await hub.s.publishing.flush()
    assert any(retained for _, _, retained in hub.publisher.messages)  # published with the last sign-off
    entries = audit(hub, "bulletin.signoff")
    assert [(e.username, e.detail["version"]) for e in entries] == [("so1", 1), ("btg1", 2), ("so2", 2)]
    assert len(audit(hub, "bulletin.signoff", "denied")) == 3  # the author, no group, a second "Sở"
    with hub.s.ctx.db.session() as sess:
        assert len(list(sess.scalars(select(BulletinSignoff)))) == 3
    status, out = await hub.call("POST", f"{url}/review", "so1", json={"decision": "approve"})
    assert status == 409  # approved: nothing left to sign


async def test_reviewer_groups_are_set_by_an_admin_and_checked(two_groups: Hub) -> None:
    hub = two_groups
    for body, field in (
        ({"review_group": "ban"}, "review_group"),
        ({"review_group": "x" * 41}, "review_group"),
        ({"review_group": 3}, None),
    ):
        status, out = await hub.call("PATCH", "/api/v1/users/so1", "admin1", json=body)
        assert status == 422, (body, out)
        if field:
            assert out["error"]["field"] == field
    status, out = await hub.call("PATCH", "/api/v1/users/viewer", "admin1", json={"review_group": "so"})
    assert status == 422 and "người kiểm duyệt" in out["error"]["message"]
    # nothing half-written: a bad group refuses the password change in the same request
    status, out = await hub.call(
        "PATCH", "/api/v1/users/so1", "admin1", json={"review_group": "ban", "disabled": True}
    )
    assert status == 422
    status, users = await hub.call("GET", "/api/v1/users", "admin1")
    so1 = next(u for u in users["users"] if u["username"] == "so1")
    assert not so1["disabled"] and so1["review_group"] == "so"
    status, out = await hub.call("PATCH", "/api/v1/users/so1", "editor67", json={"review_group": "btg"})
    assert status == 403
    status, out = await hub.call("PATCH", "/api/v1/users/so1", "admin1", json={"review_group": ""})
    assert status == 200 and out["review_group"] is None
    assert [e.detail for e in audit(hub, "user.review_group")][-1] == {"from": "so", "to": None}


async def test_submit_refuses_an_ended_validity_and_more_plays_than_windows(strict: Hub) -> None:
    hub = strict
    before = hub.count(Bulletin)
    ended = (T0 - timedelta(hours=1)).isoformat()
    status, out = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "valid_until": ended})
    assert status == 422 and out["error"]["field"] == "valid_until"
    assert "đã hết lúc 03:00 ngày 23/11/2026" in out["error"]["message"]  # local time, not UTC
    status, out = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "plays_per_day": 3})
    assert status == 422 and out["error"]["field"] == "plays_per_day"
    assert "2 khung giờ phát" in out["error"]["message"] and "05:00-06:30" in out["error"]["message"]
    status, out = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "plays_per_day": 49})
    assert status == 422
    assert hub.count(Bulletin) == before
    # a draft may be saved and fixed; its submit is refused while the validity has ended
    d = await _create(hub, "editor67", draft=True, valid_until=ended)
    status, out = await hub.call("POST", f"/api/v1/bulletins/{d['id']}/submit", "editor67")
    assert status == 422 and out["error"]["field"] == "valid_until"
    status, out = await hub.call("GET", f"/api/v1/bulletins/{d['id']}", "editor67")
    assert out["status"] == "draft"
    status, out = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "plays_per_day": 2})
    assert status == 201 and out["plays_per_day"] == 2
    # a commune with its own three windows (Art. 10.1) may have three plays; its neighbour still has two
    hub.s.windows.set_rule(
        SYSTEM,
        area="67/660/24613",
        kind="radio",
        effective_from="2026-11-23",
        windows=["05:00-06:00", "11:00-11:30", "17:00-18:00"],
    )
    status, out = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={**TEXT, "targets": ["67/660/24613"], "plays_per_day": 3},
    )
    assert status == 201, out
    status, out = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={**TEXT, "targets": ["67/660/24611"], "plays_per_day": 3},
    )
    assert status == 422 and "xã nhận có nhiều nhất 2 khung giờ phát" in out["error"]["message"]
    status, out = await hub.call(
        "POST", "/api/v1/bulletins", "editor67", json={**TEXT, "targets": ["67/660"], "plays_per_day": 4}
    )
    assert status == 422 and "địa bàn nhận có nhiều nhất 3 khung giờ phát" in out["error"]["message"]
    # an emergency is not bound by windows
    status, out = await hub.call(
        "POST", "/api/v1/bulletins", "editor67", json={**TEXT, "priority": "emergency", "plays_per_day": 5}
    )
    assert status == 201


def test_review_config_is_checked() -> None:
    with pytest.raises(ConfigError, match="one sign-off per group"):
        build_config({"review": {"signoffs": 1, "groups": GROUPS}}, environ={})
    with pytest.raises(ConfigError, match="unknown level 'ward'"):
        build_config({"review": {"self_approve": {"ward": True}}}, environ={})
    with pytest.raises(ConfigError, match=r"unknown setting review\.signof"):
        build_config({"review": {"signof": 2}}, environ={})
    cfg = build_config(
        {}, environ={"NGUON_HUB_REVIEW__SIGNOFFS": "2", "NGUON_HUB_REVIEW__GROUPS": '{"a": "A", "b": "B"}'}
    )
    assert cfg.review.signoffs == 2 and not cfg.review.may_self_approve("province")
    assert cfg.review.may_self_approve("commune")


def test_cli_sets_a_reviewers_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.__main__ import main  # noqa: PLC0415
    from hub.app import build_services  # noqa: PLC0415
    from hub.roles import SYSTEM  # noqa: PLC0415
    from tests.hub.conftest import PASSWORD  # noqa: PLC0415

    conf = tmp_path / "hub.toml"
    conf.write_text(
        f'data_dir = "{tmp_path / "hub"}"\n[mqtt]\nenabled = false\n[programme]\nscheduler = false\n'
        '[review]\nsignoffs = 2\ngroups = { so = "Sở TT&TT", btg = "Ban Tuyên giáo" }\n',
        encoding="utf-8",
    )
    s = build_services(
        build_config({"data_dir": str(tmp_path / "hub"), "mqtt": {"enabled": False}}, environ={})
    )
    s.accounts.create_user(SYSTEM, username="kd1", password=PASSWORD, role="reviewer")
    s.accounts.create_user(SYSTEM, username="bt1", password=PASSWORD, role="editor")
    s.ctx.db.dispose()
    assert main(["--config", str(conf), "user", "set-group", "kd1", "btg"]) == 0
    assert "kd1: review group btg" in capsys.readouterr().out
    assert main(["--config", str(conf), "user", "set-group", "kd1", "tuyen-giao"]) == 2
    assert "Không có nhóm kiểm duyệt 'tuyen-giao'" in capsys.readouterr().err
    assert main(["--config", str(conf), "user", "set-group", "bt1", "so"]) == 2
    assert main(["--config", str(conf), "user", "set-group", "nobody", "so"]) == 2
    assert main(["--config", str(conf), "user", "set-group", "kd1", ""]) == 0
    assert "kd1: review group (none)" in capsys.readouterr().out


async def test_malformed_review_requests_are_refused(strict: Hub) -> None:
    hub = strict
    b = await _create(hub, "editor67", sensitive=True)
    url = f"/api/v1/bulletins/{b['id']}"
    for path, body in (
        ("review", {"decision": "maybe"}),
        ("review", {"decision": "approve", "extra": 1}),
        ("review", {"decision": "reject", "reason": "x" * 2001}),
        ("flag", {"reason": 5}),
        ("unflag", {}),
    ):
        status, out = await hub.call("POST", f"{url}/{path}", "reviewer67", json=body)
        assert status == 422, (path, body, out)
    status, out = await hub.call("POST", f"{url}/review", "reviewer67", json={"decision": "reject"})
    assert status == 422 and out["error"]["field"] == "reason"
    status, out = await hub.call(
        "POST", "/api/v1/bulletins/b-nope/review", "reviewer67", json={"decision": "approve"}
    )
    assert status == 404
    status, now = await hub.call("GET", url, "reviewer67")
    assert now["status"] == "in_review" and now["review"]["signoffs"] == [] and now["sensitive"]
    # an emergency airs at once (Art. 8.1): it cannot wait in review
    status, out = await hub.call(
        "POST", "/api/v1/bulletins", "editor67", json={**TEXT, "priority": "emergency", "sensitive": True}
    )
    assert status == 422 and out["error"]["field"] == "sensitive"
