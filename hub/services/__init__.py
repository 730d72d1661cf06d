"""The hub's services, shared by the REST API, the web pages and the CLI.

`Services` wires them and offers the workflow steps that also publish (approve, recall, cancel, ...).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select

from hub.broker_sync import BrokerSync
from hub.central.capout import CapOut
from hub.central.inbound import CentralLink
from hub.central.outbox import Outbox
from hub.errors import Invalid
from hub.models import AuditEntry, Bulletin
from hub.roles import SYSTEM, Actor
from hub.services import intents
from hub.services.accounts import AccountService
from hub.services.areas import AreaService
from hub.services.base import Context, Speaker, require
from hub.services.broker_secrets import BrokerSecretService
from hub.services.bulletin_views import BulletinDetail, BulletinSummary, BulletinView
from hub.services.bulletins import BulletinInput, BulletinService
from hub.services.choices import ChoiceService
from hub.services.counters import CounterService
from hub.services.deliveries import DeliveryService
from hub.services.devices import DeviceService
from hub.services.intent_runner import IntentRunner
from hub.services.languages import LanguageService
from hub.services.lifecycle import move
from hub.services.live import LiveService
from hub.services.mailer import Mailer
from hub.services.media import MediaService
from hub.services.media_retention import prune_media
from hub.services.notices import NoticeService
from hub.services.programmes import ProgrammeService
from hub.services.publishing import PublisherLike, PublishingService
from hub.services.relays import RelayService
from hub.services.reorganise import Outcome, ReorganiseService, lineage
from hub.services.report_archive import ReportArchive
from hub.services.rollups import LATE_DAYS, prune_raw, rollup_days
from hub.services.stats import StatsService
from hub.services.stats_catchup import BATCH_DAYS, StatsCatchUp
from hub.services.voices import VoiceService
from hub.services.windows import WindowService
from hub.signing import Envelopes
from hub.workers import urgent
from protocol.vocabulary import LIVE_STATUSES, BulletinStatus, Priority

__all__ = ["BulletinDetail", "BulletinInput", "BulletinSummary", "BulletinView", "Context", "Services"]
log = logging.getLogger(__name__)
T = TypeVar("T")
AREA_RESEND_S = 60.0  # a device whose status names an old commune is told again at most this often


class Services:
    """Workflow steps that also publish; their database work runs in worker threads (the loop stays free)."""

    def __init__(
        self, ctx: Context, *, envelopes: Envelopes, publisher: PublisherLike, speech: Speaker
    ) -> None:
        self.ctx = ctx
        self.areas = AreaService(ctx)
        self.accounts = AccountService(ctx, self.areas)
        self.media = MediaService(ctx)
        self.windows = WindowService(ctx, self.areas)
        self.voices = VoiceService(ctx)
        self.languages = LanguageService(ctx, self.areas)
        self.bulletins = BulletinService(ctx, self.areas, self.media, speech, windows=self.windows,
                                         voices=self.voices)
        self.relays = RelayService(ctx, self.areas, self.windows)
        self.programmes = ProgrammeService(ctx, self.areas, self.windows, self.relays)
        self.choices = ChoiceService(ctx, self.areas)
        self.devices = DeviceService(ctx, self.areas)
        self.broker_secrets = BrokerSecretService(ctx)
        self.broker_sync: BrokerSync | None = None  # managed broker files: set by the leading hub (app.py)
        self.deliveries = DeliveryService(ctx, self.bulletins)
        self.notices = NoticeService(ctx)
        self.counters = CounterService(ctx)
        self.mailer = Mailer(ctx, self.notices)  # run by the hub when [email] is enabled (app.py)
        self.stats = StatsService(ctx, self.areas)
        self.stats_catchup = StatsCatchUp(ctx)
        self.stats.catch_up = self.stats_catchup.wake
        self.report_archive = ReportArchive(ctx)
        self.publishing = PublishingService(
            ctx,
            self.areas,
            self.programmes,
            envelopes,
            publisher,
            media_path=self.media.path_for,
            alert_audio=self.media.alert_audio,
        )
        self.bulletins.sendable = self.publishing.check_sendable
        self.live = LiveService(
            ctx,
            areas=self.areas,
            media=self.media,
            envelopes=envelopes,
            publisher=publisher,
            topics=self.publishing.topics,
        )
        # tiếp sóng: a mount of the province's stream server is reached at the live service's public URL
        self.relays.stream_base = self.live.public_stream_url
        self.reorganisation = ReorganiseService(ctx, self.areas)
        self.envelopes = envelopes
        self._area_sent: dict[str, float] = {}  # device -> when set_area last went (loop time)
        self.central = CentralLink(self)
        self.central_out = CapOut(ctx, self.areas)
        self.central_outbox = Outbox(ctx, self.areas, envelopes, self.central_out)
        # what committed changes must publish: the leader publishes them (hub/services/intent_runner.py)
        self.intents = IntentRunner(
            ctx, self.publishing, self.areas, lambda ids: self.send_areas(ids, force=True)
        )

    async def _publishing(self, call: Callable[[], T]) -> T:
        """Run a change that records publish intents (worker thread); the leader then publishes them at once,
        a standby leaves them to the leader (NOTIFY at commit, or its poll)."""
        with intents.collect() as got:
            out = await asyncio.to_thread(call)
        await self.intents.dispatch(got)
        return out

    # --- workflow steps that publish
    async def approve(self, actor: Actor, bulletin_id: str, *, via_review: bool = False) -> BulletinView:
        with urgent.hold():  # no new page starts until the alert is handed to the publisher
            return await self._approve(actor, bulletin_id, via_review=via_review)

    async def _approve(self, actor: Actor, bulletin_id: str, *, via_review: bool) -> BulletinView:
        try:  # the alert (an emergency) or the programmes are published from its intent
            b = await self._publishing(
                lambda: self.bulletins.approve(actor, bulletin_id, via_review=via_review)
            )
        except Invalid as exc:
            await self._audit_too_big(actor, "bulletin.approve", bulletin_id, exc)
            raise
        if b.status == BulletinStatus.APPROVED and b.priority == Priority.EMERGENCY:
            await asyncio.to_thread(self.central_outbox.enqueue_cap, bulletin_id)  # CAP out, to the peer
        return b

    async def _audit_too_big(self, actor: Actor, action: str, target: str, exc: Invalid, **more: Any) -> None:
        """A change refused because a message it makes would be over what devices accept (too_big_to_send)
        was rolled back; the refusal is worth a line in the audit log (outcome `failed`)."""
        if exc.code != "too_big_to_send":
            return
        detail = {k: v for k, v in exc.extra.items() if k in ("bytes", "limit", "area", "kind")}
        await asyncio.to_thread(
            self.ctx.audit_now, actor, action, target, outcome="failed", detail={**more, **detail}
        )

    async def review(self, actor: Actor, bulletin_id: str, decision: str, reason: str = "") -> BulletinView:
        if decision == "approve":
            require(actor, "bulletin.review", bulletin_id)
            return await self.approve(actor, bulletin_id, via_review=True)
        if decision == "reject":
            require(actor, "bulletin.review", bulletin_id)
            return await asyncio.to_thread(self.bulletins.reject, actor, bulletin_id, reason)
        raise Invalid("decision phải là 'approve' hoặc 'reject'.", field="decision")

    async def recall(self, actor: Actor, bulletin_id: str, reason: str) -> BulletinView:
        with urgent.hold():
            b = await self._publishing(lambda: self.bulletins.recall(actor, bulletin_id, reason))
        return b

    async def cancel_alert(self, actor: Actor, bulletin_id: str) -> BulletinView:
        with urgent.hold():
            b = await self._publishing(lambda: self.bulletins.cancel_alert(actor, bulletin_id))
            await asyncio.to_thread(self.central_outbox.enqueue_cap, bulletin_id)
        return b

    async def set_order(
        self, actor: Actor, *, area: str, day: date, order: list[str], kind: str = "*"
    ) -> dict[str, Any]:
        return await self._publishing(
            lambda: self.programmes.set_order(actor, area=area, day=day, kind=kind, order=order)
        )

    async def choose_normal(
        self,
        actor: Actor,
        *,
        area: str,
        kinds: tuple[str, ...],
        scope: str,
        day: date | None,
        selection: list[str],
        declined: list[str],
    ) -> dict[str, Any]:
        """The chair's decision on normal bulletins (Art. 8.3); republished only when something changed."""
        return await self._publishing(
            lambda: self.choices.choose(
                actor,
                area=area,
                kinds=kinds,
                scope=scope,
                day=day,
                chosen=selection,
                declined=declined,
                check=self.publishing.check_choice,
            )
        )

    async def set_standing(
        self, actor: Actor, *, area: str, origins: list[str], kinds: list[str]
    ) -> dict[str, Any]:
        """The commune's standing rule for normal bulletins (audited); republished if it changed."""
        return await self._publishing(
            lambda: self.choices.set_standing(
                actor, area=area, origins=origins, kinds=kinds, check=self.publishing.check_choice
            )
        )

    # --- broadcast windows (Art. 10): every commune under the area gets its programme again, unless one
    # would then be too big to send (publishing.check_windows: refused, audited, nothing saved or sent)
    async def set_area_languages(self, actor: Actor, area: str, languages: Any) -> dict[str, Any]:
        """An area's local languages (admin); its communes' programmes change (versions played or not)."""
        return await self._publishing(lambda: self.languages.set(actor, area, languages))

    async def set_windows(
        self, actor: Actor, *, area: str, kind: str, effective_from: Any, windows: Any
    ) -> dict[str, Any]:
        try:
            out = await self._publishing(
                lambda: self.windows.set_rule(
                    actor,
                    area=area,
                    kind=kind,
                    effective_from=effective_from,
                    windows=windows,
                    check=self.publishing.check_windows,
                )
            )
        except Invalid as exc:
            await self._audit_too_big(
                actor, "windows.set", area, exc, effective_from=str(effective_from)[:40], windows_kind=kind
            )
            raise
        return out

    async def delete_windows(self, actor: Actor, rule_id: int) -> dict[str, Any]:
        try:
            out = await self._publishing(
                lambda: self.windows.delete_rule(actor, rule_id, check=self.publishing.check_windows)
            )
        except Invalid as exc:
            await self._audit_too_big(actor, "windows.delete", str(rule_id), exc)
            raise
        return out

    async def add_occasion(
        self, actor: Actor, *, area: str, name: str, date_from: Any, date_to: Any, windows: Any
    ) -> dict[str, Any]:
        try:
            out = await self._publishing(
                lambda: self.windows.add_occasion(
                    actor,
                    area=area,
                    name=name,
                    date_from=date_from,
                    date_to=date_to,
                    windows=windows,
                    check=self.publishing.check_windows,
                )
            )
        except Invalid as exc:
            await self._audit_too_big(
                actor, "windows.occasion", area, exc, date_from=str(date_from)[:40], date_to=str(date_to)[:40]
            )
            raise
        return out

    # --- relays (tiếp sóng): the communes under the relay's areas get their radio programme again
    async def create_relay(self, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        return await self._publishing(lambda: self.relays.create(actor, data))

    async def update_relay(self, actor: Actor, relay_id: str, data: dict[str, Any]) -> dict[str, Any]:
        return await self._publishing(lambda: self.relays.update(actor, relay_id, data))

    async def delete_relay(self, actor: Actor, relay_id: str) -> dict[str, Any]:
        return await self._publishing(lambda: self.relays.delete(actor, relay_id))

    async def delete_occasion(self, actor: Actor, occasion_id: int) -> dict[str, Any]:
        try:
            out = await self._publishing(
                lambda: self.windows.delete_occasion(actor, occasion_id, check=self.publishing.check_windows)
            )
        except Invalid as exc:
            await self._audit_too_big(actor, "windows.occasion_delete", str(occasion_id), exc)
            raise
        return out

    async def command(
        self, actor: Actor, device_id: str, command: str, args: dict[str, Any]
    ) -> dict[str, Any]:
        # delivered from its intent; the agent answers with a command_result event
        return await self._publishing(lambda: self.devices.command(actor, device_id, command, args))

    # --- reorganisations (hub/services/reorganise.py)
    async def reorganise(self, actor: Actor, plan: Any, *, dry_run: bool = False) -> Outcome:
        """Apply a plan (or show what it would do); then every programme is compiled again under the new
        map and republished, and each moved device is told its new commune (set_area)."""
        return await self._publishing(lambda: self.reorganisation.run(actor, plan, dry_run=dry_run))

    def area_lineage(self, actor: Actor, path: str) -> dict[str, Any]:
        require(actor, "read")
        with self.ctx.db.session() as sess:
            return {"area": path, **lineage(sess, path)}

    async def send_areas(self, device_ids: Iterable[str], *, force: bool = False) -> int:
        """Send each device a signed set_area with its registered commune, at most once a minute each
        (a device that was offline during the reorganisation gets it when its status names the old one)."""
        loop_now, sent = asyncio.get_running_loop().time(), 0
        for dev in device_ids:
            if not force and loop_now - self._area_sent.get(dev, -1e9) < AREA_RESEND_S:
                continue
            c = await asyncio.to_thread(self.devices.area_command, dev)
            if c is None:
                continue
            self._area_sent[dev] = loop_now
            fut = await self.publishing.publish_command(
                dev, "set_area", c["args"], c["id"], datetime.fromisoformat(c["expires_at"])
            )
            del fut  # the agent answers with a command_result event
            sent += 1
        return sent

    def audit(
        self,
        actor: Actor,
        *,
        action: str | None = None,
        username: str | None = None,
        target: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """The audit log, newest first (administrators). `action` ending in '.' matches a prefix."""
        require(actor, "audit.read")
        q = _audit_query(action, outcome, since, until)
        if username:
            q = q.where(AuditEntry.username == username)
        if target:
            q = q.where(AuditEntry.target == target)
        with self.ctx.db.session() as sess:
            return [
                _audit_dict(a) for a in sess.scalars(q.limit(max(1, min(limit, 1000))).offset(max(0, offset)))
            ]

    def audit_search(
        self,
        actor: Actor,
        *,
        text: str = "",
        text_actions: Collection[str] = (),
        action: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the audit log and the count of all that match (the web's Nhật ký hệ thống): `text`
        is found in the user name or the target, or the entry's action is one of `text_actions` (the
        actions whose Vietnamese words match it)."""
        require(actor, "audit.read")
        q = _audit_query(action, outcome, since, until)
        if text:
            like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            q = q.where(
                or_(
                    AuditEntry.username.ilike(like, escape="\\"),
                    AuditEntry.target.ilike(like, escape="\\"),
                    AuditEntry.action.in_(list(text_actions)),
                )
            )
        with self.ctx.db.session() as sess:
            total = sess.scalar(select(func.count()).select_from(q.order_by(None).subquery())) or 0
            rows = sess.scalars(q.limit(max(1, min(limit, 1000))).offset(max(0, offset)))
            return [_audit_dict(a) for a in rows], total

    async def midnight(self) -> dict[str, int]:
        """The new day: finish expired bulletins, then recompile and republish every programme."""
        finished = await asyncio.to_thread(self.bulletins_finish_expired)
        self.publishing.republish_soon(None)
        try:
            await self.publishing.flush(timeout=600)
        except TimeoutError:
            log.warning("midnight republish still running after 10 min")
        out = {"finished": finished, "communes": len(self.areas.leaves())}
        out["rolled_up"] = await asyncio.to_thread(self.rollup_recent)
        out["media_deleted"] = (await asyncio.to_thread(self.prune_media))["files"]
        await asyncio.to_thread(self.ctx.audit_now, SYSTEM, "programme.midnight", "", detail=out)
        return out

    def rollup_recent(self) -> int:
        """The statistics' roll-ups of the last LATE_DAYS days (late reports count), then the raw events past
        their retention are deleted (hub/services/rollups.py)."""
        now, tz = self.ctx.now(), self.ctx.tz
        today = now.astimezone(tz).date()
        days = [today - timedelta(days=i) for i in range(LATE_DAYS, 0, -1)]
        n = rollup_days(self.ctx.db, days, tz, now, batch=BATCH_DAYS)
        prune_raw(self.ctx.db, tz, now)
        return n

    def prune_media(self) -> dict[str, int]:
        """Media files of bulletins that ended past [media] retention_days (services/media_retention.py)."""
        return prune_media(
            self.ctx.db, self.media.path_for, self.media.alert_audio.path, self.ctx.now(),
            self.ctx.config.media.retention_days,
        )

    def bulletins_finish_expired(self) -> int:
        """Approved/on-air bulletins past valid_until become finished (expired emergencies included)."""
        now = self.ctx.now()
        with self.ctx.db.session() as sess:
            rows = sess.scalars(
                select(Bulletin).where(Bulletin.status.in_(LIVE_STATUSES), Bulletin.valid_until <= now)
            ).all()
            for b in rows:
                move(b, BulletinStatus.FINISHED)
                b.updated_at = now
            return len(rows)


def _audit_query(
    action: str | None, outcome: str | None, since: datetime | None, until: datetime | None
) -> Select[Any]:
    if outcome not in (None, "", "ok", "denied", "failed"):
        raise Invalid("outcome là 'ok', 'denied' hoặc 'failed'.", field="outcome")
    q = select(AuditEntry).order_by(AuditEntry.id.desc())
    if action:
        prefix = action.endswith(".")
        q = q.where(AuditEntry.action.startswith(action) if prefix else AuditEntry.action == action)
    if outcome:
        q = q.where(AuditEntry.outcome == outcome)
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if until is not None:
        q = q.where(AuditEntry.at < until)
    return q


def _audit_dict(a: AuditEntry) -> dict[str, Any]:
    return {
        "id": a.id,
        "at": a.at.isoformat(),
        "username": a.username,
        "action": a.action,
        "target": a.target,
        "outcome": a.outcome,
        "ip": a.ip,
        "detail": a.detail,
    }
