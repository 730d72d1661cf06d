"""What a person reads instead of the code's words: audit actions and their details, area names with the
unit's type (the name carries it: "Phường Nghĩa Đức", "Đặc khu Côn Đảo")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.search import matches, search_words

AUDIT_ACTION_VI = {
    "auth.login": "Đăng nhập",
    "auth.logout": "Đăng xuất",
    "bulletin.create": "Tạo bản tin",
    "bulletin.edit": "Sửa bản tin",
    "bulletin.submit": "Gửi duyệt bản tin",
    "bulletin.approve": "Duyệt phát bản tin",
    "bulletin.reject": "Trả lại bản tin",
    "bulletin.review": "Kiểm duyệt bản tin",
    "bulletin.signoff": "Đồng ý phát (kiểm duyệt)",
    "bulletin.flag": "Đánh dấu nhạy cảm",
    "bulletin.unflag": "Bỏ dấu nhạy cảm",
    "bulletin.recall": "Thu hồi bản tin",
    "bulletin.emergency": "Phát khẩn cấp",
    "alert.cancel": "Hủy phát khẩn cấp",
    "programme.arrange": "Sắp xếp chương trình phát",
    "programme.order": "Đổi thứ tự chương trình phát",
    "programme.choose": "Chọn bản tin thông thường",
    "programme.standing": "Đặt quy tắc chọn bản tin của xã",
    "programme.midnight": "Cập nhật chương trình ngày mới",
    "programme.windows": "Sửa khung giờ phát",
    "programme.publish": "Gửi chương trình phát",
    "windows.set": "Đặt khung giờ phát",
    "windows.delete": "Xóa khung giờ phát",
    "windows.occasion": "Đặt khung giờ dịp đặc biệt",
    "windows.occasion_delete": "Xóa khung giờ dịp đặc biệt",
    "device.add": "Thêm thiết bị",
    "device.manage": "Quản lý thiết bị",
    "device.command": "Gửi lệnh tới thiết bị",
    "device.rejected": "Thiết bị từ chối tin",
    "media.upload": "Tải tệp lên",
    "user.create": "Tạo tài khoản",
    "user.disable": "Khóa tài khoản",
    "user.enable": "Mở lại tài khoản",
    "user.reset_password": "Đặt lại mật khẩu",
    "user.review_group": "Đổi nhóm kiểm duyệt",
    "user.manage": "Quản lý tài khoản",
    "areas.import": "Nhập danh mục địa bàn",
    "area.manage": "Quản lý địa bàn",
    "audit.read": "Xem nhật ký hệ thống",
    "read": "Xem",
}
DETAIL_VI = {
    "role": "vai trò",
    "area": "địa bàn",
    "targets": "địa bàn nhận",
    "kind": "loại",
    "kinds": "loại thiết bị",
    "command": "lệnh",
    "args": "tham số",
    "count": "số lượng",
    "reason": "lý do",
    "message": "lý do",
    "version": "phiên bản",
    "status": "trạng thái",
    "title": "tiêu đề",
    "priority": "mức ưu tiên",
    "exercise": "diễn tập",
    "finished": "đã kết thúc",
    "communes": "số xã",
    "bytes": "dung lượng (byte)",
}


def action_vi(code: str) -> str:
    return AUDIT_ACTION_VI.get(code, code)


def actions_matching(q: str) -> list[str]:
    """The action codes whose Vietnamese words (or code) contain every word of `q`."""
    words = search_words(q)
    return [code for code, vi in AUDIT_ACTION_VI.items() if words and matches(words, vi, code)] if q else []


def value_vi(value: Any, names: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """One detail's value: nothing for None, yes/no, area paths as their names, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, list | tuple):
        return ", ".join(value_vi(v, names, labels) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{DETAIL_VI.get(k, k)} {value_vi(v, names, labels)}" for k, v in value.items())
    text = str(value)
    return names.get(text) or labels.get(text) or text


def detail_vi(detail: Mapping[str, Any], names: Mapping[str, str], labels: Mapping[str, str]) -> list[str]:
    """An audit entry's detail as short phrases ("địa bàn nhận: Tỉnh Đắk Nông")."""
    return [f"{DETAIL_VI.get(k, k)}: {value_vi(v, names, labels)}" for k, v in detail.items()]
