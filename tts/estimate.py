"""How long a text takes to speak, before it is spoken: shown to the editor while typing (the bulletin form
counts the same way in hub/web/static/app.js). The real duration is measured on the audio at submit."""

from __future__ import annotations

import re

# Words (space-separated syllables, as typed) per minute of espeak-ng's Vietnamese voice at the default
# rate (TtsSettings.speech_rate_wpm 150), chime and pauses included: measured 182-203 on bulletin-like
# texts (numbers, read out in full, make a text slower per typed word). Checked against real speech in
# tests/tts/test_estimate.py.
WORDS_PER_MINUTE = 190
_WORD = re.compile(r"\S+")


def spoken_words(text: str) -> int:
    """Words as the form counts them: runs of non-space characters (JS: text.trim().split(/\\s+/))."""
    return len(_WORD.findall(text))


def estimate_duration_ms(text: str, words_per_minute: int = WORDS_PER_MINUTE) -> int:
    """About how long `text` takes to speak, in milliseconds."""
    return round(spoken_words(text) * 60_000 / words_per_minute)
