"""The checks of an editor's input that need nothing but the input: every problem at once, each in the
editor's words and with the field it is about (the web form shows them all beside their fields;
BulletinService.validate raises the first, as the API always has)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.errors import Invalid
from hub.limits import TEXT_MAX, check_len
from protocol.messages import AFTER_INTERRUPT
from protocol.vocabulary import DEVICE_KINDS, PRIORITIES

if TYPE_CHECKING:
    from hub.services.bulletins import BulletinInput

FORMS = ("text", "audio", "image", "infographic", "video")
AUDIO_CAPTION_MAX = 500
TITLE_MAX = 300


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
