"""The bulletin workflow: draft -> submitted -> (in_review) -> approved -> on_air -> finished,
with reject (reason required), recall (thu hồi) and, for emergencies, cancel.

Text bulletins are spoken at submit, so a TTS failure is a 422 and nothing is saved, and approval
can publish at once. Publishing itself is done by PublishingService (the caller awaits it).
This module changes bulletins; what each change checks first is in hub/services/bulletin_checks.py, and
what a reader gets back in hub/services/bulletin_views.py.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from hub.errors import Conflict, Invalid
from hub.limits import REASON_MAX, check_len
from hub.models import (
    Bulletin,
    BulletinTarget,
    BulletinVersion,
    Speech,
    User,
)
from hub.roles import Actor
from hub.services.alert_audio import estimated_size
from hub.services.areas import AreaService
from hub.services.base import Context, Speaker, new_id
from hub.services.bulletin_checks import (
    AUDIO_CAPTION_MAX,
    LEVEL_ORIGIN,
    BulletinChecks,
    BulletinInput,
    load,
)
from hub.services.bulletin_views import (
    BulletinDetail,
    BulletinSummary,
    BulletinView,
    BulletinViews,
    content_of,
    effective_status,
)
from hub.services.languages import check_versions
from hub.services.lifecycle import move
from hub.services.media import MediaService
from hub.services.review import ReviewPolicy
from hub.services.voices import VoiceService
from hub.services.windows import WindowService
from protocol.vocabulary import BulletinStatus

if TYPE_CHECKING:
    from tts import SpeechResult

__all__ = ["AUDIO_CAPTION_MAX", "BulletinInput", "BulletinService", "content_of", "effective_status"]


class BulletinService:
    def __init__(
        self,
        ctx: Context,
        areas: AreaService,
        media: MediaService,
        speech: Speaker,
        *,
        windows: WindowService | None = None,
        voices: VoiceService | None = None,
    ) -> None:
        self.ctx = ctx
        self.voices = voices or VoiceService(ctx)
        self.windows = windows or WindowService(ctx, areas)
        self.areas = areas
        self.media = media
        self.speech = speech  # hub/speech.py's SpeechService
        # Checks, inside the approval's transaction, that what the approval will publish can be received
        # (PublishingService.check_sendable; Services wires it): raising refuses the approval.
        self.sendable: Callable[[Session, str], None] | None = None
        self.review = ReviewPolicy(ctx)
        self.checks = BulletinChecks(ctx, areas, self.windows, self.review)
        self.views = BulletinViews(ctx, self.review, self.checks)

    # --- create / edit / submit
    async def create(self, actor: Actor, data: BulletinInput, *, submit: bool = True) -> BulletinView:
        """Check, speak (text, when submitted) and save in one transaction; the database part in a thread."""
        origin = self.checks.validate(actor, data)
        if submit:
            self.checks.check_not_ended(data.valid_until)
        voice = await asyncio.to_thread(self._check_plays_and_voice, data)
        speech = await self._speak(data.text, voice) if submit and data.form == "text" else None
        return await asyncio.to_thread(self._create_tx, actor, data, origin, speech, submit=submit)

    def _check_plays_and_voice(self, data: BulletinInput, editing: str | None = None) -> str:
        """Check the plays and the voice; the voice to speak with. An edit may keep the voice the bulletin
        already has even once it was removed (espeak-ng then speaks it, as for any failing voice)."""
        self.check_plays(data)
        kept = None
        if editing is not None:
            with self.ctx.db.session() as sess:
                kept = load(sess, editing).voice
        choice = data.voice if data.voice and data.voice == kept else self.voices.check_choice(data.voice)
        return self.voices.resolve(choice)

    async def _speak(self, text: str | None, voice: str) -> SpeechResult:
        return await self.speech.speak(text or "", voice=voice)

    def _create_tx(
        self, actor: Actor, data: BulletinInput, origin: str, speech: SpeechResult | None, *, submit: bool
    ) -> BulletinView:
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            m = self.checks.check_media(sess, data)
            versions = self._language_versions(sess, data)
            b = Bulletin(
                id=new_id("b"),
                created_by=actor.user_id,
                created_at=now,
                origin=origin,
                version=1,
                status=BulletinStatus.DRAFT.value,
                kinds=[],
                repeat={},
            )
            self._apply(b, data, origin, now)
            b.language_versions = versions
            sess.add(b)
            sess.flush()
            if m is not None:
                b.duration_ms = m.duration_ms
            self._version(sess, b, actor, now)
            if submit:
                self._submit(sess, actor, b, speech, now)
            self.ctx.audit(
                sess, actor, "bulletin.create", b.id, detail={"status": b.status, "title": b.title}
            )
            return self.views.view(sess, b, actor)

    def _apply(self, b: Bulletin, data: BulletinInput, origin: str, now: datetime) -> None:
        b.title, b.priority, b.form, b.origin = data.title.strip(), data.priority, data.form, origin
        b.subject = data.subject or b.subject or "other"
        b.text = (data.text or "").strip() or None
        b.media_sha256, b.subtitles_sha256 = data.media, data.subtitles
        b.kinds = sorted(set(data.kinds))
        b.valid_from, b.valid_until = data.valid_from, data.valid_until
        b.plays_per_day, b.sensitive, b.exercise = data.plays_per_day, data.sensitive, data.exercise
        b.repeat = {"count": 1, "interval_s": 0, "then_every_s": 0, **(data.repeat or {})}
        b.after_interrupt = data.after_interrupt
        b.voice = data.voice or None
        b.updated_at = now
        b.targets = [BulletinTarget(area_path=t) for t in sorted(set(data.targets))]

    def _language_versions(self, sess: Session, data: BulletinInput) -> list[dict[str, str]] | None:
        """The checked language versions (hub/services/languages.py), None when there are none."""
        found = check_versions(
            sess, self.areas, data.language_versions, kinds=data.kinds, priority=data.priority,
            targets=data.targets,
        )  # fmt: skip
        return found or None

    def _version(self, sess: Session, b: Bulletin, actor: Actor, now: datetime) -> None:
        sess.add(
            BulletinVersion(
                bulletin_id=b.id,
                version=b.version,
                content=content_of(b),
                created_by=actor.user_id,
                created_at=now,
            )
        )

    def _rides_in_alert(self, duration_ms: int) -> bool:
        """Whether an emergency of this length rides in its alert as Opus (media.alert_inline_kb)."""
        return 0 < estimated_size(duration_ms) <= self.ctx.config.media.alert_inline_kb * 1024

    def _submit(
        self, sess: Session, actor: Actor, b: Bulletin, speech: SpeechResult | None, now: datetime
    ) -> None:
        if speech is not None:
            m = self.media.store_speech(sess, actor, speech)
            b.media_sha256 = m.sha256
            b.duration_ms = int(speech.duration_ms)
            sess.add(
                Speech(
                    bulletin_id=b.id,
                    version=b.version,
                    media_sha256=m.sha256,
                    engine=speech.engine,
                    voice=speech.voice,
                    normalized_text=speech.normalized_text,
                    created_at=now,
                )
            )
        move(b, BulletinStatus.IN_REVIEW if b.sensitive else BulletinStatus.SUBMITTED)
        b.submitted_at = now
        if b.priority == "emergency" and b.media_sha256 and self._rides_in_alert(b.duration_ms or 0):
            # its alert will carry the Opus copy (hub/services/alert_audio.py): made now, not at approval
            self.media.alert_audio.warm(self.media.path_for(b.media_sha256), b.media_sha256)
        b.rejected_reason = None

    async def submit(self, actor: Actor, bulletin_id: str) -> BulletinView:
        text, form, choice = await asyncio.to_thread(self._submit_check, actor, bulletin_id)
        if form == "text":
            speech = await self._speak(text, await asyncio.to_thread(self.voices.resolve, choice))
        else:
            speech = None
        return await asyncio.to_thread(self._submit_tx, actor, bulletin_id, speech)

    def _submit_check(self, actor: Actor, bulletin_id: str) -> tuple[str | None, str, str | None]:
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.check_submit(actor, b)
            self.checks.check_not_ended(b.valid_until)
            # a draft saved before the windows changed
            self.checks.check_plays_in(
                sess, b.priority, b.kinds, b.plays_per_day, b.target_paths, b.valid_from
            )
            return b.text, b.form, b.voice

    def _submit_tx(self, actor: Actor, bulletin_id: str, speech: SpeechResult | None) -> BulletinView:
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            if b.status not in ("draft", "rejected"):
                raise Conflict("Bản tin vừa được người khác thay đổi; hãy tải lại.", field="status")
            self._submit(sess, actor, b, speech, now)
            self.ctx.audit(sess, actor, "bulletin.submit", b.id, detail={"status": b.status})
            return self.views.view(sess, b, actor)

    async def edit(self, actor: Actor, bulletin_id: str, data: BulletinInput) -> BulletinView:
        """A new version; a bulletin already submitted is spoken again and stays in its queue."""
        origin = self.checks.validate(actor, data)
        seen = await asyncio.to_thread(self._edit_check, actor, bulletin_id, data)
        resubmit = seen[0] in ("submitted", "in_review")
        if resubmit:
            self.checks.check_not_ended(data.valid_until)
        voice = await asyncio.to_thread(self._check_plays_and_voice, data, bulletin_id)
        speech = await self._speak(data.text, voice) if resubmit and data.form == "text" else None
        return await asyncio.to_thread(self._edit_tx, actor, bulletin_id, data, origin, seen, speech)

    def _edit_check(self, actor: Actor, bulletin_id: str, data: BulletinInput) -> tuple[str, int]:
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.require_targets(actor, "bulletin.create", b)
            self.checks.editable(b)
            self.checks.check_keeps_mark(actor, b, data)
            return b.status, b.version

    def _edit_tx(  # noqa: PLR0917 - one transaction's inputs, called from edit() only
        self,
        actor: Actor,
        bulletin_id: str,
        data: BulletinInput,
        origin: str,
        seen: tuple[str, int],
        speech: SpeechResult | None,
    ) -> BulletinView:
        resubmit = seen[0] in ("submitted", "in_review")
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.editable(b)  # approved (or edited) by someone else while the speech was being made
            if (b.status, b.version) != seen:
                raise Conflict(
                    "Bản tin vừa được người khác thay đổi; hãy tải lại rồi sửa tiếp.", field="status"
                )
            self.checks.check_keeps_mark(actor, b, data)
            m = self.checks.check_media(sess, data)
            versions = self._language_versions(sess, data)
            b.version += 1
            # a colleague's edit keeps where the bulletin comes from unless origin is given (and checked)
            self._apply(b, data, origin if data.origin else b.origin, now)
            b.language_versions = versions
            b.duration_ms = m.duration_ms if m is not None else 0
            self._version(sess, b, actor, now)
            if resubmit:
                self._submit(sess, actor, b, speech, now)
            elif b.status == "rejected":
                move(b, BulletinStatus.DRAFT)
            self.ctx.audit(sess, actor, "bulletin.edit", b.id, detail={"version": b.version})
            return self.views.view(sess, b, actor)

    # --- decisions
    def approve(self, actor: Actor, bulletin_id: str, *, via_review: bool = False) -> BulletinView:
        """Approve (the caller then publishes), or for a sensitive bulletin sign it off: it is approved
        with the last sign-off it needs and stays in review until then."""
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.check_approve(sess, actor, b, via_review=via_review)
            if b.status == "in_review":
                if not self.review.sign_off(sess, actor, b):
                    b.updated_at = now
                    return self.views.view(sess, b, actor)
                b.reviewed_by = actor.user_id
            move(b, BulletinStatus.APPROVED)
            b.approved_at, b.approved_by, b.updated_at = now, actor.user_id, now
            b.origin = self._origin_at_approval(sess, b)  # kept: later reorganisations do not change it
            if b.valid_from is None:
                b.valid_from = now
            if b.priority == "emergency" and b.valid_until is None:
                b.valid_until = now + timedelta(seconds=self.ctx.config.programme.emergency_default_s)
            if self.sendable is not None:
                self.sendable(sess, b.id)  # too big for the devices: refused, rolled back, nothing sent
            self.ctx.audit(
                sess,
                actor,
                "bulletin.approve",
                b.id,
                detail={"priority": b.priority, "origin": b.origin, "targets": b.target_paths},
            )
            if b.priority == "emergency":  # the alert first (urgent), its programmes after
                self.ctx.intend(sess, "alert", {"bulletin": b.id, "msg_type": "Alert"})
            else:
                self.ctx.intend(sess, "republish", {"areas": list(b.target_paths), "kinds": list(b.kinds)})
            return self.views.view(sess, b, actor)

    def _origin_at_approval(self, sess: Session, b: Bulletin) -> str:
        """Art. 8.2's rank follows the level of the author's unit as it is when the bulletin is approved (a
        district editor moved to the province by a reorganisation writes province bulletins from then on)."""
        if b.origin == "central" or b.created_by is None:
            return b.origin
        author = sess.get(User, b.created_by)
        area = self.areas.all().get(author.area_path) if author is not None and author.area_path else None
        return LEVEL_ORIGIN.get(area.level if area is not None else "province", "province")

    def reject(self, actor: Actor, bulletin_id: str, reason: str) -> BulletinView:
        if not (reason or "").strip():
            raise Invalid("Cần ghi lý do từ chối.", field="reason")
        check_len(reason, REASON_MAX, "reason", "Lý do")
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.check_reject(actor, b)
            move(b, BulletinStatus.REJECTED)
            b.rejected_reason, b.updated_at = reason.strip(), self.ctx.now()
            self.ctx.audit(sess, actor, "bulletin.reject", b.id, detail={"reason": reason.strip()})
            return self.views.view(sess, b, actor)

    def flag(self, actor: Actor, bulletin_id: str, reason: str = "") -> BulletinView:
        """Mark a bulletin sensitive (editors, reviewers): one waiting for approval goes to review."""
        check_len(reason, REASON_MAX, "reason", "Lý do")
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.check_flag(actor, b)
            b.sensitive, b.updated_at = True, self.ctx.now()
            if b.status == "submitted":
                move(b, BulletinStatus.IN_REVIEW)
            self.ctx.audit(
                sess, actor, "bulletin.flag", b.id, detail={"reason": reason.strip(), "status": b.status}
            )
            return self.views.view(sess, b, actor)

    def unflag(self, actor: Actor, bulletin_id: str, reason: str) -> BulletinView:
        """A reviewer clears the sensitive mark (audited, with a reason): in review -> submitted."""
        if not (reason or "").strip():
            raise Invalid("Cần ghi lý do bỏ đánh dấu nhạy cảm.", field="reason")
        check_len(reason, REASON_MAX, "reason", "Lý do")
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.check_unflag(sess, actor, b)
            b.sensitive, b.updated_at = False, self.ctx.now()
            if b.status == "in_review":
                move(b, BulletinStatus.SUBMITTED)
            self.ctx.audit(
                sess, actor, "bulletin.unflag", b.id, detail={"reason": reason.strip(), "status": b.status}
            )
            return self.views.view(sess, b, actor)

    def recall(self, actor: Actor, bulletin_id: str, reason: str) -> BulletinView:
        if not (reason or "").strip():
            raise Invalid("Cần ghi lý do thu hồi.", field="reason")
        check_len(reason, REASON_MAX, "reason", "Lý do")
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.check_recall(actor, b)
            move(b, BulletinStatus.RECALLED)
            b.recalled_at, b.recall_reason, b.updated_at = now, reason.strip(), now
            self.ctx.audit(sess, actor, "bulletin.recall", b.id, detail={"reason": reason.strip()})
            self.ctx.intend(sess, "recall", {"bulletin": b.id, "reason": reason})
            return self.views.view(sess, b, actor)

    def cancel_alert(self, actor: Actor, bulletin_id: str) -> BulletinView:
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = load(sess, bulletin_id)
            self.checks.check_cancel(actor, b)
            move(b, BulletinStatus.CANCELLED)
            b.cancelled_at, b.updated_at = now, now
            self.ctx.audit(sess, actor, "alert.cancel", b.id)
            self.ctx.intend(sess, "alert", {"bulletin": b.id, "msg_type": "Cancel"})
            return self.views.view(sess, b, actor)

    # --- checks and reading (hub/services/bulletin_checks.py, hub/services/bulletin_views.py)
    def validate(self, actor: Actor, data: BulletinInput) -> str:
        """Semantic and permission checks of an editor's input (Invalid/Forbidden); returns the origin."""
        return self.checks.validate(actor, data)

    def check_plays(self, data: BulletinInput) -> None:
        self.checks.check_plays(data)

    def get(self, actor: Actor, bulletin_id: str) -> BulletinDetail:
        return self.views.get(actor, bulletin_id)

    def list(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        priority: str | None = None,
        area: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[BulletinSummary]:
        return self.views.list(actor, status=status, priority=priority, area=area, limit=limit, offset=offset)

    def search(
        self,
        actor: Actor,
        *,
        q: str = "",
        status: str | tuple[str, ...] | None = None,
        priority: str | None = None,
        area: str | None = None,
        created_by: int | None = None,
        sort: str = "created",
        desc: bool = True,
        limit: int = 50,
        offset: int = 0,
        within: bool = False,
    ) -> tuple[builtins.list[BulletinSummary], int]:
        """One page of the bulletins the caller sees and the count of all that match (BulletinViews.search,
        with the areas' names for `q`); `within`: only those whose every target is in the caller's area
        (what they may approve)."""
        names = {p: a.name for p, a in self.areas.all().items()}
        return self.views.search(
            actor, q=q, status=status, priority=priority, area=area, created_by=created_by, names=names,
            sort=sort, desc=desc, limit=limit, offset=offset, within=within,
        )  # fmt: skip

    def titles(self, actor: Actor, ids: Iterable[str]) -> dict[str, str]:
        return self.views.titles(actor, ids)
