"""Vietnamese speech for bulletins: normalise text, synthesise, post-process, cache."""

from tts.cache import SpeechResult
from tts.errors import (
    AllEnginesFailed,
    AudioProcessingFailed,
    BadAbbreviationFile,
    BadSettings,
    EmptyText,
    EngineUnavailable,
    TextTooLong,
    TtsError,
    UnknownEngine,
    UnknownVoice,
    UnspeakableText,
)
from tts.normalize import normalize
from tts.settings import ENGINES, VOICES, TtsSettings
from tts.synthesizer import Synthesizer

__all__ = [
    "ENGINES", "VOICES", "AllEnginesFailed", "AudioProcessingFailed", "BadAbbreviationFile",
    "BadSettings", "EmptyText", "EngineUnavailable", "SpeechResult", "Synthesizer", "TextTooLong",
    "TtsError", "TtsSettings",
    "UnknownEngine", "UnknownVoice", "UnspeakableText", "normalize",
]
