"""Normalisation: every category a bulletin uses, read the way a commune listener expects."""

import re
import unicodedata

import pytest

from tts import EmptyText, UnspeakableText, normalize

CASES = [
    # cardinal numbers and the tricky words
    ("21 hộ", "hai mươi mốt hộ"),
    ("15 người", "mười lăm người"),
    ("105 xã", "một trăm lẻ năm xã"),
    ("24 thôn", "hai mươi tư thôn"),
    # dotted thousands, decimals with either separator
    ("1.500.000 người", "một triệu năm trăm nghìn người"),
    ("12.345 người", "mười hai nghìn ba trăm bốn mươi lăm người"),
    ("2.5 tấn", "hai phẩy năm tấn"),
    ("2,5 tấn", "hai phẩy năm tấn"),
    ("1.234,5 ha", "một nghìn hai trăm ba mươi tư phẩy năm héc ta"),
    ("1,000,000 đồng", "một triệu đồng"),
    # percentages and money
    ("tăng 15%", "tăng mười lăm phần trăm"),
    ("2,5%", "hai phẩy năm phần trăm"),
    ("500.000đ", "năm trăm nghìn đồng"),
    ("500.000 VNĐ", "năm trăm nghìn đồng"),
    ("20 USD", "hai mươi đô la Mỹ"),
    # times
    ("17h30", "mười bảy giờ ba mươi phút"),
    ("17:30", "mười bảy giờ ba mươi phút"),
    ("lúc 5 giờ sáng", "lúc năm giờ sáng"),
    ("7h05", "bảy giờ năm phút"),
    ("17h", "mười bảy giờ"),
    ("7g30", "bảy giờ ba mươi phút"),
    ("từ 17h-18h30", "từ mười bảy giờ đến mười tám giờ ba mươi phút"),
    # dates
    ("20/12/2024", "ngày hai mươi tháng mười hai năm hai nghìn không trăm hai mươi tư"),
    ("ngày 20/12/2024", "ngày hai mươi tháng mười hai năm hai nghìn không trăm hai mươi tư"),
    ("ngày 5-6/9", "ngày mùng năm và mùng sáu tháng chín"),
    ("từ 5-10/9", "từ ngày mùng năm đến mùng mười tháng chín"),
    ("1.9.2024", "ngày mùng một tháng chín năm hai nghìn không trăm hai mươi tư"),
    ("tháng 12/2024", "tháng mười hai năm hai nghìn không trăm hai mươi tư"),
    ("tháng 4", "tháng tư"),
    # ordinals
    ("thứ 4", "thứ tư"),
    ("thứ 1", "thứ nhất"),
    ("Thứ 7", "Thứ bảy"),
    ("lần thứ 15", "lần thứ mười lăm"),
    ("quý II", "quý hai"),
    # ranges and negatives
    ("5-10 người", "năm đến mười người"),
    ("nhiệt độ -5°C", "nhiệt độ âm năm độ xê"),
    # phone numbers, digit by digit with pauses between groups
    ("gọi 114", "gọi một một bốn"),
    ("0912 345 678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0912345678", "không chín một hai, ba bốn năm, sáu bảy tám"),
    ("0236.3822.123", "không hai ba sáu, ba tám hai hai, một hai ba"),
    ("SĐT: 0905.123.456", "số điện thoại: không chín không năm, một hai ba, bốn năm sáu"),
    # units
    ("5km", "năm ki lô mét"),
    ("3 m", "ba mét"),
    ("20kg", "hai mươi ki lô gam"),
    ("2ha", "hai héc ta"),
    ("mưa 100-200mm", "mưa một trăm đến hai trăm mi li mét"),
    ("35°C", "ba mươi lăm độ xê"),
    ("30oC", "ba mươi độ xê"),
    ("gió 50km/h", "gió năm mươi ki lô mét trên giờ"),
    ("giá 20.000đ/kg", "giá hai mươi nghìn đồng trên ki lô gam"),
    # local-government abbreviations
    ("UBND xã", "ủy ban nhân dân xã"),
    ("HĐND huyện", "hội đồng nhân dân huyện"),
    ("TP. Đà Nẵng", "thành phố Đà Nẵng"),
    ("Q.1", "quận một"),
    ("P. Hòa Khánh", "phường Hòa Khánh"),
    ("TT. Nam Phước", "thị trấn Nam Phước"),
    ("BCH quân sự", "ban chỉ huy quân sự"),
    ("đội PCCC", "đội phòng cháy chữa cháy"),
    ("Quyết định 1234/QĐ-UBND", "Quyết định một nghìn hai trăm ba mươi tư quyết định ủy ban nhân dân"),
    # unknown acronyms are spelled, shouted Vietnamese words are not
    ("tổ chức WHO", "tổ chức vê kép hát o"),
    ("THÔNG BÁO KHẨN", "THÔNG BÁO KHẨN"),
    ("Covid-19", "cô vít mười chín"),
    # punctuation and symbols
    ("kinh tế - xã hội", "kinh tế, xã hội"),
    ("An & Bình", "An và Bình"),
]


@pytest.mark.parametrize(("text", "spoken"), CASES)
def test_category(text: str, spoken: str) -> None:
    assert normalize(text).rstrip(".") == spoken


def test_no_digits_survive_a_real_bulletin() -> None:
    bulletin = (
        "THÔNG BÁO KHẨN\n"
        "- BCH PCTT&TKCN xã thông báo: bão số 3 sẽ đổ bộ vào lúc 17h30 ngày 20/12/2024.\n"
        "- Lượng mưa 100-200mm, gió cấp 8-9, giật 90km/h. Nhiệt độ 25-27°C.\n"
        "- Đề nghị 1.500 hộ dân di dời trước 15:00. Hỗ trợ 500.000đ/hộ (tăng 2,5%).\n"
        "Mọi thông tin liên hệ đường dây nóng 0236 3822 123 hoặc gọi 114."
    )
    spoken = normalize(bulletin)
    assert not re.search(r"\d", spoken), spoken
    assert "phòng chống thiên tai và tìm kiếm cứu nạn" in spoken
    assert "một một bốn" in spoken
    assert "- " not in spoken


def test_lines_become_sentences() -> None:
    assert normalize("THÔNG BÁO\nVề việc họp") == "THÔNG BÁO. Về việc họp."


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty(text: str) -> None:
    with pytest.raises(EmptyText) as err:
        normalize(text)
    assert err.value.code == "empty_text" and "trống" in str(err.value)


def test_foreign_script_is_refused_with_what_to_fix() -> None:
    with pytest.raises(UnspeakableText) as err:
        normalize("Xin chào 你好")
    assert "你" in str(err.value) and "Hãy" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_symbols_only_is_unspeakable() -> None:
    with pytest.raises(UnspeakableText):
        normalize("★ ★ ★ 🙂")


def test_emoji_is_silent() -> None:
    assert normalize("Chúc mừng 🎉 năm mới") == "Chúc mừng năm mới."


def test_decomposed_unicode_is_composed() -> None:
    assert normalize(unicodedata.normalize("NFD", "Ủy ban 5 người")) == "Ủy ban năm người."
