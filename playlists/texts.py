"""Why a bulletin is not on air, in plain Vietnamese for a commune chair (docs/ARCHITECTURE.md's words)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

KIND_NAMES = {"radio": "đài truyền thanh", "led": "bảng tin điện tử"}


def _when(moment: datetime) -> str:
    clock = f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"
    return f"{clock} ngày {moment:%d/%m/%Y}"


def _windows(labels: Iterable[str]) -> str:
    return ", ".join(labels)


def not_targeted(targets: Iterable[str]) -> str:
    return f"Bản tin không gửi tới địa bàn này (gửi tới: {', '.join(targets)})."


def wrong_kind(kind: str, kinds: Iterable[str]) -> str:
    others = ", ".join(KIND_NAMES.get(k, k) for k in sorted(kinds))
    return f"Bản tin không dành cho {KIND_NAMES.get(kind, kind)} (chỉ dành cho: {others})."


def expired(valid_until: datetime, labels: Iterable[str], emergency: bool) -> str:
    if emergency:
        return f"Bản tin khẩn cấp đã hết hiệu lực lúc {_when(valid_until)}."
    return (f"Bản tin hết hiệu lực lúc {_when(valid_until)}, không kịp phát trọn trong khung giờ phát nào "
            f"hôm nay ({_windows(labels)}).")


def not_yet_valid(valid_from: datetime, labels: Iterable[str], emergency: bool) -> str:
    if emergency:
        return f"Bản tin khẩn cấp chỉ có hiệu lực từ {_when(valid_from)}."
    return (f"Bản tin chỉ có hiệu lực từ {_when(valid_from)}, quá muộn để phát trọn trong khung giờ phát nào "
            f"hôm nay ({_windows(labels)}).")


NOT_SELECTED = "Chưa được Chủ tịch UBND xã chọn vào chương trình."


def window_full(labels: Iterable[str]) -> str:
    return f"Không còn chỗ trong các khung giờ phát hôm nay ({_windows(labels)})."


_NAMED = 5  # a reason names at most this many bulletins, then counts the others


def window_full_by(labels: Iterable[str], names: Sequence[str]) -> str:
    shown = ", ".join(names[:_NAMED])
    if len(names) > _NAMED:
        shown += f" và {len(names) - _NAMED} bản tin khác"
    return (f"Không còn chỗ trong các khung giờ phát hôm nay ({_windows(labels)}): thời gian bản tin này có "
            f"thể phát đã dành cho các bản tin xếp trên (theo cấp và thời điểm duyệt): {shown}.")


def too_long(duration_s: float, labels: Iterable[str]) -> str:
    minutes = duration_s / 60
    length = f"{minutes:.0f} phút" if minutes >= 1 else f"{duration_s:.0f} giây"
    return (f"Bản tin dài {length}, dài hơn mọi khung giờ phát hôm nay ({_windows(labels)}) "
            "nên không thể phát trọn.")


def _times(planned: int, wanted: int) -> str:
    return f"Hôm nay phát {planned}/{wanted} lần"


def one_per_window(planned: int, wanted: int, labels: Sequence[str]) -> str:
    return (f"{_times(planned, wanted)}: mỗi khung giờ phát một lần, hôm nay có {len(labels)} khung giờ "
            f"({_windows(labels)}).")


def short_validity(planned: int, wanted: int, labels: Sequence[str]) -> str:
    return (f"{_times(planned, wanted)}: thời hạn hiệu lực của bản tin chỉ đủ để phát trọn trong "
            f"{len(labels)} khung giờ ({_windows(labels)}).")


def short_of_room(planned: int, wanted: int, labels: Sequence[str]) -> str:
    return f"{_times(planned, wanted)}: không còn chỗ trong các khung giờ phát hôm nay ({_windows(labels)})."


def relay_name(title: str | None, rid: str, start: str, end: str) -> str:
    """How reasons name a relay: «title» (or its id) with its fixed time."""
    return f"tiếp sóng «{title or rid}» {start}–{end}"


def window_full_fixed(labels: Iterable[str], names: Sequence[str], fixed: Sequence[str]) -> str:
    """No room, and fixed-time relays hold part of the windows this bulletin could play in."""
    shown = ", ".join(fixed)
    text = (f"Không còn chỗ trong các khung giờ phát hôm nay ({_windows(labels)}): giờ cố định dành cho "
            f"{shown} chia khung giờ, phần còn lại không đủ để phát trọn bản tin này")
    if names:
        text += f" sau các bản tin xếp trên: {', '.join(names[:_NAMED])}"
        if len(names) > _NAMED:
            text += f" và {len(names) - _NAMED} bản tin khác"
    return text + "."


def relay_outside(start: str, end: str, labels: Sequence[str]) -> str:
    return (f"Giờ tiếp sóng {start}–{end} không nằm trọn trong khung giờ phát nào của xã hôm nay "
            f"({_windows(labels) or 'không có khung giờ'}).")


def relay_overlap(start: str, end: str, other: str) -> str:
    return (f"Giờ tiếp sóng {start}–{end} trùng hoặc sát giờ với {other} "
            "(được giữ vì thuộc cấp trên hoặc đặt trước).")


def relay_not_targeted(targets: Iterable[str]) -> str:
    return f"Tiếp sóng không dành cho địa bàn này (dành cho: {', '.join(targets)})."
