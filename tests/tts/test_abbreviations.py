"""Abbreviation table: shipped data file, operator extensions, spelling of the rest."""

from pathlib import Path

import pytest

from tts import BadAbbreviationFile, normalize
from tts.abbreviations import builtin, is_vietnamese_syllable, load, spell


def test_shipped_table_has_local_government_terms() -> None:
    table = builtin().table
    for key in ("UBND", "HĐND", "TP.", "Q.", "P.", "TT.", "BCH", "PCCC"):
        assert key in table


def test_operator_file_adds_and_overrides(tmp_path: Path) -> None:
    extra = tmp_path / "xa.tsv"
    extra.write_text("# của xã\nHTX\thợp tác xã nông nghiệp\nKDC\tkhu dân cư\n", encoding="utf-8")
    table = load(extra)
    assert normalize("HTX và KDC số 2", abbreviations=table) == "hợp tác xã nông nghiệp và khu dân cư số hai."
    # the shipped table is untouched for everyone else
    assert normalize("KDC") == "ca dê xê."


def test_bad_operator_file_names_the_line(tmp_path: Path) -> None:
    extra = tmp_path / "sai.tsv"
    extra.write_text("HTX hợp tác xã\n", encoding="utf-8")
    with pytest.raises(BadAbbreviationFile) as err:
        load(extra)
    assert "dòng 1" in str(err.value) and err.value.code == "bad_abbreviation_file"


def test_missing_operator_file(tmp_path: Path) -> None:
    with pytest.raises(BadAbbreviationFile, match="không tìm thấy"):
        load(tmp_path / "khong-co.tsv")


def test_spelling_and_syllables() -> None:
    assert spell("HCM") == "hát xê em mờ"
    assert spell("Đ2") == "đê hai"
    assert is_vietnamese_syllable("THÔNG") and is_vietnamese_syllable("nghiêng")
    assert not is_vietnamese_syllable("UBND") and not is_vietnamese_syllable("XYZ")


def test_abbreviation_needs_a_word_boundary() -> None:
    # "CA" (công an) must not fire inside another word or inside lower-case text.
    assert normalize("CAO ca") == "CAO ca."
