"""Vietnamese number words: cardinals, decimals, digit strings, ordinals, Roman numerals."""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_SCALES = ((10**9, "tỷ"), (10**6, "triệu"), (10**3, "nghìn"))
ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}


def _tens_units(n: int, *, after_hundreds: bool) -> list[str]:
    """Words for 0..99, with 'lẻ' for 1..9 when a hundreds word precedes."""
    tens, units = divmod(n, 10)
    if tens == 0:
        if units == 0:
            return []
        return (["lẻ"] if after_hundreds else []) + [DIGITS[units]]
    words = ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 1 and tens > 1:
        words.append("mốt")
    elif units == 4 and tens > 1:
        words.append("tư")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def _below_thousand(n: int, *, full: bool) -> list[str]:
    """Words for 0..999; `full` reads 'không trăm' when a larger group precedes."""
    hundreds, rest = divmod(n, 100)
    if hundreds or full:
        return [DIGITS[hundreds], "trăm", *_tens_units(rest, after_hundreds=True)]
    return _tens_units(rest, after_hundreds=False)


def cardinal(n: int) -> str:
    """Read a non-negative integer: 21 -> 'hai mươi mốt', 105 -> 'một trăm lẻ năm'."""
    if n < 0:
        return "âm " + cardinal(-n)
    if n == 0:
        return "không"
    return " ".join(_cardinal_words(n, full=False))


def _cardinal_words(n: int, *, full: bool) -> list[str]:
    words: list[str] = []
    for size, name in _SCALES:
        if n >= size:
            head, n = divmod(n, size)
            # Above a billion the head is itself read as a number ("một nghìn tỷ").
            words += _cardinal_words(head, full=full) if head >= 1000 else _below_thousand(head, full=full)
            words.append(name)
            full = True
            if n == 0:
                return words
    return words + _below_thousand(n, full=full)


def digits(s: str) -> str:
    """Read a digit string one digit at a time: '114' -> 'một một bốn'."""
    return " ".join(DIGITS[int(c)] for c in s if c.isdigit())


def fraction_part(s: str) -> str:
    """Read the part after 'phẩy': leading zeros one by one, short rests as a number."""
    stripped = s.lstrip("0")
    zeros = ["không"] * (len(s) - len(stripped))
    if not stripped:
        return " ".join(zeros)
    if len(stripped) > 3:
        return " ".join([*zeros, digits(stripped)])
    return " ".join([*zeros, cardinal(int(stripped))])


def decimal(integer: str, fraction: str | None) -> str:
    """Read '2', '5' as 'hai phẩy năm'; a missing fraction reads just the integer."""
    words = cardinal(int(integer))
    if fraction:
        words += " phẩy " + fraction_part(fraction)
    return words


def ordinal(n: int) -> str:
    """Ordinal after 'thứ': 1 -> 'nhất', 4 -> 'tư', others as cardinals."""
    if n == 1:
        return "nhất"
    if n == 4:
        return "tư"
    return cardinal(n)


def month(n: int) -> str:
    """Month names as said: 4 -> 'tư', others cardinal."""
    return "tư" if n == 4 else cardinal(n)


def roman(s: str) -> int | None:
    """Value of a Roman numeral in canonical form (I..MMMCMXCIX), else None."""
    if not s or any(c not in ROMAN for c in s):
        return None
    total = 0
    for i, c in enumerate(s):
        v = ROMAN[c]
        total += -v if i + 1 < len(s) and ROMAN[s[i + 1]] > v else v
    return total if 0 < total < 4000 and to_roman(total) == s else None


def to_roman(n: int) -> str:
    """Canonical Roman numeral for 1..3999."""
    parts = []
    for value, sym in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):
        count, n = divmod(n, value)
        parts.append(sym * count)
    return "".join(parts)
