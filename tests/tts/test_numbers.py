"""Vietnamese number words."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tts import numbers as num


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (101, "một trăm lẻ một"),
        (105, "một trăm lẻ năm"),
        (110, "một trăm mười"),
        (115, "một trăm mười lăm"),
        (1005, "một nghìn không trăm lẻ năm"),
        (2024, "hai nghìn không trăm hai mươi tư"),
        (1_500_000, "một triệu năm trăm nghìn"),
        (1_000_005, "một triệu không trăm lẻ năm"),
        (3_000_000_000, "ba tỷ"),
        (1_000_000_000_000, "một nghìn tỷ"),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert num.cardinal(n) == words


def test_decimals_digits_ordinals_months_roman() -> None:
    assert num.decimal("2", "5") == "hai phẩy năm"
    assert num.decimal("3", "14") == "ba phẩy mười bốn"
    assert num.decimal("0", "05") == "không phẩy không năm"
    assert num.digits("0912") == "không chín một hai"
    assert [num.ordinal(n) for n in (1, 2, 4, 7)] == ["nhất", "hai", "tư", "bảy"]
    assert num.month(4) == "tư" and num.month(12) == "mười hai"
    assert num.roman("XXI") == 21 and num.roman("IV") == 4
    assert num.roman("IIII") is None and num.roman("ABC") is None


@given(st.integers(min_value=0, max_value=10**15))
def test_cardinal_is_words_only(n: int) -> None:
    words = num.cardinal(n).split()
    assert words and all(w.isalpha() for w in words)
    # Units after a tens word use the special forms, never "mươi một" / "mươi năm".
    text = " ".join(words)
    assert "mươi một" not in text and "mươi năm" not in text and "mười năm" not in text
