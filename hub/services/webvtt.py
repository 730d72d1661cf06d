"""WebVTT subtitles checked as text: UTF-8, the WEBVTT header, well-formed cue timings. Pure."""

from __future__ import annotations

import re

from hub.errors import Invalid

_TS = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
TIMING = re.compile(rf"^{_TS}[ \t]+-->[ \t]+{_TS}(?:[ \t]+.*)?$")


def _ms(groups: tuple[str | None, ...]) -> int:
    h, m, s, ms = groups
    return ((int(h or 0) * 60 + int(m or 0)) * 60 + int(s or 0)) * 1000 + int(ms or 0)


def _bad(message: str) -> Invalid:
    return Invalid(f"Phụ đề WebVTT không hợp lệ: {message}", field="file", code="bad_media")


def check_webvtt(data: bytes, *, max_bytes: int) -> int:
    """Validate a WebVTT file; return the end of its last cue in ms. Raise Invalid saying what to fix."""
    if len(data) > max_bytes:
        raise _bad(f"tệp lớn quá {max_bytes // 1024} KB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(f"không phải văn bản UTF-8 (byte {exc.start}); hãy lưu tệp với mã hóa UTF-8.") from None
    if "\x00" in text:
        raise _bad("tệp chứa ký tự nhị phân (NUL); đây không phải tệp văn bản.")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = lines[0]
    if not (first == "WEBVTT" or first.startswith(("WEBVTT ", "WEBVTT\t"))):
        raise _bad("dòng đầu phải là 'WEBVTT' (tệp .srt hãy chuyển sang .vtt).")
    cues, last_end = 0, 0
    for no, line in enumerate(lines[1:], start=2):
        if "-->" not in line:
            continue
        m = TIMING.match(line.strip())
        if m is None:
            raise _bad(
                f"dòng {no}: thời gian phải dạng 00:00:01.000 --> 00:00:04.000 (dấu chấm trước mili giây)."
            )
        start, end = _ms(m.groups()[:4]), _ms(m.groups()[4:8])
        if end <= start:
            raise _bad(f"dòng {no}: thời điểm kết thúc phải sau thời điểm bắt đầu.")
        cues += 1
        last_end = max(last_end, end)
    if cues == 0:
        raise _bad("không có đoạn phụ đề nào (cần ít nhất một dòng '00:00:01.000 --> 00:00:04.000').")
    return last_end
