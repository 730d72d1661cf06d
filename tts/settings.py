"""Settings for speech: a frozen dataclass validated on construction."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tts.errors import BadSettings, UnknownEngine, UnknownVoice

ENGINES = ("espeak-ng", "gtts", "piper")
# Regional voices as espeak-ng names them (`espeak-ng --voices=vi`); other engines map them.
VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")
VOICE_ALIASES = {"north": "vi", "central": "vi-vn-x-central", "south": "vi-vn-x-south",
                 "bac": "vi", "trung": "vi-vn-x-central", "nam": "vi-vn-x-south"}
FORMATS = {"mp3": ("audio/mpeg", ".mp3"), "opus": ("audio/ogg", ".ogg"), "wav": ("audio/wav", ".wav")}


def check_engine(name: str) -> str:
    """Return the engine name or raise UnknownEngine."""
    if name not in ENGINES:
        raise UnknownEngine(name, ENGINES)
    return name


def check_voice(name: str) -> str:
    """Return the canonical voice name (aliases and case accepted) or raise UnknownVoice."""
    key = name.strip().lower()
    key = VOICE_ALIASES.get(key, key)
    if key not in VOICES:
        raise UnknownVoice(name, VOICES + tuple(VOICE_ALIASES))
    return key


@dataclass(frozen=True)
class TtsSettings:
    """How bulletins are spoken and encoded; every field is part of the cache key except paths of tools."""

    engines: tuple[str, ...] = ("espeak-ng",)
    voice: str = "vi"
    gtts_timeout_s: float = 5.0
    # Installed neural voices (tts/voices.py); None = no neural voice, espeak-ng only.
    voices_dir: Path | None = None
    # The installed voice "piper" speaks with when no voice is asked for ("" = none chosen).
    neural_voice: str = ""
    loudness_lufs: float = -16.0
    true_peak_db: float = -1.5
    # 22.05 kHz keeps speech intelligible on loudspeakers at half the bytes of 44.1 kHz.
    sample_rate: int = 22050
    channels: int = 1
    audio_format: str = "mp3"
    bitrate: str = "48k"
    chime: bool = False
    max_chars: int = 20000
    extra_abbreviations: Path | None = None
    # Slower than espeak's 175 wpm: outdoor loudspeakers echo, villagers need time.
    speech_rate_wpm: int = 150
    espeak_binary: str = "espeak-ng"
    ffmpeg_binary: str = "ffmpeg"
    ffprobe_binary: str = "ffprobe"
    subprocess_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        engines = tuple(self.engines) if not isinstance(self.engines, str) else (self.engines,)
        if not engines:
            raise BadSettings("danh sách bộ đọc (engines) trống, hãy ghi ít nhất 'espeak-ng'.")
        for name in engines:
            check_engine(name)
        object.__setattr__(self, "engines", engines)
        object.__setattr__(self, "voice", check_voice(self.voice))
        if self.audio_format not in FORMATS:
            raise BadSettings(
                f"audio_format '{self.audio_format}' không hỗ trợ, hãy chọn mp3, opus hoặc wav."
            )
        if self.channels not in (1, 2):
            raise BadSettings("channels phải là 1 (mono) hoặc 2.")
        if not 8000 <= self.sample_rate <= 48000:
            raise BadSettings("sample_rate phải trong khoảng 8000..48000 Hz.")
        if not -40.0 <= self.loudness_lufs <= -5.0:
            raise BadSettings("loudness_lufs phải trong khoảng -40..-5 LUFS (thường là -16).")
        if self.gtts_timeout_s <= 0 or self.max_chars <= 0 or not 80 <= self.speech_rate_wpm <= 450:
            raise BadSettings("gtts_timeout_s, max_chars phải dương; speech_rate_wpm trong 80..450.")
        if not self.bitrate.rstrip("k").isdigit():
            raise BadSettings(f"bitrate '{self.bitrate}' sai, ví dụ đúng: 48k.")
        for name in ("voices_dir", "extra_abbreviations"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))

    @property
    def mime(self) -> str:
        return FORMATS[self.audio_format][0]

    @property
    def extension(self) -> str:
        return FORMATS[self.audio_format][1]

    def post_processing_key(self) -> dict[str, Any]:
        """The settings that change the encoded bytes (part of the cache key)."""
        return {
            "lufs": self.loudness_lufs, "tp": self.true_peak_db, "sr": self.sample_rate,
            "ch": self.channels, "fmt": self.audio_format, "br": self.bitrate, "chime": self.chime,
            "wpm": self.speech_rate_wpm,
        }

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> TtsSettings:
        """Build from a config table, rejecting unknown keys with a 'did you mean' hint."""
        names = [f.name for f in dataclasses.fields(cls)]
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(key, names, n=1)
                hint = f" Có phải ý bạn là '{close[0]}'?" if close else ""
                raise BadSettings(f"khóa '{key}' không tồn tại.{hint}")
        values = dict(data)
        if "engines" in values:
            engines = values["engines"]
            values["engines"] = tuple(e.strip() for e in engines.split(",")) if isinstance(
                engines, str) else tuple(engines)
        return cls(**values)
