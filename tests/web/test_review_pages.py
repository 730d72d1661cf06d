"""Review before air (Art. 14.5) through the pages a person uses: each sees only the buttons they may use,
and a hand-made request for the others is refused; on the default self-approval policy and two reviewer
groups (Sở and Ban Tuyên giáo)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.config import ReviewConfig
from hub.models import AuditEntry, Bulletin
from hub.roles import SYSTEM
from hub.services.publishing import RecordingPublisher
from protocol.clock import FrozenClock

from .conftest import PASSWORD, T0, WebHub, make_services
from .pagehelp import bulletin_form, count

GROUPS = {"so": "Sở Thông tin và Truyền thông", "btg": "Ban Tuyên giáo Tỉnh ủy"}
APPROVE = 'value="approve"'
SIGNOFF = 'value="signoff"'


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[WebHub]:
    from aiohttp.test_utils import TestServer  # noqa: PLC0415

    from hub.app import build_app  # noqa: PLC0415

    clock, publisher = FrozenClock(T0), RecordingPublisher()
    review = {"self_approve": ReviewConfig().self_approve, "signoffs": 2, "groups": GROUPS}
    services = make_services(tmp_path, clock, publisher, review=review)
    for name, group in (("so1", "so"), ("so2", "so"), ("btg1", "btg")):
        services.accounts.create_user(SYSTEM, username=name, password=PASSWORD, role="reviewer", area="67")
        services.accounts.set_review_group(SYSTEM, name, group)
    services.accounts.create_user(SYSTEM, username="editor67b", password=PASSWORD, role="editor", area="67")
    server = TestServer(build_app(services.ctx.config, services=services))
    await server.start_server()
    hub = WebHub(services, server, clock, publisher)
    try:
        yield hub
    finally:
        await hub.close()
        await server.close()
        services.ctx.db.dispose()


async def _write(web: WebHub, who: str, *extra: tuple[str, str], **kw: object) -> str:
    ed = await web.as_user(who)
    r = await ed.post("/bulletins/new", [*bulletin_form(**kw), *extra])  # type: ignore[arg-type]
    assert r.status == 303, await r.text()
    return r.headers["Location"].rsplit("/", 1)[1]


async def test_author_sees_no_approve_button_and_cannot_approve_by_hand(web: WebHub) -> None:
    bid = await _write(web, "editor67", targets=("67",), title="Tin cấp tỉnh")
    ed = await web.as_user("editor67")
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Chờ duyệt" in html and APPROVE not in html and 'value="reject"' in html
    r = await ed.post(f"/bulletins/{bid}/action", {"action": "approve"})
    assert r.status == 403 and "người viết" in await r.text()
    other = await web.as_user("editor67b")
    _, html = await other.get(f"/bulletins/{bid}")
    assert APPROVE in html
    assert (await other.post(f"/bulletins/{bid}/action", {"action": "approve"})).status == 303
    _, html = await other.get(f"/bulletins/{bid}")
    assert "Đã duyệt" in html and 'value="recall"' in html and APPROVE not in html
    viewer = await web.as_user("viewer")
    _, html = await viewer.get(f"/bulletins/{bid}")
    assert 'name="action"' not in html and "không có thao tác nào" in html


async def test_sensitive_needs_both_groups_and_its_author_cannot_untick_it(web: WebHub) -> None:
    bid = await _write(web, "editor67", ("sensitive", "on"), title="Tin nhạy cảm")
    ed = await web.as_user("editor67")
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Chờ kiểm duyệt" in html and "Cần 2 chữ ký" in html and GROUPS["btg"] in html
    assert APPROVE not in html and SIGNOFF not in html and 'value="unflag"' not in html
    # the edit form shows the mark locked; a hand-made post without it is refused and changes nothing
    status, html = await ed.get(f"/bulletins/{bid}/edit")
    assert status == 200 and 'id="sensitive" checked disabled' in html and "chỉ người kiểm duyệt" in html
    r = await ed.post(f"/bulletins/{bid}/edit", bulletin_form(title="Không nhạy cảm nữa"))
    assert r.status == 403
    r = await ed.post(f"/bulletins/{bid}/action", {"action": "unflag", "reason": "tự bỏ"})
    assert r.status == 403
    with web.s.ctx.db.session() as sess:
        b = sess.get(Bulletin, bid)
        assert b is not None and b.sensitive and b.status == "in_review" and b.version == 1
    # an edit through the form keeps it in review, as version 2
    r = await ed.post(
        f"/bulletins/{bid}/edit", [*bulletin_form(title="Tin nhạy cảm (sửa)"), ("sensitive", "on")]
    )
    assert r.status == 303
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Chờ kiểm duyệt" in html and "Phiên bản 2" in html

    so1 = await web.as_user("so1")
    _, html = await so1.get(f"/bulletins/{bid}")
    assert SIGNOFF in html and 'value="unflag"' in html and 'value="reject"' in html
    assert (await so1.post(f"/bulletins/{bid}/action", {"action": "signoff"})).status == 303
    _, html = await so1.get(f"/bulletins/{bid}")
    assert "Chờ kiểm duyệt" in html and "so1 (Sở Thông tin và Truyền thông)" in html and SIGNOFF not in html
    r = await so1.post(f"/bulletins/{bid}/action", {"action": "signoff"})  # replayed
    assert r.status == 409 and "một lần" in await r.text()
    so2 = await web.as_user("so2")
    _, html = await so2.get(f"/bulletins/{bid}")
    assert SIGNOFF not in html  # the Department has signed: the Propaganda Board's turn
    r = await so2.post(f"/bulletins/{bid}/action", {"action": "signoff"})
    assert r.status == 403 and GROUPS["btg"] in await r.text()
    assert not web.publisher.messages
    btg = await web.as_user("btg1")
    assert (await btg.post(f"/bulletins/{bid}/action", {"action": "signoff"})).status == 303
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Đã duyệt" in html and "btg1 (Ban Tuyên giáo Tỉnh ủy)" in html


async def test_reviewer_flags_and_clears_with_a_reason(web: WebHub) -> None:
    bid = await _write(web, "editor67", title="Tin thường")
    ed = await web.as_user("editor67")
    _, html = await ed.get(f"/bulletins/{bid}")
    assert 'value="flag"' in html  # editors may mark it too
    rev = await web.as_user("so1")
    assert (
        await rev.post(f"/bulletins/{bid}/action", {"action": "flag", "reason": "Vấn đề biên giới"})
    ).status == 303
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Chờ kiểm duyệt" in html and "Nhạy cảm" in html and 'value="flag"' not in html
    r = await rev.post(f"/bulletins/{bid}/action", {"action": "unflag", "reason": ""})
    assert r.status == 422 and "lý do bỏ đánh dấu" in await r.text()
    assert (
        await rev.post(f"/bulletins/{bid}/action", {"action": "unflag", "reason": "Đã kiểm tra"})
    ).status == 303
    _, html = await ed.get(f"/bulletins/{bid}")
    assert "Chờ duyệt" in html and "Nhạy cảm" not in html
    with web.s.ctx.db.session() as sess:
        actions = [a.action for a in sess.scalars(select(AuditEntry).where(AuditEntry.target == bid))]
    assert "bulletin.flag" in actions and "bulletin.unflag" in actions


async def test_admin_sets_a_reviewers_group_on_the_users_page(web: WebHub) -> None:
    admin = await web.as_user("admin1")
    status, html = await admin.get("/users")
    assert status == 200 and "Nhóm kiểm duyệt" in html and 'id="group-so2"' in html
    assert 'id="group-editor67"' not in html  # only reviewers (and admins) belong to a group
    r = await admin.post("/users/so2/action", {"action": "group", "review_group": "btg"})
    assert r.status == 200 and "so2: nhóm kiểm duyệt Ban Tuyên giáo Tỉnh ủy" in await r.text()
    r = await admin.post("/users/so2/action", {"action": "group", "review_group": "ban-khac"})
    assert r.status == 422 and "Không có nhóm kiểm duyệt" in await r.text()
    r = await admin.post("/users/editor67/action", {"action": "group", "review_group": "so"})
    assert r.status == 422
    ed = await web.as_user("editor67")
    r = await ed.post("/users/so2/action", {"action": "group", "review_group": "so"})
    assert r.status == 403
    [u] = [u for u in web.s.accounts.list_users(SYSTEM) if u["username"] == "so2"]
    assert u["review_group"] == "btg"


async def test_form_refuses_an_ended_validity_and_too_many_plays(web: WebHub) -> None:
    ed = await web.as_user("editor67")
    before = count(web, Bulletin)
    r = await ed.post("/bulletins/new", [*bulletin_form(), ("valid_until", "2026-11-23T03:00")])
    html = await r.text()
    assert r.status == 422 and 'id="err-valid_until"' in html and "đã hết lúc 03:00 ngày 23/11/2026" in html
    r = await ed.post("/bulletins/new", bulletin_form(plays_per_day=3))
    html = await r.text()
    assert r.status == 422 and 'id="err-plays_per_day"' in html and "2 khung giờ phát" in html
    assert count(web, Bulletin) == before
