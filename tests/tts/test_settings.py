"""Settings validation and the voices espeak-ng really has."""

import subprocess
from pathlib import Path

import pytest

from tts import VOICES, BadSettings, TtsSettings, UnknownEngine, UnknownVoice


def test_defaults() -> None:
    s = TtsSettings()
    assert s.engines == ("espeak-ng",) and s.voice == "vi" and s.audio_format == "mp3"
    assert s.loudness_lufs == -16.0 and s.channels == 1 and s.gtts_timeout_s == 5.0
    assert s.mime == "audio/mpeg" and s.extension == ".mp3"


def test_voices_exist_in_espeak() -> None:
    out = subprocess.run(["espeak-ng", "--voices=vi"], capture_output=True, text=True, timeout=10,
                         check=True).stdout.lower()
    for voice in VOICES:
        assert f" {voice} " in out


def test_aliases_and_paths() -> None:
    s = TtsSettings(voice="South", voices_dir="/x/voices", engines=["gtts", "espeak-ng"])
    assert s.voice == "vi-vn-x-south" and s.voices_dir == Path("/x/voices")
    assert s.engines == ("gtts", "espeak-ng")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"engines": ("espeak",)}, UnknownEngine),
        ({"engines": ()}, BadSettings),
        ({"voice": "hue"}, UnknownVoice),
        ({"audio_format": "flac"}, BadSettings),
        ({"channels": 6}, BadSettings),
        ({"loudness_lufs": 3.0}, BadSettings),
        ({"bitrate": "fast"}, BadSettings),
    ],
)
def test_bad_values(kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        TtsSettings(**kwargs)


def test_from_mapping_suggests_the_right_key() -> None:
    assert TtsSettings.from_mapping({"engines": "gtts, espeak-ng"}).engines == ("gtts", "espeak-ng")
    with pytest.raises(BadSettings, match="loudness_lufs"):
        TtsSettings.from_mapping({"loudness_lfs": -16})
