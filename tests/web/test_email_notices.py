"""Notifications by e-mail (issue 19, hub/services/mailer.py) through a real SMTP server in the process
(aiosmtpd): the Vietnamese message reaches the people concerned and no one else (not an editor of another
district, not a role that cannot act); an address is set on one's own page (Tài khoản) and a bad one is a
422 that says how to write it; a title cannot add mail headers; a failure is retried, logged and shown to
the administrator, never on a request's path."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from hub.config import EmailConfig
from hub.models import User
from hub.roles import SYSTEM
from hub.services.notices import Notice
from tests.tls import make_tls

from .conftest import PASSWORD, T0, WebHub
from .pagehelp import write

SENDER = "httt-nguon@tinh.gov.vn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """The SMTP server's side: every message it took, and an event per arrival (set on the test's loop)."""

    def __init__(self) -> None:
        self.got: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.arrived: asyncio.Event | None = None

    def bind(self) -> Inbox:
        """Arrivals are announced on the running test's loop."""
        self.loop, self.arrived = asyncio.get_running_loop(), asyncio.Event()
        return self

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.got.append((list(envelope.rcpt_tos), msg))
        if self.loop is not None and self.arrived is not None:
            self.loop.call_soon_threadsafe(self.arrived.set)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.got if address in rcpt]

    async def wait(self, n: int) -> None:
        assert self.arrived is not None
        async with asyncio.timeout(20):
            while len(self.got) < n:
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd, on its own thread) on a free port."""
    port, inbox = free_port(), Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield inbox, port
    finally:
        ctl.stop()


@contextlib.asynccontextmanager
async def mailing(web: WebHub, port: int, **cfg: Any) -> AsyncIterator[None]:
    """The hub's e-mail task running as app.py runs it, against the test's server."""
    m = web.s.mailer
    m.cfg = EmailConfig(
        enabled=True, host="127.0.0.1", port=port, starttls=False, sender=SENDER, poll_s=0.05,
        retry_s=0.01, timeout_s=5, **cfg,
    )  # fmt: skip
    await m.tick()  # the first look remembers what is there: no mail about the past
    task = asyncio.create_task(m.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def opt_in(web: WebHub, who: str, address: str) -> None:
    b = await web.as_user(who)
    r = await b.post("/account", {"email": address, "email_notices": "1"})
    assert r.status == 200, await r.text()
    assert "Thông báo sẽ được gửi cả qua thư điện tử" in await r.text()


async def test_notices_reach_the_right_people_only(web: WebHub, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp[0].bind(), smtp[1]
    web.s.accounts.create_user(SYSTEM, username="editor661", password=PASSWORD, role="editor", area="67/661")
    people = {
        "editor67": "bientap@tinh.gov.vn",  # approves in the province: gets "needs review"
        "editor660": "tacgia@giaynghia.gov.vn",  # the author: gets "rejected"
        "editor661": "khac@daklong.gov.vn",  # another district: nothing about 67/660
        "viewer": "xem@tinh.gov.vn",  # cannot act on a bulletin: only the emergency
        "chair24611": "ct24611@nghiaduc.gov.vn",  # approves only for the commune: not the district's
        "oper": "vanhanh@tinh.gov.vn",  # the province's operator: gets "device down"
    }
    for who, address in people.items():
        await opt_in(web, who, address)
    # someone who gave an address but did not ask for e-mail
    b = await web.as_user("reviewer67")
    assert (await b.post("/account", {"email": "kiemduyet@tinh.gov.vn"})).status == 200
    async with mailing(web, port):
        bid = await write(web, "editor660", title="Thông báo họp dân", targets=("67/660",))
        await inbox.wait(1)
        ed67 = await web.as_user("editor67")
        r = await ed67.post(f"/bulletins/{bid}/action", {"action": "reject", "reason": "Thiếu giờ họp."})
        assert r.status == 303
        await inbox.wait(2)
        second = await write(web, "editor660", title="Lịch cắt điện", targets=("67/660",))
        await inbox.wait(3)  # editor67: needs review
        assert (await ed67.post(f"/bulletins/{second}/action", {"action": "approve"})).status == 303
        await inbox.wait(4)  # editor660: approved
        web.s.devices.register(SYSTEM, device_id="loa-24613-01", kind="radio", area="67/660/24613")
        web.s.devices.ingest_status("loa-24613-01", {"state": "idle", "clock": "synced"})
        web.s.devices.ingest_status("loa-24613-01", {"state": "offline"})
        await inbox.wait(5)  # oper: device down
        emergency = [("title", "Sạt lở đất"), ("text", "Nguy cơ sạt lở, người dân rời khỏi chân đồi."),
                     ("targets", "67/660/24613"), ("kinds", "radio"), ("repeat_count", "1"),
                     ("repeat_interval_s", "30"), ("repeat_then_every_s", "0")]  # fmt: skip
        assert (await ed67.post("/emergency/send", emergency)).status == 303
        await inbox.wait(9)  # everyone who sees Phường Nghĩa Thành: emergency sent
        await asyncio.sleep(0.3)  # a few more looks: nothing else may arrive

    def subjects(who: str) -> list[str]:
        return [str(m["Subject"]).removeprefix("[HTTT nguồn] ") for m in inbox.to(people[who])]

    sent = "Đã phát khẩn cấp: Sạt lở đất"
    assert subjects("editor67") == [
        "Bản tin mới chờ duyệt: Thông báo họp dân",
        "Bản tin mới chờ duyệt: Lịch cắt điện",
        sent,
    ]
    rejected, approved, _ = inbox.to(people["editor660"])
    assert approved["Subject"] == "[HTTT nguồn] Bản tin của bạn đã được duyệt phát: Lịch cắt điện"
    assert subjects("oper") == ["Thiết bị mất kết nối: loa-24613-01", sent]
    assert subjects("viewer") == [sent] and subjects("editor660")[-1] == sent
    body = rejected.get_content()
    assert rejected["Subject"] == "[HTTT nguồn] Bản tin của bạn bị trả lại: Thông báo họp dân"
    assert "Lý do: Thiếu giờ họp." in body and "Người thực hiện: editor67" in body and "Kính gửi" in body
    assert rejected["From"] == f"HTTT nguồn <{SENDER}>"
    for who in ("editor661", "chair24611"):  # outside 67/660 and Phường Nghĩa Thành
        assert inbox.to(people[who]) == [], who
    assert inbox.to("kiemduyet@tinh.gov.vn") == []
    assert len(inbox.got) == 9 and all(len(rcpt) == 1 for rcpt, _ in inbox.got)


async def test_bad_addresses_are_refused_with_what_to_write(web: WebHub) -> None:
    b = await web.as_user("editor67")
    for bad in (
        "bientap@tinh",
        "bien tap@tinh.gov.vn",
        "a@b.vn\r\nBcc: ke@xau.vn",
        "Nguyễn@tinh.vn",
        "x" * 300,
    ):
        r = await b.post("/account", {"email": bad, "email_notices": "1"})
        html = await r.text()
        assert r.status == 422 and "ten@donvi.gov.vn" in html and 'aria-invalid="true"' in html, bad
    r = await b.post("/account", {"email": "", "email_notices": "1"})
    assert r.status == 422 and "Hãy nhập địa chỉ thư điện tử" in await r.text()
    with web.s.ctx.db.session() as sess:
        u = sess.scalars(select(User).where(User.username == "editor67")).one()
        assert (u.email, u.email_notices) == ("", False)  # nothing half-written
    status, html = await b.get("/account")
    assert status == 200 and "Nhận thông báo qua thư điện tử" in html


async def test_a_title_cannot_add_headers(web: WebHub, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp[0].bind(), smtp[1]
    m = web.s.mailer
    m.cfg = EmailConfig(enabled=True, host="127.0.0.1", port=port, starttls=False, sender=SENDER)
    with web.s.ctx.db.session() as sess:
        u = sess.scalars(select(User).where(User.username == "editor67")).one()
        sess.expunge(u)
    u.email = "bientap@tinh.gov.vn"  # (message() takes the address as stored: checked on the page)
    evil = "Tin\r\nBcc: ke@xau.vn\r\n\r\nNội dung giả"
    msg = m.message(u, Notice(T0, "review", "b-1", evil, by="x\nTo: ke@xau.vn"))
    assert "\n" not in msg["Subject"] and msg["Bcc"] is None
    assert await m.deliver(msg)
    await inbox.wait(1)
    rcpt, got = inbox.got[0]
    assert rcpt == ["bientap@tinh.gov.vn"] and got["Bcc"] is None and got["To"] == "bientap@tinh.gov.vn"


async def test_failures_are_retried_logged_and_shown_to_the_admin(
    web: WebHub, smtp: tuple[Inbox, int], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = smtp
    inbox.refuse.add("sai@tinh.gov.vn")
    m = web.s.mailer
    with web.s.ctx.db.session() as sess:
        u = sess.scalars(select(User).where(User.username == "editor67")).one()
        sess.expunge(u)
    notice = Notice(T0, "review", "b-1", "Lịch cắt điện")
    u.email = "sai@tinh.gov.vn"
    m.cfg = EmailConfig(enabled=True, host="127.0.0.1", port=port, starttls=False, sender=SENDER, retries=3)
    sends = 0
    real = m._send

    def counting(msg: EmailMessage) -> None:
        nonlocal sends
        sends += 1
        real(msg)

    m._send = counting  # type: ignore[method-assign]
    assert not await m.deliver(m.message(u, notice))
    assert sends == 1  # the address was refused: a retry would not change that
    closed = free_port()  # nothing listens there: tried 1 + 2 times, then given up
    m.cfg = EmailConfig(
        enabled=True, host="127.0.0.1", port=closed, starttls=False, sender=SENDER, retries=2, retry_s=0.01
    )
    sends, u.email = 0, "bientap@tinh.gov.vn"
    assert not await m.deliver(m.message(u, notice))
    assert sends == 3 and any("not sent" in r.message for r in caplog.records)
    m.cfg = EmailConfig(enabled=True, host="127.0.0.1", port=port, starttls=False, sender=SENDER, queue_max=1)
    m.queue = asyncio.Queue(maxsize=1)
    assert m.offer(m.message(u, notice)) and not m.offer(m.message(u, notice))  # bounded: the second dropped
    _, html = await (await web.as_user("admin1")).get("/")
    status = html.split('id="mail-status"')[1][:3000]
    assert "3 không gửi được" in status and "sai@tinh.gov.vn" in status and "hàng đợi đầy" in status


async def test_starttls_and_login_with_the_provinces_ca(web: WebHub, tmp_path: Path) -> None:
    """STARTTLS before the login, the server's certificate checked against `ca_file`; a wrong password is
    refused once (no retry); a certificate from an unknown CA is never sent to."""
    tls = make_tls(tmp_path / "tls")
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tls.cert, tls.key)
    logins: list[tuple[bytes, bytes, bool]] = []

    def check(_server: Any, session: Any, _env: Any, _mech: str, data: Any) -> AuthResult:
        logins.append((data.login, data.password, session.ssl is not None))
        return AuthResult(success=(data.login, data.password) == (b"httt-nguon", b"mat-khau-smtp"))

    port, inbox = free_port(), Inbox()
    ctl = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
        auth_required=True, authenticator=check,
    )  # fmt: skip
    ctl.start()
    try:
        secret = tmp_path / "smtp.secret"
        secret.write_text("mat-khau-smtp\n", encoding="utf-8")
        base = {"enabled": True, "host": "127.0.0.1", "port": port, "sender": SENDER, "retries": 0,
                "username": "httt-nguon", "password_file": str(secret), "timeout_s": 5}  # fmt: skip
        m = web.s.mailer
        with web.s.ctx.db.session() as sess:
            u = sess.scalars(select(User).where(User.username == "editor67")).one()
            sess.expunge(u)
        u.email = "bientap@tinh.gov.vn"
        msg = m.message(u, Notice(T0, "review", "b-1", "Lịch cắt điện"))
        m.cfg = EmailConfig(**base, ca_file=str(tls.ca))
        assert await m.deliver(msg)
        assert logins == [(b"httt-nguon", b"mat-khau-smtp", True)]  # logged in over TLS only
        assert [rcpt for rcpt, _ in inbox.got] == [["bientap@tinh.gov.vn"]]
        secret.write_text("sai", encoding="utf-8")
        assert not await m.deliver(msg) and len(logins) == 2
        secret.write_text("mat-khau-smtp", encoding="utf-8")
        m.cfg = EmailConfig(**base)  # the system's CAs do not know the province's
        assert not await m.deliver(msg) and len(logins) == 2
        assert "CERTIFICATE_VERIFY_FAILED" in m.failures[-1].error and len(inbox.got) == 1
    finally:
        ctl.stop()
