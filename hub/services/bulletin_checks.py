"""Who may do what to a bulletin, and whether an editor's input holds: every check the workflow makes
(hub/services/bulletins.py) before it changes anything, and the `actions` a bulletin offers its reader
(hub/services/bulletin_views.py), which are the same checks. They raise Invalid, Forbidden or Conflict."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.limits import TEXT_MAX, check_len
from hub.models import Bulletin, Media
from hub.roles import Actor, is_central
from hub.services.areas import AreaService
from hub.services.base import Context, deny, require
from hub.services.lifecycle import STATUS_VI
from hub.services.review import ReviewPolicy
from hub.services.windows import WindowService
from playlists.windows import windows_per_day
from protocol.messages import AFTER_INTERRUPT
from protocol.vocabulary import DEVICE_KINDS, LIVE_STATUSES, ORIGINS, PRIORITIES, SUBJECTS

FORMS = ("text", "audio", "image", "infographic", "video")
# An audio bulletin's words are in its audio: its text is a caption (what a list or an LED board shows).
AUDIO_CAPTION_MAX = 500
TITLE_MAX = 300
EDITABLE = ("draft", "rejected", "submitted", "in_review")
LEVEL_ORIGIN = {"province": "province", "district": "district", "commune": "commune"}
KIND_VI = {"radio": "đài truyền thanh", "led": "bảng tin điện tử"}
# What a person may do to a bulletin; `actions` in the API's bulletin and the buttons of its page.
ACTIONS = ("edit", "submit", "approve", "signoff", "reject", "flag", "unflag", "recall", "cancel")


# a bulletin's subject (lĩnh vực) as the form and the statistics say it, in protocol.vocabulary.SUBJECTS order
SUBJECT_VI = {
    "politics": "Thời sự - chính trị",
    "law": "Pháp luật",
    "disaster": "Phòng, chống thiên tai",
    "health": "Y tế",
    "agriculture": "Nông nghiệp",
    "education": "Giáo dục",
    "culture": "Văn hoá - xã hội",
    "other": "Khác",
}


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
    subject: str | None = None  # None: "other" for a new bulletin, unchanged for an edit
    voice: str | None = None
    # bản tiếng dân tộc: (ISO 639-3 code, sha256 of an uploaded audio), played after the Vietnamese
    language_versions: tuple[tuple[str, str], ...] = ()


def load(sess: Session, bulletin_id: str) -> Bulletin:
    b = sess.get(Bulletin, bulletin_id)
    if b is None:
        raise NotFound(f"Không có bản tin '{bulletin_id}'.", field="id")
    return b


def input_problems(data: BulletinInput) -> list[Invalid]:  # noqa: PLR0912 - one check per field, in order
    """Every problem of `data` on its own (at most one per field), in the order the API reports them."""
    out: list[Invalid] = []

    def bad(message: str, field: str) -> None:
        if not any(p.field == field for p in out):
            out.append(Invalid(message, field=field))

    title = (data.title or "").strip()
    if not title:
        bad("Hãy nhập tiêu đề bản tin.", "title")
    elif len(title) > TITLE_MAX:
        bad(f"Tiêu đề dài {len(title)} ký tự; hãy rút ngắn còn tối đa {TITLE_MAX} ký tự.", "title")
    if data.priority not in PRIORITIES:
        bad("Hãy chọn mức ưu tiên: Khẩn cấp, Ưu tiên hoặc Thông thường.", "priority")
    if data.form not in FORMS:
        bad("Hãy chọn hình thức: ký tự, âm thanh, hình ảnh, đồ họa hoặc video.", "form")
    if data.subject is not None and data.subject not in SUBJECTS:
        bad(f"Hãy chọn lĩnh vực trong danh sách: {', '.join(SUBJECT_VI.values())}.", "subject")
    if not data.targets:
        bad("Hãy chọn ít nhất một địa bàn nhận.", "targets")
    if not data.kinds or any(k not in DEVICE_KINDS for k in data.kinds):
        bad("Hãy chọn nơi phát: Đài truyền thanh, Bảng tin điện tử, hoặc cả hai.", "kinds")
    elif data.form in ("image", "infographic", "video") and "radio" in data.kinds:
        bad("Hình ảnh, đồ họa và video chỉ hiện trên bảng tin điện tử: bỏ chọn Đài truyền thanh.", "kinds")
    text = data.text or ""
    try:
        check_len(text, TEXT_MAX, "text", "Nội dung bản tin")
    except Invalid as exc:
        out.append(exc)
    if len(text) > TEXT_MAX:
        pass  # said above
    elif data.form == "audio" and len(text.strip()) > AUDIO_CAPTION_MAX:
        bad(
            f"Bản tin âm thanh chỉ kèm một đoạn tóm tắt ngắn, tối đa {AUDIO_CAPTION_MAX} ký tự (hiện "
            f"{len(text.strip())}): nội dung đã nằm trong tệp âm thanh. Hãy rút ngắn phần chữ, hoặc chọn "
            "hình thức bản tin ký tự để hệ thống đọc văn bản.",
            "text",
        )
    elif data.form == "text" and not text.strip():
        bad("Hãy nhập nội dung bản tin (hệ thống sẽ đọc nội dung này trên loa).", "text")
    if data.form in FORMS and data.form != "text" and not data.media:
        bad("Hãy chọn tệp âm thanh, hình ảnh hoặc video để tải lên.", "media")
    if data.plays_per_day < 1 or data.plays_per_day > 48:
        bad("Số lần phát mỗi ngày từ 1 đến 48.", "plays_per_day")
    if data.valid_from and data.valid_until and data.valid_until <= data.valid_from:
        bad("Thời điểm kết thúc phải sau thời điểm bắt đầu.", "valid_until")
    if data.priority == "emergency" and data.sensitive:
        bad(
            "Bản tin khẩn cấp được phát ngay (Điều 8.1), không chờ kiểm duyệt: bỏ đánh dấu nhạy cảm, "
            "hoặc gửi dưới dạng bản tin ưu tiên để được kiểm duyệt trước khi phát.",
            "sensitive",
        )
    if data.after_interrupt not in AFTER_INTERRUPT:
        bad(f"after_interrupt dùng một trong {', '.join(AFTER_INTERRUPT)}.", "after_interrupt")
    rep = data.repeat or {}
    if (
        any(k not in ("count", "interval_s", "then_every_s") for k in rep)
        or any(not isinstance(v, int) or v < 0 for v in rep.values())
        or rep.get("count", 1) < 1
    ):
        bad("Số lần lặp từ 1 trở lên; khoảng cách và nhắc lại tính bằng giây, từ 0 trở lên.", "repeat")
    return out


class BulletinChecks:
    """The checks, each raising why not; `actions()` runs them all to say what a reader may do now."""

    def __init__(
        self, ctx: Context, areas: AreaService, windows: WindowService, review: ReviewPolicy
    ) -> None:
        self.ctx, self.areas, self.windows, self.review = ctx, areas, windows, review

    def validate(self, actor: Actor, data: BulletinInput) -> str:
        """Semantic and permission checks of an editor's input (Invalid/Forbidden); returns the origin."""
        problems = input_problems(data)  # every problem at once for the web form; the API says the first
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

    def check_plays_in(  # noqa: PLR0917 - the bulletin's fields the check reads
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
            self.check_plays_in(
                sess, data.priority, data.kinds, data.plays_per_day, data.targets, data.valid_from
            )

    def check_not_ended(self, valid_until: datetime | None) -> None:
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

    def check_media(self, sess: Session, data: BulletinInput) -> Media | None:
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

    def require_targets(self, actor: Actor, action: str, b: Bulletin, message: str | None = None) -> None:
        if not actor.may(action) or not all(actor.covers(t) for t in b.target_paths):
            raise deny(
                action,
                b.id,
                message
                or f"Không có quyền {action} với bản tin này "
                f"(vai trò {actor.role}, địa bàn {actor.area_path}).",
            )

    def check_submit(self, actor: Actor, b: Bulletin) -> None:
        self.require_targets(actor, "bulletin.create", b)
        if b.status not in ("draft", "rejected"):
            raise Conflict(
                f"Bản tin đang ở trạng thái '{STATUS_VI[b.status]}', không gửi duyệt được.",
                field="status",
            )

    @staticmethod
    def check_keeps_mark(actor: Actor, b: Bulletin, data: BulletinInput) -> None:
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

    @staticmethod
    def editable(b: Bulletin) -> None:
        if b.status not in EDITABLE:
            raise Conflict(
                f"Bản tin đang ở trạng thái '{STATUS_VI[b.status]}' nên không sửa được nữa (chỉ sửa "
                "trước khi duyệt). Nếu nội dung sai, hãy thu hồi bản tin và tạo bản tin mới.",
                field="status",
            )

    def check_edit(self, actor: Actor, b: Bulletin) -> None:
        self.require_targets(actor, "bulletin.create", b)
        self.editable(b)

    def check_approve(self, sess: Session, actor: Actor, b: Bulletin, *, via_review: bool = False) -> None:
        """Why the actor may not approve (or, in review, sign off) this bulletin now: 409/403."""
        if b.status in ("draft", "rejected"):
            raise Conflict("Bản tin chưa được gửi duyệt (submit).", field="status")
        if b.status not in ("submitted", "in_review"):
            raise Conflict(
                f"Bản tin đang ở trạng thái '{STATUS_VI[b.status]}', không duyệt được nữa.",
                field="status",
            )
        if b.priority == "emergency":
            self.require_targets(
                actor,
                "bulletin.emergency",
                b,
                "Bản tin khẩn cấp chỉ biên tập viên hoặc quản trị của địa bàn được phát.",
            )
        if b.status == "in_review":
            self.require_targets(
                actor,
                "bulletin.review",
                b,
                "Bản tin nhạy cảm phải được người kiểm duyệt duyệt trước khi phát.",
            )
            self.review.check_signoff(sess, actor, b)
        elif b.priority != "emergency":
            self.require_targets(actor, "bulletin.review" if via_review else "bulletin.approve", b)
            self.review.check_self_approval(sess, actor, b)

    def check_reject(self, actor: Actor, b: Bulletin) -> None:
        action = "bulletin.review" if b.status == "in_review" else "bulletin.approve"
        if not (actor.may("bulletin.review") or actor.may("bulletin.approve")):
            raise deny(action, b.id, "Vai trò này không được từ chối bản tin.")
        if b.status == "in_review":  # only a reviewer turns back a sensitive bulletin
            self.require_targets(actor, action, b, "Bản tin nhạy cảm chỉ người kiểm duyệt được từ chối.")
        else:
            self.require_targets(actor, action if actor.may(action) else "bulletin.review", b)
        if b.status not in ("submitted", "in_review"):
            raise Conflict(
                f"Chỉ từ chối được bản tin đang chờ duyệt (hiện: {STATUS_VI[b.status]}).", field="status"
            )

    def check_flag(self, actor: Actor, b: Bulletin) -> None:
        if not (actor.may("bulletin.create") or actor.may("bulletin.review")):
            raise deny("bulletin.flag", b.id, "Vai trò này không đánh dấu được bản tin nhạy cảm.")
        action = "bulletin.review" if actor.may("bulletin.review") else "bulletin.create"
        self.require_targets(actor, action, b)
        if b.sensitive:
            raise Conflict("Bản tin đã được đánh dấu nhạy cảm.", field="sensitive")
        if b.status not in ("draft", "rejected", "submitted") or b.priority == "emergency":
            raise Conflict(
                f"Chỉ đánh dấu nhạy cảm được bản tin chưa duyệt (hiện: {STATUS_VI[b.status]}); bản tin đã "
                "duyệt mà có vấn đề thì thu hồi.",
                field="status",
            )

    def check_unflag(self, sess: Session, actor: Actor, b: Bulletin) -> None:
        self.require_targets(
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

    def check_recall(self, actor: Actor, b: Bulletin) -> None:
        self.require_targets(
            actor, "bulletin.emergency" if b.priority == "emergency" else "bulletin.recall", b
        )
        if b.status not in LIVE_STATUSES:
            raise Conflict(
                f"Chỉ thu hồi được bản tin đã duyệt (hiện: {STATUS_VI[b.status]}).", field="status"
            )

    def check_cancel(self, actor: Actor, b: Bulletin) -> None:
        if b.priority != "emergency":
            raise Invalid("Chỉ hủy được bản tin khẩn cấp; bản tin khác hãy thu hồi.", field="id")
        self.require_targets(actor, "bulletin.emergency", b)
        if b.status not in LIVE_STATUSES:
            raise Conflict(
                f"Bản tin khẩn cấp không còn hiệu lực (hiện: {STATUS_VI[b.status]}).", field="status"
            )

    def actions(self, sess: Session, actor: Actor, b: Bulletin) -> list[str]:
        """The actions the actor may take on the bulletin now: the same checks the actions make."""
        checks: dict[str, Callable[[], None]] = {
            "edit": lambda: self.check_edit(actor, b),
            "submit": lambda: self.check_submit(actor, b),
            "approve": lambda: self.check_approve(sess, actor, b) if b.status == "submitted" else self._no(),
            "signoff": lambda: self.check_approve(sess, actor, b) if b.status == "in_review" else self._no(),
            "reject": lambda: self.check_reject(actor, b),
            "flag": lambda: self.check_flag(actor, b),
            "unflag": lambda: self.check_unflag(sess, actor, b),
            "recall": lambda: self.check_recall(actor, b) if b.priority != "emergency" else self._no(),
            "cancel": lambda: self.check_cancel(actor, b),
        }
        out = []
        for name in ACTIONS:
            try:
                checks[name]()
            except (Forbidden, Conflict, Invalid):
                continue
            out.append(name)
        return out

    @staticmethod
    def _no() -> None:
        raise Conflict("not applicable")
