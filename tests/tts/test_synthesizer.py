"""Real espeak-ng and ffmpeg: files decode, last as long as the words, and are loudness-normalised."""

import hashlib
import subprocess
import time
from pathlib import Path

import pytest

from tts import (
    AllEnginesFailed,
    EmptyText,
    TextTooLong,
    UnknownEngine,
    UnknownVoice,
    UnspeakableText,
)

from .conftest import measure

BULLETIN = (
    "UBND xã thông báo: từ 17h30 ngày 20/12/2024, BCH quân sự xã tổ chức diễn tập PCCC tại thôn 3. "
    "Đề nghị 1.500 hộ dân chủ động theo dõi, liên hệ số điện thoại 0912 345 678 khi cần hỗ trợ."
)


@pytest.mark.parametrize(
    ("fmt", "mime"), [("mp3", "audio/mpeg"), ("opus", "audio/ogg"), ("wav", "audio/wav")]
)
def test_formats_decode_with_plausible_duration_and_target_loudness(make_synth, fmt: str, mime: str) -> None:
    result = make_synth(audio_format=fmt).synthesize(BULLETIN)
    assert result.path.exists() and result.path.suffix == {"mp3": ".mp3", "opus": ".ogg", "wav": ".wav"}[fmt]
    assert result.mime == mime and result.engine == "espeak-ng" and result.voice == "vi"
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert result.size == result.path.stat().st_size and not result.cached
    lufs, decoded_s = measure(result.path)
    assert abs(lufs - -16.0) <= 1.0, lufs
    assert abs(decoded_s * 1000 - result.duration_ms) < 300
    syllables = len(result.normalized_text.split())
    # 150 words (syllables) a minute is 0.4 s each; pauses and the voice's own pace vary it.
    assert 0.2 * syllables < result.duration_ms / 1000 < 0.8 * syllables, (syllables, result.duration_ms)


def test_other_loudness_target_stereo_and_chime(make_synth) -> None:
    plain = make_synth(loudness_lufs=-23.0, channels=2).synthesize("Xin chào bà con.")
    with_chime = make_synth(loudness_lufs=-23.0, channels=2, chime=True).synthesize("Xin chào bà con.")
    assert abs(measure(plain.path)[0] - -23.0) <= 1.0
    assert abs(measure(with_chime.path)[0] - -23.0) <= 1.0
    # intro and outro bells with their pauses add about 3.4 s
    assert 2800 < with_chime.duration_ms - plain.duration_ms < 4000
    streams = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=channels,sample_rate",
                              "-of", "csv=p=0", str(plain.path)], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
    assert streams == "22050,2"


def test_regional_voices_differ(make_synth) -> None:
    synth = make_synth(audio_format="wav")
    north = synth.synthesize("Mưa lớn ở miền Trung.")
    south = synth.synthesize("Mưa lớn ở miền Trung.", voice="vi-vn-x-south")
    assert south.voice == "vi-vn-x-south" and north.sha256 != south.sha256


def test_cache_hit_runs_no_subprocess_and_is_fast(make_synth, monkeypatch: pytest.MonkeyPatch) -> None:
    synth = make_synth()
    first = synth.synthesize(BULLETIN)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cache hit must not start a process")

    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    started = time.perf_counter()
    again = synth.synthesize(BULLETIN)
    elapsed = time.perf_counter() - started
    assert again.cached and again.path == first.path and again.sha256 == first.sha256
    assert again.duration_ms == first.duration_ms and again.engine == "espeak-ng"
    assert elapsed < 0.05, elapsed
    # the same words written differently are the same bulletin
    assert synth.synthesize(BULLETIN.replace("17h30", "17:30")).cached


def test_cache_key_follows_post_processing(make_synth, tmp_path: Path) -> None:
    a = make_synth(bitrate="48k").synthesize("Một hai ba.")
    b = make_synth(bitrate="64k").synthesize("Một hai ba.")
    assert a.path != b.path and not b.cached


def test_no_partial_files_left(make_synth) -> None:
    synth = make_synth()
    result = synth.synthesize("Kiểm tra bộ nhớ đệm.")
    names = sorted(p.name for p in result.path.parent.iterdir())
    assert names == sorted([result.path.name, result.path.stem + ".json", "previews"])  # previews: a folder
    assert not list(synth.previews.directory.iterdir())


def test_corrupted_cache_entry_is_rebuilt(make_synth) -> None:
    synth = make_synth()
    first = synth.synthesize("Tệp hỏng.")
    first.path.write_bytes(b"half")
    again = synth.synthesize("Tệp hỏng.")
    assert not again.cached and again.size == first.size


@pytest.mark.parametrize(
    ("kwargs", "text", "error", "code"),
    [
        ({}, "   ", EmptyText, "empty_text"),
        ({"max_chars": 10}, "Văn bản này dài hơn mười ký tự.", TextTooLong, "text_too_long"),
        ({}, "Привет", UnspeakableText, "unspeakable_text"),
    ],
)
def test_bad_text(make_synth, kwargs: dict, text: str, error: type, code: str) -> None:
    with pytest.raises(error) as err:
        make_synth(**kwargs).synthesize(text)
    assert err.value.code == code and isinstance(err.value, ValueError)


def test_unknown_engine_and_voice(make_synth) -> None:
    synth = make_synth()
    with pytest.raises(UnknownEngine, match="espeak-ng, gtts, piper"):
        synth.synthesize("Xin chào.", engine="festival")
    with pytest.raises(UnknownVoice):
        synth.synthesize("Xin chào.", voice="vi-hue")


def test_all_engines_failing_names_each(make_synth) -> None:
    synth = make_synth(engines=("piper",), espeak_binary="/nonexistent/espeak-ng")
    with pytest.raises(AllEnginesFailed) as err:
        synth.synthesize("Xin chào.", engine="espeak-ng")
    tried = [name for name, _ in err.value.tried]
    assert tried == ["espeak-ng", "piper"] and "voices_dir" in str(err.value)
    assert not list((synth.cache.directory).glob("*.mp3"))


def test_missing_ffmpeg_is_reported(make_synth) -> None:
    with pytest.raises(AllEnginesFailed, match="ffmpeg"):
        make_synth(ffmpeg_binary="/nonexistent/ffmpeg").synthesize("Xin chào.")
