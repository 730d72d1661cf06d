"""Requests from the central system (docs/CENTRAL.md): a signed CAP 1.2 alert in, a bulletin out.

`POST /api/v1/central/cap` hands the raw request to `CentralLink.receive`: signature and timestamp against
the pinned keys (hub/central/signature.py), the nonce (a replay is refused), the CAP document
(hub/central/cap.py), then Alert / Update / Cancel. Every refusal is a 4xx saying why, in the audit log
(`central.refused`), with nothing saved and nothing sent. The origin `central` comes from here only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hub.central import mapping
from hub.central.cap import CapAlert, CapError, CapInfo, parse
from hub.central.signature import public_keys, verify
from hub.config import CapFeedRule
from hub.errors import Conflict, Forbidden, ServiceError
from hub.models import Bulletin, CentralNonce, CentralRequest, Device
from hub.roles import CENTRAL, Actor
from hub.services.areas import AreaService
from hub.services.base import Context
from hub.services.bulletin_views import BulletinView
from hub.services.bulletins import BulletinInput, BulletinService
from hub.services.media import MediaService
from protocol.vocabulary import DEVICE_KINDS, LIVE_STATUSES


class Workflow(Protocol):
    """What the link uses of hub.services.Services (the steps that also publish)."""

    ctx: Context
    areas: AreaService
    bulletins: BulletinService
    media: MediaService

    async def approve(
        self, actor: Actor, bulletin_id: str, *, via_review: bool = False
    ) -> BulletinView: ...

    async def cancel_alert(self, actor: Actor, bulletin_id: str) -> BulletinView: ...

    async def recall(self, actor: Actor, bulletin_id: str, reason: str) -> BulletinView: ...


log = logging.getLogger(__name__)
PATH = "/api/v1/central/cap"
STOPPABLE = (*LIVE_STATUSES, "submitted")


@dataclass(frozen=True)
class Outcome:
    request_id: int
    outcome: str
    bulletin_id: str | None
    duplicate: bool = False
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": self.request_id,
            "outcome": self.outcome,
            "bulletin": self.bulletin_id,
            "duplicate": self.duplicate,
            "message": self.message,
        }


MESSAGES = {
    "aired": "Đã phát.",
    "pending": "Đang chờ ban biên tập xác nhận; tự phát khi hết thời hạn xác nhận.",
    "test": "Bản tin thử (Test): đã nhận, không phát ra loa.",
    "ignored": "Bản tin hệ thống (System): đã nhận, không phát.",
    "cancelled": "Đã hủy bản tin được tham chiếu.",
    "queued": "Đã duyệt, vào chương trình phát của các xã.",
    "waiting": "Chờ ban biên tập duyệt.",
}


class CentralLink:
    def __init__(self, services: Workflow) -> None:
        self.s = services
        self.ctx = services.ctx
        self.cfg = services.ctx.config.central
        self._keys = public_keys(self.cfg.public_keys)
        self._timers: set[asyncio.TimerHandle] = set()

    # --- the request
    async def authenticate(
        self, headers: Mapping[str, str], method: str, path: str, body: bytes, ip: str
    ) -> Actor:
        """The central system, or a refusal (401/403/409) that is audited."""
        actor = Actor(CENTRAL.user_id, CENTRAL.username, CENTRAL.role, None, ip=ip)
        try:
            if not self.cfg.enabled:
                raise Forbidden(
                    "Kết nối với hệ thống Trung ương chưa bật trên hệ thống tỉnh (central.enabled).",
                    code="central_disabled",
                )
            v = verify(
                self._keys,
                headers,
                method=method,
                path=path,
                body=body,
                now=self.ctx.now(),
                max_skew_s=self.cfg.max_skew_s,
            )
            await asyncio.to_thread(self._claim_nonce, v.nonce)
        except ServiceError as exc:
            await asyncio.to_thread(self._audit_refusal, actor, None, exc)
            raise
        return actor

    async def receive(self, headers: Mapping[str, str], body: bytes, ip: str) -> Outcome:
        actor = await self.authenticate(headers, "POST", PATH, body, ip)
        alert: CapAlert | None = None
        try:
            alert = parse(body)
            return await self.handle(actor, alert, body)
        except ServiceError as exc:
            await asyncio.to_thread(self._audit_refusal, actor, alert, exc)
            raise

    def _audit_refusal(self, actor: Actor, alert: CapAlert | None, exc: ServiceError) -> None:
        detail: dict[str, Any] = {"code": exc.code, "message": exc.message}
        if alert is not None:
            detail.update(sender=alert.sender, msg_type=alert.msg_type, status=alert.status)
        element = exc.extra.get("element")
        if element:
            detail["element"] = element
        outcome = "denied" if exc.status in (401, 403, 409) else "failed"
        self.ctx.audit_now(
            actor, "central.refused", alert.identifier if alert else "", outcome=outcome, detail=detail
        )

    def _claim_nonce(self, nonce: str) -> None:
        now = self.ctx.now()
        try:
            with self.ctx.db.session() as sess:
                sess.execute(
                    delete(CentralNonce).where(
                        CentralNonce.seen_at < now - timedelta(seconds=2 * self.cfg.max_skew_s)
                    )
                )
                sess.add(CentralNonce(nonce=nonce, seen_at=now))
        except IntegrityError:
            raise Conflict(
                "Yêu cầu này (cùng nonce) đã được nhận: một yêu cầu gửi lại y nguyên bị từ chối. Hệ thống "
                "Trung ương gửi lại một bản tin thì ký lại với nonce mới (cùng identifier/sender/sent là "
                "cùng một bản tin).",
                code="replayed",
            ) from None

    # --- Alert / Update / Cancel
    async def handle(
        self, actor: Actor, alert: CapAlert, xml: bytes, *, feed: CapFeedRule | None = None
    ) -> Outcome:
        """An alert from the central system, or from a CAP feed the hub follows (`feed`: its rule, which
        filters by severity, urgency and area, and airs or queues for an editor; origin not central)."""
        if alert.msg_type not in ("Alert", "Update", "Cancel"):
            raise CapError(
                f"<msgType> {alert.msg_type}: hệ thống tỉnh nhận Alert, Update và Cancel.", element="msgType"
            )
        if alert.status == "Draft":
            raise CapError("<status> Draft: bản nháp, không nhận.", element="status")
        if alert.scope != "Public":
            raise CapError(
                f"<scope> {alert.scope}: loa và bảng tin phát cho công chúng, chỉ nhận scope Public.",
                element="scope",
            )
        info = None
        if alert.msg_type != "Cancel":
            info = alert.info_for("vi-VN")
            if info is None:
                raise CapError("Bản tin không có <info>: không có gì để phát.", element="info")
            mapping.check_expires(info, self.ctx.now())
            if feed is not None and (
                info.severity not in feed.severities or info.urgency not in feed.urgencies
            ):
                return Outcome(0, "filtered", None, message=f"{info.severity}/{info.urgency}: ngoài quy tắc.")
        else:
            self._check_references(alert)
        claimed = await asyncio.to_thread(self._claim, alert, xml)
        if isinstance(claimed, Outcome):
            return claimed
        try:
            return await self._act(actor, alert, info, claimed, feed)
        except BaseException:
            await asyncio.to_thread(self._unclaim, claimed)
            raise

    def _check_references(self, alert: CapAlert) -> None:
        if not alert.references:
            raise CapError(
                f"<msgType> {alert.msg_type} cần <references> chỉ bản tin trước (sender,identifier,sent).",
                element="references",
            )

    def _claim(self, alert: CapAlert, xml: bytes) -> int | Outcome:
        """The request's row (its key is unique); an Outcome when this request was received already."""
        sender, identifier, sent = mapping.key_of(alert)
        with self.ctx.db.session() as sess:
            old = sess.scalar(
                select(CentralRequest).where(
                    CentralRequest.sender == sender,
                    CentralRequest.identifier == identifier,
                    CentralRequest.sent == sent,
                )
            )
            if old is not None:
                return Outcome(
                    old.id, old.outcome, old.bulletin_id, duplicate=True, message="Đã nhận trước đó."
                )
        try:
            with self.ctx.db.session() as sess:
                row = CentralRequest(
                    sender=sender,
                    identifier=identifier,
                    sent=sent,
                    msg_type=alert.msg_type,
                    status=alert.status,
                    outcome="receiving",
                    bulletin_id=None,
                    received_at=self.ctx.now(),
                    air_at=None,
                    cap_xml=xml.decode("utf-8", errors="replace"),
                )
                sess.add(row)
                sess.flush()
                return row.id
        except IntegrityError:  # the same request, at the same moment
            raise Conflict("Bản tin này đang được xử lý (gửi trùng cùng lúc).", code="duplicate") from None

    def _unclaim(self, request_id: int) -> None:
        with self.ctx.db.session() as sess:
            sess.execute(delete(CentralRequest).where(CentralRequest.id == request_id))

    def _finish(
        self, request_id: int, outcome: str, bulletin_id: str | None, *, air_at: datetime | None = None
    ) -> None:
        with self.ctx.db.session() as sess:
            row = sess.get(CentralRequest, request_id)
            assert row is not None
            row.outcome, row.bulletin_id, row.air_at = outcome, bulletin_id, air_at

    async def _act(
        self, actor: Actor, alert: CapAlert, info: CapInfo | None, request_id: int, feed: CapFeedRule | None
    ) -> Outcome:
        referenced: list[str] = []
        if alert.msg_type in ("Update", "Cancel"):
            self._check_references(alert)
            referenced = await asyncio.to_thread(self._referenced, alert)
        data = None
        if info is not None and alert.status not in ("Test", "System"):
            data = await self._bulletin_input(actor, alert, info, feed)  # checked before anything is stopped
        stopped = await self._stop(actor, alert, referenced) if referenced else []
        if alert.msg_type == "Cancel":
            await asyncio.to_thread(self._finish, request_id, "cancelled", stopped[0] if stopped else None)
            await self._audit(actor, alert, request_id, "cancelled", stopped[0] if stopped else None)
            return Outcome(
                request_id, "cancelled", stopped[0] if stopped else None, message=MESSAGES["cancelled"]
            )
        assert info is not None
        if alert.status in ("Test", "System"):
            outcome = "test" if alert.status == "Test" else "ignored"
            await asyncio.to_thread(self._finish, request_id, outcome, None)
            await self._audit(actor, alert, request_id, outcome, None)
            return Outcome(request_id, outcome, None, message=MESSAGES[outcome])
        assert data is not None
        b = await self.s.bulletins.create(actor, data, submit=True)
        wait = self.cfg.confirm_minutes
        if feed is not None and feed.action == "queue":
            outcome = "waiting"  # an editor approves (or rejects) it like any submitted bulletin
            await asyncio.to_thread(self._finish, request_id, outcome, b.id)
        elif feed is None and data.priority == "emergency" and wait > 0:
            air_at = self.ctx.now() + timedelta(minutes=wait)
            await asyncio.to_thread(self._finish, request_id, "pending", b.id, air_at=air_at)
            self._air_later(request_id, wait * 60.0)
            outcome = "pending"
        else:
            await self.s.approve(actor, b.id)
            outcome = "aired" if data.priority == "emergency" else "queued"
            await asyncio.to_thread(self._finish, request_id, outcome, b.id)
        await self._audit(actor, alert, request_id, outcome, b.id, priority=data.priority)
        return Outcome(request_id, outcome, b.id, message=MESSAGES[outcome])

    async def _audit(
        self, actor: Actor, alert: CapAlert, request_id: int, outcome: str, bulletin: str | None, **more: Any
    ) -> None:
        detail = {
            "request": request_id,
            "sender": alert.sender,
            "msg_type": alert.msg_type,
            "status": alert.status,
            "outcome": outcome,
            "bulletin": bulletin,
            **more,
        }
        await asyncio.to_thread(self.ctx.audit_now, actor, "central.receive", alert.identifier, detail=detail)

    async def _bulletin_input(
        self, actor: Actor, alert: CapAlert, info: CapInfo, feed: CapFeedRule | None = None
    ) -> BulletinInput:
        located = (
            await asyncio.to_thread(self._located) if any(a.polygons or a.circles for a in info.areas) else []
        )
        targets = mapping.targets_of(info, self.s.areas.all(), self.cfg.geocode_names, located)
        if feed is not None and feed.areas:
            targets = mapping.within(targets, feed.areas, self.s.areas.all())
        priority = mapping.priority_of(info)
        audio = mapping.audio_of(info)
        media = None
        if audio is not None:
            m = await asyncio.to_thread(
                self.s.media.upload, actor, audio.data, filename=audio.description[:100], purpose="radio"
            )
            media = m["sha256"]
        now = self.ctx.now()
        start = info.effective if info.effective and info.effective > now else None
        return BulletinInput(
            title=mapping.title_of(info),
            priority=priority,
            form="audio" if media else "text",
            targets=targets,
            kinds=["radio"] if media else list(DEVICE_KINDS),
            text=(info.headline or info.event)[:500] if media else mapping.spoken_text(info),
            media=media,
            valid_from=start if priority != "emergency" else None,
            valid_until=info.expires,
            exercise=alert.status == "Exercise",
            origin="central" if feed is None else None,
        )

    def _located(self) -> list[mapping.Located]:
        with self.ctx.db.session() as sess:
            rows = sess.execute(
                select(Device.area_path, Device.lat, Device.lon).where(
                    Device.lat.is_not(None), Device.lon.is_not(None)
                )
            ).all()
            return [(a, la, lo) for a, la, lo in rows if la is not None and lo is not None]

    def _referenced(self, alert: CapAlert) -> list[str]:
        """The bulletins of the requests `references` names (422 when none is known)."""
        keys = [(r.sender, r.identifier, r.sent.astimezone(UTC).isoformat()) for r in alert.references]
        out: list[str] = []
        with self.ctx.db.session() as sess:
            for sender, identifier, sent in keys:
                row = sess.scalar(
                    select(CentralRequest).where(
                        CentralRequest.sender == sender,
                        CentralRequest.identifier == identifier,
                        CentralRequest.sent == sent,
                    )
                )
                if row is not None and row.bulletin_id and row.bulletin_id not in out:
                    out.append(row.bulletin_id)
        if not out:
            raise CapError(
                "<references> không chỉ bản tin nào hệ thống tỉnh đã nhận "
                f"({', '.join(r.identifier for r in alert.references)[:200]}).",
                element="references",
                code="unknown_reference",
            )
        return out

    async def _stop(self, actor: Actor, alert: CapAlert, ids: list[str]) -> list[str]:
        """Stop each referenced bulletin still live or waiting: an emergency is cancelled (devices stop it at
        once), another bulletin recalled, one waiting for confirmation rejected."""
        await asyncio.to_thread(self._mark, ids, "updated" if alert.msg_type == "Update" else "cancelled")
        why = "Trung ương cập nhật bản tin" if alert.msg_type == "Update" else "Trung ương hủy bản tin"
        for bid in ids:
            status, priority = await asyncio.to_thread(self._status, bid)
            if status not in STOPPABLE:
                continue
            if status == "submitted":
                await asyncio.to_thread(self.s.bulletins.reject, actor, bid, why)
            elif priority == "emergency":
                await self.s.cancel_alert(actor, bid)
            else:
                await self.s.recall(actor, bid, why)
        return ids

    def _mark(self, bulletin_ids: list[str], outcome: str) -> None:
        with self.ctx.db.session() as sess:
            for row in sess.scalars(
                select(CentralRequest).where(CentralRequest.bulletin_id.in_(bulletin_ids))
            ):
                row.outcome = outcome

    def _status(self, bulletin_id: str) -> tuple[str, str]:
        with self.ctx.db.session() as sess:
            b = sess.get(Bulletin, bulletin_id)
            return (b.status, b.priority) if b is not None else ("", "")

    # --- the duty editors' view
    def attention(self, actor: Actor) -> list[dict[str, Any]]:
        """Central emergencies on air or waiting for confirmation in the actor's area, for the banner every
        page shows to those who may send (and so cancel) emergencies."""
        if not actor.may("bulletin.emergency"):
            return []
        out = []
        with self.ctx.db.session() as sess:
            rows = sess.scalars(
                select(CentralRequest)
                .where(
                    CentralRequest.outcome.in_(("aired", "pending")), CentralRequest.bulletin_id.is_not(None)
                )
                .order_by(CentralRequest.id.desc())
                .limit(20)
            ).all()
            now = self.ctx.now()
            for r in rows:
                b = sess.get(Bulletin, r.bulletin_id)
                if b is None or b.priority != "emergency" or not any(actor.sees(p) for p in b.target_paths):
                    continue
                live = b.status in LIVE_STATUSES and (b.valid_until is None or b.valid_until > now)
                if live or b.status == "submitted":
                    out.append(
                        {
                            "bulletin": b.id,
                            "title": b.title,
                            "exercise": b.exercise,
                            "pending": b.status == "submitted",
                            "air_at": r.air_at.isoformat() if r.air_at else None,
                        }
                    )
        return out

    # --- "confirm within N minutes, then air"
    def _air_later(self, request_id: int, delay_s: float) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            task = loop.create_task(self.air_due(), name="central-air-due")
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

        handle = loop.call_later(delay_s, fire)
        self._timers.add(handle)

    async def resume(self) -> None:
        """At the hub's start: air what fell due while it was down, and time the rest again."""
        await self.air_due()
        now = self.ctx.now()
        with self.ctx.db.session() as sess:
            rows = sess.scalars(select(CentralRequest).where(CentralRequest.outcome == "pending")).all()
            waits = [(r.id, (r.air_at - now).total_seconds()) for r in rows if r.air_at is not None]
        for request_id, wait in waits:
            self._air_later(request_id, max(0.0, wait))

    def close(self) -> None:
        for h in self._timers:
            h.cancel()
        self._timers.clear()

    async def air_due(self) -> list[str]:
        """Air every central emergency whose confirmation time ran out and that no editor cancelled
        (rejected) or aired already; audited as the central system's (the request's) decision."""
        due = await asyncio.to_thread(self._due)
        aired = []
        for request_id, bid in due:
            status, _ = await asyncio.to_thread(self._status, bid)
            if status == "submitted":
                await self.s.approve(CENTRAL, bid)
                aired.append(bid)
                outcome = "aired"
            else:
                outcome = "aired" if status in LIVE_STATUSES else "refused"
            await asyncio.to_thread(self._finish, request_id, outcome, bid)
            await asyncio.to_thread(
                self.ctx.audit_now,
                CENTRAL,
                "central.air_due",
                bid,
                detail={"request": request_id, "outcome": outcome, "status": status},
            )
        return aired

    def _due(self) -> list[tuple[int, str]]:
        now = self.ctx.now()
        with self.ctx.db.session() as sess:
            rows = sess.scalars(
                select(CentralRequest).where(
                    CentralRequest.outcome == "pending", CentralRequest.air_at <= now
                )
            ).all()
            return [(r.id, r.bulletin_id) for r in rows if r.bulletin_id]
