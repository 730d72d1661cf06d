"""Notifications by e-mail (issue 19), optional: the same notices as the start page's (hub/services/notices.py
decides who is concerned: their role and their area), sent through the SMTP server of [email] in the hub's
configuration to the people who gave an address and asked for them on their own page (Tài khoản).

Never on a request's path: an owned background task (hub/app.py) looks for new notices every `poll_s`,
puts the messages on a bounded queue (a full queue drops the message, logs it and counts it) and sends
them one by one off the event loop, retrying a server that did not answer (`retries`, waits doubling from
`retry_s`); a refusal that will not change (the address refused, the login refused) is not retried. Every
failure is logged and kept for the administrator's start page (`status`).
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy import select

from hub.config import EmailConfig
from hub.models import User
from hub.services.accounts import actor_for
from hub.services.base import Context
from hub.services.email_address import one_line
from hub.services.notices import NOTICE_VI, Notice, NoticeService, notice_link

log = logging.getLogger(__name__)

MARGIN = timedelta(minutes=15)  # looked at again each time: late commits, a device silent before its will
FAILURES_KEPT = 50
# refusals a retry will not change
PERMANENT = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError)


@dataclass(frozen=True)
class Failure:
    at: datetime
    to: str
    subject: str
    error: str


class Mailer:
    def __init__(self, ctx: Context, notices: NoticeService) -> None:
        self.ctx, self.notices = ctx, notices
        self.cfg: EmailConfig = ctx.config.email
        self.queue: asyncio.Queue[EmailMessage] | None = None  # made on the task's loop
        self.failures: deque[Failure] = deque(maxlen=FAILURES_KEPT)
        self.sent = 0
        self.dropped = 0
        self._mailed: dict[tuple[int, str, str, datetime], datetime] = {}  # notice -> when looked at
        self._started = False

    # -- finding what to send (on a worker thread: it reads the database) --

    def collect(self) -> list[EmailMessage]:
        """The messages of the notices new since the last look, for every user who asked for them. The
        first look only remembers what is there (no mail about the past when the hub starts)."""
        now = self.ctx.now()
        out: list[EmailMessage] = []
        with self.ctx.db.session() as sess:
            users = list(
                sess.scalars(
                    select(User).where(
                        User.email_notices.is_(True), User.email != "", User.disabled.is_(False)
                    )
                )
            )
            sess.expunge_all()
        for u in users:
            for n in self.notices.for_actor(actor_for(u), after=now - MARGIN, limit=100):
                key = (u.id, n.kind, n.target, n.at)
                if key in self._mailed:
                    continue
                self._mailed[key] = now
                if self._started:
                    out.append(self.message(u, n))
        self._mailed = {k: v for k, v in self._mailed.items() if v > now - 2 * MARGIN}
        self._started = True
        return out

    def message(self, u: User, n: Notice) -> EmailMessage:
        """One notice as a Vietnamese e-mail to one person (headers without line breaks, whatever a title
        holds)."""
        what = NOTICE_VI[n.kind]
        tz = self.ctx.tz
        lines = [f"Kính gửi {one_line(u.full_name or u.username)},", "", f"{what}: {one_line(n.label, 300)}"]
        if n.reason:
            lines.append(f"Lý do: {n.reason}")
        if n.by:
            lines.append(f"Người thực hiện: {one_line(n.by)}")
        lines.append(f"Thời gian: {n.at.astimezone(tz).strftime('%H:%M %d/%m/%Y')}")
        base = self.ctx.config.http.public_url.rstrip("/")
        if base:
            lines.append(f"Xem: {base}{notice_link(n)}")
        lines += [
            "",
            "Thư này do Hệ thống thông tin nguồn gửi tự động. Để thôi nhận thư, hãy bỏ chọn "
            "“Nhận thông báo qua thư điện tử” ở trang Tài khoản của bạn.",
        ]
        msg = EmailMessage()
        msg["Subject"] = one_line(f"[HTTT nguồn] {what}: {n.label}", 180)
        msg["From"] = formataddr(("HTTT nguồn", self.cfg.sender))
        msg["To"] = u.email
        msg["Message-ID"] = make_msgid(domain=self.cfg.sender.rpartition("@")[2] or None)
        msg.set_content("\n".join(lines))
        return msg

    # -- the queue and the sending (the owned task) --

    def offer(self, msg: EmailMessage) -> bool:
        """Queue a message; a full queue drops it (logged, counted, shown to the administrator)."""
        assert self.queue is not None
        try:
            self.queue.put_nowait(msg)
        except asyncio.QueueFull:
            self.dropped += 1
            self._failed(msg, f"hàng đợi đầy ({self.cfg.queue_max} thư): bỏ thư này")
            return False
        return True

    async def tick(self) -> int:
        """One look for new notices; returns how many messages were queued."""
        if self.queue is None:
            self.queue = asyncio.Queue(maxsize=self.cfg.queue_max)
        msgs = await asyncio.to_thread(self.collect)
        return sum(self.offer(m) for m in msgs)

    async def run(self) -> None:
        if self.queue is None:
            self.queue = asyncio.Queue(maxsize=self.cfg.queue_max)
        async with asyncio.TaskGroup() as g:
            g.create_task(self._look_forever(), name="email-look")
            g.create_task(self._send_forever(), name="email-send")

    async def _look_forever(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a database hiccup must not stop the notifications for good
                log.exception("e-mail notifications: looking for new notices failed")
            await asyncio.sleep(self.cfg.poll_s)

    async def _send_forever(self) -> None:
        assert self.queue is not None
        while True:
            msg = await self.queue.get()
            try:
                await self.deliver(msg)
            finally:
                self.queue.task_done()

    async def deliver(self, msg: EmailMessage) -> bool:
        """Send one message, retrying what may pass later; False (logged, kept) when it did not go."""
        error = ""
        for attempt in range(self.cfg.retries + 1):
            try:
                await asyncio.to_thread(self._send, msg)
            except PERMANENT as exc:
                error = f"máy chủ thư từ chối: {exc}"
                break
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                if attempt < self.cfg.retries:
                    await asyncio.sleep(self.cfg.retry_s * 2**attempt)
                continue
            self.sent += 1
            return True
        self._failed(msg, error)
        return False

    def _send(self, msg: EmailMessage) -> None:
        cfg = self.cfg
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=cfg.ca_file or None))
            if cfg.username:
                smtp.login(cfg.username, cfg.secret())
            smtp.send_message(msg)

    def _failed(self, msg: EmailMessage, error: str) -> None:
        f = Failure(self.ctx.now(), str(msg["To"]), str(msg["Subject"]), one_line(error, 300))
        self.failures.append(f)
        log.warning("e-mail notification to %s not sent (%s): %s", f.to, f.subject, f.error)

    def status(self) -> dict[str, object]:
        """For the administrator's start page."""
        return {
            "enabled": self.cfg.enabled,
            "sent": self.sent,
            "dropped": self.dropped,
            "waiting": self.queue.qsize() if self.queue is not None else 0,
            "failures": list(reversed(self.failures))[:5],
            "failed": len(self.failures),
        }
