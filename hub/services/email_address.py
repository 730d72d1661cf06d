"""An e-mail address as a person types it on their page, and text made safe for a mail header."""

from __future__ import annotations

import re

from hub.errors import Invalid

ADDRESS_MAX = 254
# a plain address: what a province's staff have (no quoted local parts, no comments, no IP literals)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
ADDRESS_RE = re.compile(rf"{_ATOM}(\.{_ATOM})*@{_LABEL}(\.{_LABEL})+")


def check_address(raw: str) -> str:
    """The address as stored ("" for none), or Invalid (422) saying how to write it."""
    a = raw.strip()
    if not a:
        return ""
    if len(a) > ADDRESS_MAX or not ADDRESS_RE.fullmatch(a):
        shown = one_line(a)[:60]
        raise Invalid(
            f"Địa chỉ thư điện tử “{shown}” không hợp lệ: hãy viết dạng ten@donvi.gov.vn (chữ không dấu, "
            f"không khoảng trắng, tối đa {ADDRESS_MAX} ký tự).",
            field="email",
        )
    return a


def one_line(text: str, limit: int = 200) -> str:
    """Text safe in a mail header: control characters (CR, LF...) become spaces; at most `limit` chars."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())[:limit]
