"""The duration shown while an editor types (tts.estimate) against real espeak-ng speech of the same text."""

import pytest

from tts.estimate import WORDS_PER_MINUTE, estimate_duration_ms, spoken_words

from .conftest import measure

TEXTS = [
    "Ủy ban nhân dân phường Nghĩa Thành thông báo: từ ngày mai, người dân khu vực ven sông chuẩn bị sơ tán "
    "khi có lệnh. Nước lũ đang lên nhanh, mọi người không đi qua cầu tràn, trông giữ trẻ em và người già, "
    "theo dõi loa truyền thanh để nhận thông tin mới nhất từ chính quyền địa phương.",
    "Thông báo số 12 ngày 30 tháng 11 năm 2026 của UBND xã về lịch tiêm chủng. Từ 7 giờ 30 đến 11 giờ sáng "
    "thứ Hai, trạm y tế xã tiêm vắc xin cho trẻ em từ 2 tháng đến 5 tuổi. Phụ huynh mang theo sổ tiêm "
    "chủng. Đề nghị các thôn trưởng thông báo rộng rãi tới từng hộ gia đình, đặc biệt các hộ ở xa trung "
    "tâm. Xin cảm ơn bà con đã chú ý lắng nghe.",
]


def test_counting() -> None:
    assert spoken_words("") == 0 and spoken_words("  \n\t ") == 0
    assert spoken_words(" Lũ  đang\nlên, sơ tán! ") == 5
    assert estimate_duration_ms("từ " * WORDS_PER_MINUTE) == 60_000


@pytest.mark.parametrize("text", TEXTS)
def test_estimate_is_within_a_fifth_of_real_speech(make_synth, text: str) -> None:
    result = make_synth().synthesize(text)  # the hub's defaults: espeak-ng, vi, speech_rate_wpm 150
    _, real_s = measure(result.path)
    estimate_s = estimate_duration_ms(text) / 1000
    assert abs(estimate_s - real_s) / real_s < 0.2, (estimate_s, real_s)
