"""Vietnamese text normalisation: turn what editors write into what a listener should hear.

Rules run in a fixed order; each turns digits and symbols into words, so later rules never see
what an earlier one already read (dates before times before phones before plain numbers).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from tts import numbers as num
from tts.abbreviations import Abbreviations, builtin, is_vietnamese_syllable, spell
from tts.errors import EmptyText, UnspeakableText

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

# A number as written in Vietnam: dotted thousands with comma decimals, English-style commas with
# at least two groups, or a plain integer/decimal with either separator.
NUM = r"(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d{1,3}(?:,\d{3}){2,}(?:\.\d+)?|\d+(?:[.,]\d+)?)(?!\d)"
_B = r"(?<![\w.,])"  # a number starts at a word boundary, not inside 1.2.3 or abc1

UNITS = {
    "km/h": "ki lô mét trên giờ", "m/s": "mét trên giây", "km²": "ki lô mét vuông",
    "km2": "ki lô mét vuông", "m²": "mét vuông", "m2": "mét vuông", "m³": "mét khối", "m3": "mét khối",
    "mm": "mi li mét", "cm": "xăng ti mét", "km": "ki lô mét", "m": "mét", "kg": "ki lô gam",
    "mg": "mi li gam", "g": "gam", "ha": "héc ta", "°C": "độ xê", "ºC": "độ xê", "oC": "độ xê",
    "độ C": "độ xê", "°": "độ", "ml": "mi li lít", "l": "lít", "kWh": "ki lô oát giờ",
    "kW": "ki lô oát", "MW": "mê ga oát", "kV": "ki lô vôn", "V": "vôn", "k": "nghìn",
}
_UNIT_RE = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_ROMAN_AFTER = r"(?:quý|khóa|khoá|kỳ|thế kỷ|phần|chương|đợt|mục|lần thứ|đại hội|cấp độ|giai đoạn)"
_PHONE_CONTEXT = r"(?:gọi|số điện thoại|điện thoại|đường dây nóng|hotline|tổng đài|số máy|liên hệ)"
_SYMBOLS = {
    "&": " và ", "+": " cộng ", "=": " bằng ", "@": " a còng ", "~": " khoảng ", ">": " lớn hơn ",
    "<": " nhỏ hơn ", "/": " trên ", "%": " phần trăm ", "°": " độ ", "№": " số ",
}
_DROP = "\"“”‘’'`*_#^|[]{}«»•·"


def number_words(s: str) -> str:
    """Read one number as written: '1.500.000', '2,5', '2.5', '1,000,000', '05'."""
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", s):
        integer, _, frac = s.replace(".", "").partition(",")
    elif re.fullmatch(r"\d{1,3}(?:,\d{3}){2,}(?:\.\d+)?", s):
        integer, _, frac = s.replace(",", "").partition(".")
    else:
        integer, _, frac = s.replace(",", ".").partition(".")
    if len(integer) > 15 or (len(integer) >= 4 and integer.startswith("0")):
        return num.digits(integer) + (" phẩy " + num.fraction_part(frac) if frac else "")
    return num.decimal(integer, frac or None)


def _day(d: int) -> str:
    # "mùng" before days 1-10 is how dates are said aloud ("ngày mùng năm tháng chín").
    return ("mùng " if d <= 10 else "") + num.cardinal(d)


def _valid_date(d: int, m: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12


def _date_prefix(m: re.Match[str]) -> str:
    """Keep a written 'ngày'/'mùng' and add 'ngày' when missing."""
    lead = m.group("lead") or ""
    return lead if lead.strip() else "ngày "


def _r_day_range(m: re.Match[str]) -> str:
    d1, d2, mo = int(m["d1"]), int(m["d2"]), int(m["m"])
    if not (_valid_date(d1, mo) and _valid_date(d2, mo) and d1 < d2):
        return m.group(0)
    joiner = " và " if d2 == d1 + 1 else " đến "
    out = f"{_date_prefix(m)}{_day(d1)}{joiner}{_day(d2)} tháng {num.month(mo)}"
    if m["y"]:
        out += f" năm {num.cardinal(int(m['y']))}"
    return out


def _r_full_date(m: re.Match[str]) -> str:
    d, mo, y = int(m["d"]), int(m["m"]), int(m["y"])
    if not _valid_date(d, mo):
        return m.group(0)
    return f"{_date_prefix(m)}{_day(d)} tháng {num.month(mo)} năm {num.cardinal(y)}"


def _r_day_month(m: re.Match[str]) -> str:
    d, mo = int(m["d"]), int(m["m"])
    if not _valid_date(d, mo):
        return m.group(0)
    return f"{_date_prefix(m)}{_day(d)} tháng {num.month(mo)}"


def _r_month_year(m: re.Match[str]) -> str:
    mo, y = int(m["m"]), int(m["y"])
    if not 1 <= mo <= 12:
        return m.group(0)
    return f"{m['lead'] or 'tháng '}{num.month(mo)} năm {num.cardinal(y)}"


_TIME = (
    r"(?:(?P<{p}h>\d{{1,2}})\s?(?:h|giờ)\s?(?P<{p}m>\d{{2}})?(?:\s?(?:phút|ph|p|'))?"
    r"|(?P<{p}h2>\d{{1,2}})g(?P<{p}m2>\d{{2}})"
    r"|(?P<{p}h3>\d{{1,2}}):(?P<{p}m3>\d{{2}})(?::(?P<{p}s3>\d{{2}}))?)"
)


def _time_words(m: re.Match[str], p: str) -> str | None:
    for suffix in ("", "2", "3"):
        hour = m.group(f"{p}h{suffix}")
        if hour is not None:
            minute = m.group(f"{p}m{suffix}")
            second = m.group(f"{p}s3") if suffix == "3" else None
            break
    else:  # pragma: no cover - the pattern always sets one alternative
        return None
    h, mi, s = int(hour), int(minute or 0), int(second or 0)
    if h > 24 or mi > 59 or s > 59:
        return None
    out = f"{num.cardinal(h)} giờ"
    if mi:
        out += f" {num.cardinal(mi)} phút"
    if s:
        out += f" {num.cardinal(s)} giây"
    return out


def _r_time(m: re.Match[str]) -> str:
    first = _time_words(m, "a")
    if first is None:
        return m.group(0)
    if m.group("dash") is None:
        return first
    second = _time_words(m, "b")
    return m.group(0) if second is None else f"{first} đến {second}"


def _phone_words(raw: str) -> str:
    """Digits one by one, with a pause (comma) between the groups the writer used."""
    plus = raw.strip().startswith("+")
    groups = []
    for g in (g.lstrip("+") for g in re.split(r"[\s.\-()]+", raw)):
        if len(g) >= 7:  # an unbroken run: 0912345678 is heard as 0912, 345, 678
            head = len(g) - 6
            groups += [g[:head], g[head:head + 3], g[head + 3:]]
        elif g:
            groups.append(g)
    words = ", ".join(num.digits(g) for g in groups)
    return ("cộng " if plus else "") + words


def _digit_count(s: str) -> int:
    return sum(c.isdigit() for c in s)


def _r_phone_context(m: re.Match[str]) -> str:
    if _digit_count(m["n"]) < 3:
        return m.group(0)
    return f"{m['ctx']}{m['sep']}{_phone_words(m['n'])}"


def _r_phone(m: re.Match[str]) -> str:
    return _phone_words(m.group(0)) if 9 <= _digit_count(m.group(0)) <= 12 else m.group(0)


def _r_roman(m: re.Match[str]) -> str:
    value = num.roman(m["r"])
    return m.group(0) if value is None else f"{m['k']} {num.cardinal(value)}"


def _r_acronym(m: re.Match[str]) -> str:
    token = m.group(0)
    if is_vietnamese_syllable(token):
        return token
    return spell(token)


_UPPER = "A-ZĂÂĐÊÔƠƯÀÁẢÃẠẰẮẲẴẶẦẤẨẪẬÈÉẺẼẸỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌỒỐỔỖỘỜỚỞỠỢÙÚỦŨỤỪỨỬỮỰỲÝỶỸỴ"
_LEAD = r"(?P<lead>(?:[nN]gày|[mM]ùng|[mM]ồng)\s+)?"

# Run before the abbreviation table, while codes like QĐ-UBND are still visible.
PRE_RULES: list[Rule] = [
    # Document numbers: 49/2024/NĐ-CP -> "bốn mươi chín, năm hai nghìn ..., NĐ-CP" (codes read later).
    (re.compile(r"(?<![\w/])(\d+)/(\d{4})/(?=[A-ZĐ])"),
     lambda m: f"{num.cardinal(int(m[1]))}, năm {num.cardinal(int(m[2]))}, "),
    (re.compile(r"(?<![\w/])(\d+)/(?=[A-ZĐ]{2})"), lambda m: f"{num.cardinal(int(m[1]))} "),
]

RULES: list[Rule] = [
    # Dates.
    (re.compile(_LEAD + r"(?<![\w.,/])(?P<d1>\d{1,2})\s*[-–]\s*(?P<d2>\d{1,2})\s*/\s*(?P<m>\d{1,2})"
                r"(?:\s*/\s*(?P<y>\d{4}))?(?![\d/])"), _r_day_range),
    (re.compile(_LEAD + r"(?<![\w.,/])(?P<d>\d{1,2})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<y>\d{4})(?!\d)"),
     _r_full_date),
    (re.compile(_LEAD + r"(?<![\w.,/])(?P<d>\d{1,2})/(?P<m>\d{1,2})(?![\d/])"), _r_day_month),
    (re.compile(r"(?P<lead>[tT]háng\s+)?(?<![\w.,/])(?P<m>\d{1,2})/(?P<y>\d{4})(?![\d/])"), _r_month_year),
    (re.compile(r"([tT]háng)\s+(\d{1,2})(?!\d|[.,]\d)"), lambda m: f"{m[1]} {num.month(int(m[2]))}"),
    # Times and time ranges.
    (re.compile(r"(?<![\w.,:])" + _TIME.format(p="a") + r"(?:(?P<dash>\s*[-–]\s*)"
                + _TIME.format(p="b") + r")?(?![\w:])"), _r_time),
    # Phone numbers, read digit by digit.
    (re.compile(r"(?i)(?P<ctx>" + _PHONE_CONTEXT + r")(?P<sep>\s*:?\s*(?:số\s+)?)"
                r"(?P<n>\+?\(?\d[\d\s.()-]{0,18}\d)(?![\d])"), _r_phone_context),
    (re.compile(r"(?<![\w.,])(?:\+84\s?|\(?0)\d[\d\s.()-]{6,16}\d(?![\d])"), _r_phone),
    # Ranges and negative numbers.
    (re.compile(r"(?<=\d)\s*[-–—]\s*(?=\d)"), lambda m: " đến "),
    (re.compile(r"(?<![\w\d])[-−](?=\d)"), lambda m: "âm "),
    # Quantities.
    (re.compile(_B + r"(" + NUM + r")\s*%"), lambda m: f"{number_words(m[1])} phần trăm"),
    (re.compile(_B + r"(" + NUM + r")\s*(?:đồng|đ)(?![\w])"), lambda m: f"{number_words(m[1])} đồng"),
    (re.compile(r"\$\s*(" + NUM + r")"), lambda m: f"{number_words(m[1])} đô la"),
    (re.compile(_B + r"(" + NUM + r")\s*(" + _UNIT_RE + r")(?![\w])"),
     lambda m: f"{number_words(m[1])} {UNITS[m[2]]}"),
    (re.compile(r"/\s*(" + _UNIT_RE + r")(?![\w])"), lambda m: f" trên {UNITS[m[1]]}"),
    (re.compile(r"(?i)(thứ)\s+(\d{1,3})(?!\d|[.,]\d)"), lambda m: f"{m[1]} {num.ordinal(int(m[2]))}"),
    (re.compile(r"(?i)(?P<k>" + _ROMAN_AFTER + r")\s+(?P<r>[IVXLCDM]+)(?![\w])"), _r_roman),
    (re.compile(_B + "(" + NUM + ")"), lambda m: number_words(m[1])),
    (re.compile(r"\d+"), lambda m: number_words(m.group(0))),  # leftovers like the 3 of 1.2.3
    # Acronyms nobody listed: spell them (after the table had its chance).
    (re.compile(rf"(?<![\w])[{_UPPER}][{_UPPER}0-9]+(?![\w])"), _r_acronym),
]


def _unspeakable(text: str) -> list[str]:
    """Letters of scripts a Vietnamese voice cannot read (CJK, Cyrillic, ...)."""
    bad = []
    for ch in text:
        if unicodedata.category(ch).startswith("L") and not unicodedata.name(ch, "").startswith("LATIN"):
            bad.append(ch)
    return bad


def _lines(text: str) -> str:
    """Join lines into sentences: drop bullets, end a line without punctuation with a pause."""
    out = []
    for raw in text.splitlines():
        line = re.sub(r"^\s*(?:[-+*•●▪–]|\d+[.)](?=\s))\s+", "", raw).strip()
        if not line:
            continue
        if line[-1] not in ".!?;:,…":
            line += "."
        out.append(line)
    return " ".join(out)


def normalize(text: str, *, abbreviations: Abbreviations | None = None) -> str:
    """Return the words a Vietnamese listener should hear for `text`."""
    if not text or not text.strip():
        raise EmptyText()
    text = unicodedata.normalize("NFC", text).replace("\u00d0", "Đ").replace("\u00a0", " ")
    bad = _unspeakable(text)
    if bad:
        shown = ", ".join(dict.fromkeys(bad[:10]))
        raise UnspeakableText(
            f"có {len(bad)} ký tự không phải chữ Việt/Latin ({shown}). Hãy xoá hoặc viết lại bằng tiếng Việt."
        )
    text = _lines(text)
    for pattern, repl in PRE_RULES:
        text = pattern.sub(repl, text)
    text = (abbreviations or builtin()).expand(text)
    for pattern, repl in RULES:
        text = pattern.sub(repl, text)
    text = re.sub(r"\s+[-–—]\s+", ", ", text)  # "kinh tế - xã hội": a pause
    text = re.sub(r"(?<=\w)[-–](?=\w)", " ", text)
    for symbol, words in _SYMBOLS.items():
        text = text.replace(symbol, words)
    text = re.sub(r"[()]", ", ", text)
    text = "".join(
        " " if ch in _DROP or (unicodedata.category(ch)[0] == "S") else ch for ch in text
    )
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,.;:!?…])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"^[\s,.;:]+", "", text).strip()
    if not any(ch.isalpha() for ch in text):
        raise UnspeakableText("văn bản không có chữ nào để đọc. Hãy nhập nội dung bằng chữ.")
    return text
