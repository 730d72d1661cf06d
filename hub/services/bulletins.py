"""The bulletin workflow: draft -> submitted -> (in_review) -> approved -> on_air -> finished,
with reject (reason required), recall (thu hồi) and, for emergencies, cancel.

Text bulletins are spoken at submit, so a TTS failure is a 422 and nothing is saved, and approval
can publish at once. Publishing itself is done by PublishingService (the caller awaits it).
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.limits import REASON_MAX, check_len
from hub.models import (
    Bulletin,
    BulletinTarget,
    BulletinVersion,
    Media,
    RecallConfirmation,
    Speech,
    User,
)
from hub.roles import Actor, is_central
from hub.search import matches, search_words
from hub.services.areas import AreaService
from hub.services.base import Context, Speaker, deny, new_id, require
from hub.services.bulletin_checks import input_problems
from hub.services.lifecycle import STATUS_VI, move
from hub.services.media import MediaService
from hub.services.review import ReviewPolicy
from hub.services.windows import WindowService
from playlists.windows import windows_per_day
from protocol.topics import covers
from protocol.vocabulary import LIVE_STATUSES, ORIGINS, BulletinStatus

if TYPE_CHECKING:
    from tts import SpeechResult

# An audio bulletin's words are in its audio: its text is a caption (what a list or an LED board shows).
EDITABLE = ("draft", "rejected", "submitted", "in_review")
LEVEL_ORIGIN = {"province": "province", "district": "district", "commune": "commune"}
KIND_VI = {"radio": "đài truyền thanh", "led": "bảng tin điện tử"}
# What a person may do to a bulletin; `actions` in the API's bulletin and the buttons of its page.
ACTIONS = ("edit", "submit", "approve", "signoff", "reject", "flag", "unflag", "recall", "cancel")


@dataclass(frozen=True)
class BulletinInput:
    """What an editor sends (already type-checked by the API layer)."""

    title: str
    priority: str
    form: str
    targets: list[str]
    kinds: list[str]
    text: str | None = None
    media: str | None = None
    subtitles: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    plays_per_day: int = 1
    sensitive: bool = False
    exercise: bool = False
    repeat: dict[str, int] | None = None
    after_interrupt: str = "restart"
    origin: str | None = None


def content_of(b: Bulletin) -> dict[str, Any]:
    return {
        "title": b.title,
        "priority": b.priority,
        "form": b.form,
        "text": b.text,
        "media": b.media_sha256,
        "subtitles": b.subtitles_sha256,
        "targets": b.target_paths,
        "kinds": list(b.kinds),
        "valid_from": b.valid_from.isoformat() if b.valid_from else None,
        "valid_until": b.valid_until.isoformat() if b.valid_until else None,
        "plays_per_day": b.plays_per_day,
        "sensitive": b.sensitive,
        "exercise": b.exercise,
        "repeat": b.repeat,
        "after_interrupt": b.after_interrupt,
        "origin": b.origin,
    }


_PRIORITY_ORDER = {"emergency": 0, "priority": 1, "normal": 2}
BULLETIN_SORTS: dict[str, Callable[[tuple[Any, str]], Any]] = {
    "created": lambda r: (r[0].created_at, r[0].id),
    "title": lambda r: (r[0].title.casefold(), r[0].id),
    "status": lambda r: (STATUS_VI.get(r[1], r[1]), r[0].created_at),
    "priority": lambda r: (_PRIORITY_ORDER.get(r[0].priority, 9), r[0].created_at),
}


def effective_status(b: Any, now: datetime) -> str:
    """The status a person sees (a bulletin or a row with its status and valid_until)."""
    if b.status in LIVE_STATUSES and b.valid_until is not None and b.valid_until <= now:
        return "finished"
    return str(b.status)


class BulletinService:
    def __init__(
        self,
        ctx: Context,
        areas: AreaService,
        media: MediaService,
        speech: Speaker,
        *,
        windows: WindowService | None = None,
    ) -> None:
        self.ctx = ctx
        self.windows = windows or WindowService(ctx, areas)
        self.areas = areas
        self.media = media
        self.speech = speech  # hub/speech.py's SpeechService
        # Checks, inside the approval's transaction, that what the approval will publish can be received
        # (PublishingService.check_sendable; Services wires it): raising refuses the approval.
        self.sendable: Callable[[Session, str], None] | None = None
        self.review = ReviewPolicy(ctx)

    # --- validation
    def validate(self, actor: Actor, data: BulletinInput) -> str:
        """Semantic and permission checks of an editor's input (Invalid/Forbidden); returns the origin."""
        problems = input_problems(data)
        if problems:
            raise problems[0]
        for path in data.targets:
            self.areas.get(path, field="targets")
        for path in data.targets:
            require(actor, "bulletin.create", path, area=path)
        if data.priority == "emergency":
            for path in data.targets:
                require(actor, "bulletin.emergency", path, area=path)
        level = self.areas.get(actor.area_path).level if actor.area_path else "province"
        origin = LEVEL_ORIGIN.get(level, "province")
        if is_central(actor):
            return "central"  # only the central system's signed interface (hub/central/) acts as it
        if data.origin and data.origin != origin:
            if data.origin not in ORIGINS:
                raise Invalid(f"origin dùng một trong {', '.join(ORIGINS)}.", field="origin")
            if data.origin == "central":
                raise Invalid(
                    "Nguồn 'central' (Trung ương) chỉ đến từ giao diện kết nối có chữ ký của hệ thống Trung "
                    "ương (docs/CENTRAL.md); tài khoản của tỉnh không gửi được bản tin mang nguồn này.",
                    field="origin",
                )
            raise Invalid(
                f"Tài khoản cấp {origin} không gửi được bản tin với nguồn '{data.origin}'.",
                field="origin",
            )
        return origin

    def _check_plays(  # noqa: PLR0917 - the bulletin's fields the check reads
        self,
        sess: Session,
        priority: str,
        kinds: Iterable[str],
        plays_per_day: int,
        targets: Iterable[str],
        valid_from: datetime | None,
    ) -> None:
        """A radio bulletin plays at most once per window, so not more often than its target communes have
        windows on its first day (the most any of them has: one with fewer gets fewer plays, and its chair
        sees why). An LED board shows its bulletins in rotation (plays_per_day unused); an emergency is not
        bound by windows (`repeat` says how often)."""
        if priority == "emergency" or "radio" not in kinds:
            return
        targets = list(targets)
        now = self.ctx.now()
        day = max(valid_from or now, now).astimezone(self.ctx.tz).date()
        table = self.windows.table(sess)
        best: tuple[int, str, tuple[str, ...]] | None = None
        for leaf in self.areas.leaves_under(targets):
            windows = table.resolve(leaf, "radio", day).windows
            n = windows_per_day("radio", windows)
            if best is None or n > best[0]:
                best = (n, leaf, windows)
        if best is None or plays_per_day <= best[0]:
            return
        n, leaf, windows = best
        where = "xã nhận" if targets == [leaf] else "địa bàn nhận"
        raise Invalid(
            f"Ngày {day:%d/%m/%Y}, {where} có nhiều nhất {n} khung giờ phát cho {KIND_VI['radio']} "
            f"({', '.join(windows)}) và mỗi khung phát một bản tin nhiều nhất một lần: số lần phát mỗi ngày "
            f"tối đa {n}, không phải {plays_per_day}.",
            field="plays_per_day",
        )

    def check_plays(self, data: BulletinInput) -> None:
        """The plays-per-day check on an editor's input (in its own read; callers run it in a thread)."""
        with self.ctx.db.session() as sess:
            self._check_plays(
                sess, data.priority, data.kinds, data.plays_per_day, data.targets, data.valid_from
            )

    def _check_not_ended(self, valid_until: datetime | None) -> None:
        """A bulletin whose validity already ended cannot be submitted (it would never air)."""
        now = self.ctx.now()
        if valid_until is not None and valid_until <= now:
            ended = valid_until.astimezone(self.ctx.tz)
            raise Invalid(
                f"Thời hạn hiệu lực đã hết lúc {ended:%H:%M} ngày {ended:%d/%m/%Y} (giờ địa phương), trước "
                "thời điểm gửi duyệt, nên bản tin sẽ không được phát. Hãy sửa thời hạn kết thúc "
                "(valid_until) thành một thời điểm sau bây giờ.",
                field="valid_until",
            )

    def _check_media(self, sess: Session, data: BulletinInput) -> Media | None:
        if data.subtitles:
            if data.form != "video":
                raise Invalid("Phụ đề chỉ dùng cho bản tin video trên bảng tin điện tử.", field="subtitles")
            sub = sess.get(Media, data.subtitles)
            if sub is None or sub.kind != "subtitles":
                raise Invalid("Phụ đề phải là tệp WebVTT đã tải lên.", field="subtitles")
        if not data.media:
            return None
        m = sess.get(Media, data.media)
        if m is None:
            raise Invalid(
                f"Chưa có tệp {data.media}; hãy tải lên qua POST /api/v1/media trước.", field="media"
            )
        allowed = {"audio": ("audio",), "image": ("image",), "infographic": ("image",), "video": ("video",)}
        if data.form in allowed and m.kind not in allowed[data.form]:
            raise Invalid(
                f"Tệp {data.media[:12]}… là {m.kind}, không dùng được cho bản tin {data.form}.", field="media"
            )
        if "radio" in data.kinds and m.kind != "audio":
            raise Invalid(
                "Loa truyền thanh chỉ phát âm thanh; bỏ 'radio' khỏi kinds hoặc dùng tệp âm thanh.",
                field="kinds",
            )
        return m

    # --- create / edit / submit
    async def create(self, actor: Actor, data: BulletinInput, *, submit: bool = True) -> dict[str, Any]:
        """Check, speak (text, when submitted) and save in one transaction; the database part in a thread."""
        origin = self.validate(actor, data)
        if submit:
            self._check_not_ended(data.valid_until)
        await asyncio.to_thread(self.check_plays, data)
        speech = await self.speech.speak(data.text or "") if submit and data.form == "text" else None
        return await asyncio.to_thread(self._create_tx, actor, data, origin, speech, submit=submit)

    def _create_tx(
        self, actor: Actor, data: BulletinInput, origin: str, speech: SpeechResult | None, *, submit: bool
    ) -> dict[str, Any]:
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            m = self._check_media(sess, data)
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
            return self._dict(sess, b, actor=actor)

    def _apply(self, b: Bulletin, data: BulletinInput, origin: str, now: datetime) -> None:
        b.title, b.priority, b.form, b.origin = data.title.strip(), data.priority, data.form, origin
        b.text = (data.text or "").strip() or None
        b.media_sha256, b.subtitles_sha256 = data.media, data.subtitles
        b.kinds = sorted(set(data.kinds))
        b.valid_from, b.valid_until = data.valid_from, data.valid_until
        b.plays_per_day, b.sensitive, b.exercise = data.plays_per_day, data.sensitive, data.exercise
        b.repeat = {"count": 1, "interval_s": 0, "then_every_s": 0, **(data.repeat or {})}
        b.after_interrupt = data.after_interrupt
        b.updated_at = now
        b.targets = [BulletinTarget(area_path=t) for t in sorted(set(data.targets))]

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
        b.rejected_reason = None

    def _load(self, sess: Session, bulletin_id: str) -> Bulletin:
        b = sess.get(Bulletin, bulletin_id)
        if b is None:
            raise NotFound(f"Không có bản tin '{bulletin_id}'.", field="id")
        return b

    def _require_targets(self, actor: Actor, action: str, b: Bulletin, message: str | None = None) -> None:
        if not actor.may(action) or not all(actor.covers(t) for t in b.target_paths):
            raise deny(
                action,
                b.id,
                message
                or f"Không có quyền {action} với bản tin này "
                f"(vai trò {actor.role}, địa bàn {actor.area_path}).",
            )

    async def submit(self, actor: Actor, bulletin_id: str) -> dict[str, Any]:
        text, form = await asyncio.to_thread(self._submit_check, actor, bulletin_id)
        speech = await self.speech.speak(text or "") if form == "text" else None
        return await asyncio.to_thread(self._submit_tx, actor, bulletin_id, speech)

    def _submit_check(self, actor: Actor, bulletin_id: str) -> tuple[str | None, str]:
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._check_submit(actor, b)
            self._check_not_ended(b.valid_until)
            # a draft saved before the windows changed
            self._check_plays(sess, b.priority, b.kinds, b.plays_per_day, b.target_paths, b.valid_from)
            return b.text, b.form

    def _check_submit(self, actor: Actor, b: Bulletin) -> None:
        self._require_targets(actor, "bulletin.create", b)
        if b.status not in ("draft", "rejected"):
            raise Conflict(
                f"Bản tin đang ở trạng thái '{STATUS_VI[b.status]}', không gửi duyệt được.",
                field="status",
            )

    def _submit_tx(self, actor: Actor, bulletin_id: str, speech: SpeechResult | None) -> dict[str, Any]:
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            if b.status not in ("draft", "rejected"):
                raise Conflict("Bản tin vừa được người khác thay đổi; hãy tải lại.", field="status")
            self._submit(sess, actor, b, speech, now)
            self.ctx.audit(sess, actor, "bulletin.submit", b.id, detail={"status": b.status})
            return self._dict(sess, b, actor=actor)

    async def edit(self, actor: Actor, bulletin_id: str, data: BulletinInput) -> dict[str, Any]:
        """A new version; a bulletin already submitted is spoken again and stays in its queue."""
        origin = self.validate(actor, data)
        seen = await asyncio.to_thread(self._edit_check, actor, bulletin_id, data)
        resubmit = seen[0] in ("submitted", "in_review")
        if resubmit:
            self._check_not_ended(data.valid_until)
        await asyncio.to_thread(self.check_plays, data)
        speech = await self.speech.speak(data.text or "") if resubmit and data.form == "text" else None
        return await asyncio.to_thread(self._edit_tx, actor, bulletin_id, data, origin, seen, speech)

    def _edit_check(self, actor: Actor, bulletin_id: str, data: BulletinInput) -> tuple[str, int]:
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._require_targets(actor, "bulletin.create", b)
            self._editable(b)
            self._check_keeps_mark(actor, b, data)
            return b.status, b.version

    @staticmethod
    def _check_keeps_mark(actor: Actor, b: Bulletin, data: BulletinInput) -> None:
        """Art. 14.5: an edit never clears the sensitive mark (whoever saves a version is an author); a
        reviewer who wrote none of it clears it with 'unflag', with a reason."""
        if b.sensitive and not data.sensitive:
            raise deny(
                "bulletin.unflag",
                b.id,
                "Bản tin đã được đánh dấu nhạy cảm; chỉ người kiểm duyệt (không phải người viết) được bỏ "
                "đánh dấu, bằng thao tác 'Bỏ đánh dấu nhạy cảm'. Hãy giữ ô 'Nội dung nhạy cảm' "
                "(sensitive: true) khi sửa, hoặc đề nghị người kiểm duyệt xem xét.",
            )

    def _edit_tx(  # noqa: PLR0917 - one transaction's inputs, called from edit() only
        self,
        actor: Actor,
        bulletin_id: str,
        data: BulletinInput,
        origin: str,
        seen: tuple[str, int],
        speech: SpeechResult | None,
    ) -> dict[str, Any]:
        resubmit = seen[0] in ("submitted", "in_review")
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._editable(b)  # approved (or edited) by someone else while the speech was being made
            if (b.status, b.version) != seen:
                raise Conflict(
                    "Bản tin vừa được người khác thay đổi; hãy tải lại rồi sửa tiếp.", field="status"
                )
            self._check_keeps_mark(actor, b, data)
            m = self._check_media(sess, data)
            b.version += 1
            # a colleague's edit keeps where the bulletin comes from unless origin is given (and checked)
            self._apply(b, data, origin if data.origin else b.origin, now)
            b.duration_ms = m.duration_ms if m is not None else 0
            self._version(sess, b, actor, now)
            if resubmit:
                self._submit(sess, actor, b, speech, now)
            elif b.status == "rejected":
                move(b, BulletinStatus.DRAFT)
            self.ctx.audit(sess, actor, "bulletin.edit", b.id, detail={"version": b.version})
            return self._dict(sess, b, actor=actor)

    @staticmethod
    def _editable(b: Bulletin) -> None:
        if b.status not in EDITABLE:
            raise Conflict(
                f"Bản tin đang ở trạng thái '{STATUS_VI[b.status]}' nên không sửa được nữa (chỉ sửa "
                "trước khi duyệt). Nếu nội dung sai, hãy thu hồi bản tin và tạo bản tin mới.",
                field="status",
            )

    # --- decisions
    def _check_approve(self, sess: Session, actor: Actor, b: Bulletin, *, via_review: bool = False) -> None:
        """Why the actor may not approve (or, in review, sign off) this bulletin now: 409/403."""
        if b.status in ("draft", "rejected"):
            raise Conflict("Bản tin chưa được gửi duyệt (submit).", field="status")
        if b.status not in ("submitted", "in_review"):
            raise Conflict(
                f"Bản tin đang ở trạng thái '{STATUS_VI[b.status]}', không duyệt được nữa.",
                field="status",
            )
        if b.priority == "emergency":
            self._require_targets(
                actor,
                "bulletin.emergency",
                b,
                "Bản tin khẩn cấp chỉ biên tập viên hoặc quản trị của địa bàn được phát.",
            )
        if b.status == "in_review":
            self._require_targets(
                actor,
                "bulletin.review",
                b,
                "Bản tin nhạy cảm phải được người kiểm duyệt duyệt trước khi phát.",
            )
            self.review.check_signoff(sess, actor, b)
        elif b.priority != "emergency":
            self._require_targets(actor, "bulletin.review" if via_review else "bulletin.approve", b)
            self.review.check_self_approval(sess, actor, b)

    def approve(self, actor: Actor, bulletin_id: str, *, via_review: bool = False) -> dict[str, Any]:
        """Approve (the caller then publishes), or for a sensitive bulletin sign it off: it is approved
        with the last sign-off it needs and stays in review until then."""
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._check_approve(sess, actor, b, via_review=via_review)
            if b.status == "in_review":
                if not self.review.sign_off(sess, actor, b):
                    b.updated_at = now
                    return self._dict(sess, b, actor=actor)
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
            return self._dict(sess, b, actor=actor)

    def _origin_at_approval(self, sess: Session, b: Bulletin) -> str:
        """Art. 8.2's rank follows the level of the author's unit as it is when the bulletin is approved (a
        district editor moved to the province by a reorganisation writes province bulletins from then on)."""
        if b.origin == "central" or b.created_by is None:
            return b.origin
        author = sess.get(User, b.created_by)
        area = self.areas.all().get(author.area_path) if author is not None and author.area_path else None
        return LEVEL_ORIGIN.get(area.level if area is not None else "province", "province")

    def _check_reject(self, actor: Actor, b: Bulletin) -> None:
        action = "bulletin.review" if b.status == "in_review" else "bulletin.approve"
        if not (actor.may("bulletin.review") or actor.may("bulletin.approve")):
            raise deny(action, b.id, "Vai trò này không được từ chối bản tin.")
        if b.status == "in_review":  # only a reviewer turns back a sensitive bulletin
            self._require_targets(actor, action, b, "Bản tin nhạy cảm chỉ người kiểm duyệt được từ chối.")
        else:
            self._require_targets(actor, action if actor.may(action) else "bulletin.review", b)
        if b.status not in ("submitted", "in_review"):
            raise Conflict(
                f"Chỉ từ chối được bản tin đang chờ duyệt (hiện: {STATUS_VI[b.status]}).", field="status"
            )

    def reject(self, actor: Actor, bulletin_id: str, reason: str) -> dict[str, Any]:
        if not (reason or "").strip():
            raise Invalid("Cần ghi lý do từ chối.", field="reason")
        check_len(reason, REASON_MAX, "reason", "Lý do")
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._check_reject(actor, b)
            move(b, BulletinStatus.REJECTED)
            b.rejected_reason, b.updated_at = reason.strip(), self.ctx.now()
            self.ctx.audit(sess, actor, "bulletin.reject", b.id, detail={"reason": reason.strip()})
            return self._dict(sess, b, actor=actor)

    def _check_flag(self, actor: Actor, b: Bulletin) -> None:
        if not (actor.may("bulletin.create") or actor.may("bulletin.review")):
            raise deny("bulletin.flag", b.id, "Vai trò này không đánh dấu được bản tin nhạy cảm.")
        action = "bulletin.review" if actor.may("bulletin.review") else "bulletin.create"
        self._require_targets(actor, action, b)
        if b.sensitive:
            raise Conflict("Bản tin đã được đánh dấu nhạy cảm.", field="sensitive")
        if b.status not in ("draft", "rejected", "submitted") or b.priority == "emergency":
            raise Conflict(
                f"Chỉ đánh dấu nhạy cảm được bản tin chưa duyệt (hiện: {STATUS_VI[b.status]}); bản tin đã "
                "duyệt mà có vấn đề thì thu hồi.",
                field="status",
            )

    def flag(self, actor: Actor, bulletin_id: str, reason: str = "") -> dict[str, Any]:
        """Mark a bulletin sensitive (editors, reviewers): one waiting for approval goes to review."""
        check_len(reason, REASON_MAX, "reason", "Lý do")
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._check_flag(actor, b)
            b.sensitive, b.updated_at = True, self.ctx.now()
            if b.status == "submitted":
                move(b, BulletinStatus.IN_REVIEW)
            self.ctx.audit(
                sess, actor, "bulletin.flag", b.id, detail={"reason": reason.strip(), "status": b.status}
            )
            return self._dict(sess, b, actor=actor)

    def _check_unflag(self, sess: Session, actor: Actor, b: Bulletin) -> None:
        self._require_targets(
            actor,
            "bulletin.review",
            b,
            "Chỉ người kiểm duyệt của địa bàn được bỏ đánh dấu nhạy cảm của bản tin.",
        )
        if actor.user_id is None or actor.user_id in self.review.authors(sess, b):
            raise deny(
                "bulletin.unflag",
                b.id,
                "Người viết bản tin không tự bỏ đánh dấu nhạy cảm được; cần người kiểm duyệt khác.",
            )
        if not b.sensitive:
            raise Conflict("Bản tin không có đánh dấu nhạy cảm.", field="sensitive")
        if b.status not in EDITABLE:
            raise Conflict(
                f"Bản tin đang ở trạng thái '{STATUS_VI[b.status]}'; chỉ bỏ đánh dấu trước khi duyệt.",
                field="status",
            )

    def unflag(self, actor: Actor, bulletin_id: str, reason: str) -> dict[str, Any]:
        """A reviewer clears the sensitive mark (audited, with a reason): in review -> submitted."""
        if not (reason or "").strip():
            raise Invalid("Cần ghi lý do bỏ đánh dấu nhạy cảm.", field="reason")
        check_len(reason, REASON_MAX, "reason", "Lý do")
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._check_unflag(sess, actor, b)
            b.sensitive, b.updated_at = False, self.ctx.now()
            if b.status == "in_review":
                move(b, BulletinStatus.SUBMITTED)
            self.ctx.audit(
                sess, actor, "bulletin.unflag", b.id, detail={"reason": reason.strip(), "status": b.status}
            )
            return self._dict(sess, b, actor=actor)

    def _actions(self, sess: Session, actor: Actor, b: Bulletin) -> list[str]:
        """The actions the actor may take on the bulletin now: the same checks the actions make."""
        checks: dict[str, Callable[[], None]] = {
            "edit": lambda: self._check_edit(actor, b),
            "submit": lambda: self._check_submit(actor, b),
            "approve": lambda: self._check_approve(sess, actor, b) if b.status == "submitted" else self._no(),
            "signoff": lambda: self._check_approve(sess, actor, b) if b.status == "in_review" else self._no(),
            "reject": lambda: self._check_reject(actor, b),
            "flag": lambda: self._check_flag(actor, b),
            "unflag": lambda: self._check_unflag(sess, actor, b),
            "recall": lambda: self._check_recall(actor, b) if b.priority != "emergency" else self._no(),
            "cancel": lambda: self._check_cancel(actor, b),
        }
        out = []
        for name in ACTIONS:
            try:
                checks[name]()
            except (Forbidden, Conflict, Invalid):
                continue
            out.append(name)
        return out

    def _check_edit(self, actor: Actor, b: Bulletin) -> None:
        self._require_targets(actor, "bulletin.create", b)
        self._editable(b)

    @staticmethod
    def _no() -> None:
        raise Conflict("not applicable")

    def recall(self, actor: Actor, bulletin_id: str, reason: str) -> dict[str, Any]:
        if not (reason or "").strip():
            raise Invalid("Cần ghi lý do thu hồi.", field="reason")
        check_len(reason, REASON_MAX, "reason", "Lý do")
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._check_recall(actor, b)
            move(b, BulletinStatus.RECALLED)
            b.recalled_at, b.recall_reason, b.updated_at = now, reason.strip(), now
            self.ctx.audit(sess, actor, "bulletin.recall", b.id, detail={"reason": reason.strip()})
            return self._dict(sess, b, actor=actor)

    def _check_recall(self, actor: Actor, b: Bulletin) -> None:
        self._require_targets(
            actor, "bulletin.emergency" if b.priority == "emergency" else "bulletin.recall", b
        )
        if b.status not in LIVE_STATUSES:
            raise Conflict(
                f"Chỉ thu hồi được bản tin đã duyệt (hiện: {STATUS_VI[b.status]}).", field="status"
            )

    def _check_cancel(self, actor: Actor, b: Bulletin) -> None:
        if b.priority != "emergency":
            raise Invalid("Chỉ hủy được bản tin khẩn cấp; bản tin khác hãy thu hồi.", field="id")
        self._require_targets(actor, "bulletin.emergency", b)
        if b.status not in LIVE_STATUSES:
            raise Conflict(
                f"Bản tin khẩn cấp không còn hiệu lực (hiện: {STATUS_VI[b.status]}).", field="status"
            )

    def cancel_alert(self, actor: Actor, bulletin_id: str) -> dict[str, Any]:
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            b = self._load(sess, bulletin_id)
            self._check_cancel(actor, b)
            move(b, BulletinStatus.CANCELLED)
            b.cancelled_at, b.updated_at = now, now
            self.ctx.audit(sess, actor, "alert.cancel", b.id)
            return self._dict(sess, b, actor=actor)

    # --- reading
    def get(self, actor: Actor, bulletin_id: str) -> dict[str, Any]:
        require(actor, "read")
        with self.ctx.db.session() as sess:
            b = self._load(sess, bulletin_id)
            if not any(actor.sees(t) for t in b.target_paths):
                raise NotFound(f"Không có bản tin '{bulletin_id}'.", field="id")
            d = self._dict(sess, b, actor=actor)
            d["versions"] = self._versions(sess, b.id)
            d["recall_confirmations"] = [
                {"device_id": r.device_id, "confirmed_at": r.confirmed_at.isoformat()}
                for r in sess.scalars(
                    select(RecallConfirmation)
                    .where(RecallConfirmation.bulletin_id == b.id)
                    .order_by(RecallConfirmation.confirmed_at)
                )
            ]
            return d

    @staticmethod
    def _versions(sess: Session, bulletin_id: str) -> list[dict[str, Any]]:
        """Every saved version with who saved it and which fields changed from the one before."""
        rows = sess.scalars(
            select(BulletinVersion)
            .where(BulletinVersion.bulletin_id == bulletin_id)
            .order_by(BulletinVersion.version)
        ).all()
        users = {
            u.id: u.username
            for u in sess.scalars(
                select(User).where(User.id.in_({v.created_by for v in rows if v.created_by is not None}))
            )
        }
        out: list[dict[str, Any]] = []
        prev: dict[str, Any] | None = None
        for v in rows:
            changed = sorted(k for k in v.content if prev.get(k) != v.content[k]) if prev is not None else []
            out.append(
                {
                    "version": v.version,
                    "created_at": v.created_at.isoformat(),
                    "created_by": users.get(v.created_by) if v.created_by else None,
                    "changed": changed,
                    "content": v.content,
                }
            )
            prev = v.content
        return out

    def list(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        priority: str | None = None,
        area: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        require(actor, "read")
        with self.ctx.db.session() as sess:
            q = select(Bulletin).order_by(Bulletin.created_at.desc(), Bulletin.id)
            if status:
                q = q.where(Bulletin.status == status)
            if priority:
                q = q.where(Bulletin.priority == priority)
            out = []
            for b in sess.scalars(q):
                paths = b.target_paths
                if not any(actor.sees(t) for t in paths):
                    continue
                if area and not any(
                    covers(t, area) or covers(area, t) for t in paths
                ):
                    continue
                out.append(b)
            return [self._dict(sess, b, light=True) for b in out[offset : offset + limit]]

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
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        """One page of the bulletins the caller sees and the count of all that match: `q` searches the
        title, the id and the target areas' names (hub.search); sorts in BULLETIN_SORTS."""
        require(actor, "read")
        words, names, now = search_words(q), self.areas.all(), self.ctx.now()
        with self.ctx.db.session() as sess:
            # the columns a search and a sort need, not whole bulletins: a province has thousands
            cols = (Bulletin.id, Bulletin.title, Bulletin.priority, Bulletin.status, Bulletin.valid_until,
                    Bulletin.created_at)  # fmt: skip
            query = select(*cols).where(Bulletin.priority == priority) if priority else select(*cols)
            if created_by is not None:
                query = query.where(Bulletin.created_by == created_by)
            wanted = (status,) if isinstance(status, str) else status
            targets: dict[str, list[str]] = {}
            for bid, path in sess.execute(select(BulletinTarget.bulletin_id, BulletinTarget.area_path)):
                targets.setdefault(bid, []).append(path)
            found: builtins.list[tuple[Any, str]] = []
            for b in sess.execute(query):
                paths = targets.get(b.id, [])
                if not any(actor.sees(t) for t in paths):
                    continue
                if area and not any(covers(t, area) or covers(area, t) for t in paths):
                    continue
                st = effective_status(b, now)
                if wanted and st not in wanted:
                    continue
                if not matches(words, b.title, b.id, *(names[t].name for t in paths if t in names)):
                    continue
                found.append((b, st))
            found.sort(key=BULLETIN_SORTS[sort], reverse=desc)
            ids = [b.id for b, _ in found[offset : offset + limit]]
            rows = {b.id: b for b in sess.scalars(select(Bulletin).where(Bulletin.id.in_(ids)))}
            return [self._dict(sess, rows[i], light=True) for i in ids], len(found)

    def titles(self, actor: Actor, ids: Iterable[str]) -> dict[str, str]:
        """Titles of these bulletins, whatever their status, that the caller may see (devices page)."""
        require(actor, "read")
        wanted = sorted(set(ids))
        out: dict[str, str] = {}
        with self.ctx.db.session() as sess:
            for i in range(0, len(wanted), 500):
                for b in sess.scalars(select(Bulletin).where(Bulletin.id.in_(wanted[i : i + 500]))):
                    if any(actor.sees(t) for t in b.target_paths):
                        out[b.id] = b.title
        return out

    def _dict(
        self, sess: Session, b: Bulletin, *, light: bool = False, actor: Actor | None = None
    ) -> dict[str, Any]:
        d = {
            "id": b.id,
            "status": effective_status(b, self.ctx.now()),
            **content_of(b),
            "version": b.version,
            "duration_ms": b.duration_ms,
            "created_at": b.created_at.isoformat(),
            "submitted_at": b.submitted_at.isoformat() if b.submitted_at else None,
            "approved_at": b.approved_at.isoformat() if b.approved_at else None,
            "rejected_reason": b.rejected_reason,
            "recalled_at": b.recalled_at.isoformat() if b.recalled_at else None,
            "recall_reason": b.recall_reason,
            "cancelled_at": b.cancelled_at.isoformat() if b.cancelled_at else None,
            "media_url": f"/media/{b.media_sha256}" if b.media_sha256 else None,
        }
        d["status_label"] = STATUS_VI.get(d["status"], d["status"])
        if not light:
            d["review"] = self.review.state(sess, b) if b.sensitive else None
            if actor is not None:
                d["actions"] = self._actions(sess, actor, b)
            creator = sess.get(User, b.created_by) if b.created_by else None
            d["created_by"] = creator.username if creator else None
            sp = sess.scalar(select(Speech).where(Speech.bulletin_id == b.id, Speech.version == b.version))
            d["speech"] = (
                {
                    "sha256": sp.media_sha256,
                    "engine": sp.engine,
                    "voice": sp.voice,
                    "normalized_text": sp.normalized_text,
                }
                if sp
                else None
            )
        return d
