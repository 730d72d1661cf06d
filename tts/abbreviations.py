"""Abbreviation table (data file, extendable by operators) and spelling of unknown acronyms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from tts.errors import BadAbbreviationFile
from tts.numbers import DIGITS

LETTER_NAMES = {
    "A": "a", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "e", "Ê": "ê",
    "F": "ép", "G": "giê", "H": "hát", "I": "i", "J": "gi", "K": "ca", "L": "e lờ", "M": "em mờ",
    "N": "en nờ", "O": "o", "Ô": "ô", "Ơ": "ơ", "P": "pê", "Q": "quy", "R": "e rờ", "S": "ét sì",
    "T": "tê", "U": "u", "Ư": "ư", "V": "vê", "W": "vê kép", "X": "ích xì", "Y": "i dài", "Z": "dét",
}

_VOWELS = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵ"
# A Vietnamese syllable: optional initial, 1-3 vowels, optional final. All-caps words that fit this
# ("THÔNG", "BÁO") are ordinary words in a shouted title, not acronyms.
_SYLLABLE = re.compile(
    rf"(?:ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdđghklmnprstvx])?[{_VOWELS}]{{1,3}}(?:ch|nh|ng|[cmnpt])?"
)


def is_vietnamese_syllable(word: str) -> bool:
    """True when `word` (any case) is shaped like one Vietnamese syllable."""
    return _SYLLABLE.fullmatch(word.lower()) is not None


def spell(token: str) -> str:
    """Spell an acronym with Vietnamese letter names: 'WHO' -> 'vê kép hát o'."""
    out = []
    for ch in token:
        if ch.isdigit():
            out.append(DIGITS[int(ch)])
        elif ch.upper() in LETTER_NAMES:
            out.append(LETTER_NAMES[ch.upper()])
    return " ".join(out)


@dataclass(frozen=True)
class Abbreviations:
    """Case-sensitive whole-word table; later sources override earlier ones."""

    table: dict[str, str] = field(default_factory=dict)
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = sorted(self.table, key=len, reverse=True)
        if keys:
            alternatives = "|".join(
                re.escape(k) + ("" if k.endswith(".") else r"(?![\w])") for k in keys
            )
            pattern = re.compile(rf"(?<![\w.])(?:{alternatives})")
        else:
            pattern = re.compile(r"(?!x)x")
        object.__setattr__(self, "_pattern", pattern)

    def expand(self, text: str) -> str:
        """Replace every known abbreviation with its spoken form."""

        def repl(m: re.Match[str]) -> str:
            words = self.table[m.group(0)]
            nxt = text[m.end(): m.end() + 1]
            return words + (" " if nxt and (nxt.isalnum()) else "")

        return self._pattern.sub(repl, text)

    def merged(self, other: dict[str, str]) -> Abbreviations:
        return Abbreviations({**self.table, **other})


def parse_tsv(text: str, source: str) -> dict[str, str]:
    """Parse 'ABBR<TAB>spoken words' lines; '#' starts a comment line."""
    table: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in raw.split("\t")]
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise BadAbbreviationFile(
                source, f"dòng {number} phải có dạng 'VIẾT TẮT<Tab>cách đọc', nhận được: {raw!r}"
            )
        table[parts[0]] = parts[1]
    return table


@lru_cache(maxsize=1)
def builtin() -> Abbreviations:
    """The table shipped in tts/data/abbreviations.tsv."""
    text = resources.files("tts").joinpath("data/abbreviations.tsv").read_text(encoding="utf-8")
    return Abbreviations(parse_tsv(text, "tts/data/abbreviations.tsv"))


def load(extra: Path | None) -> Abbreviations:
    """Built-in table plus an operator's file whose entries win."""
    base = builtin()
    if extra is None:
        return base
    try:
        text = Path(extra).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadAbbreviationFile(str(extra), "không tìm thấy tệp, hãy kiểm tra đường dẫn.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadAbbreviationFile(str(extra), f"không đọc được ({exc}); tệp phải là UTF-8.") from None
    return base.merged(parse_tsv(text, str(extra)))
