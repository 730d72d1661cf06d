"""Synthesizer: normalise, try engines in order, post-process, cache. Synchronous; run it in a thread."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from tts import abbreviations, audio, engines
from tts.cache import SpeechCache, SpeechResult, cache_key
from tts.errors import AllEnginesFailed, EmptyText, TextTooLong, TtsError
from tts.normalize import normalize
from tts.settings import TtsSettings, check_engine, check_voice

_REMEMBERED_TEXTS = 256


class Synthesizer:
    """Turns bulletin text into an encoded, loudness-normalised file in the cache."""

    def __init__(self, settings: TtsSettings, cache_dir: Path) -> None:
        self.settings = settings
        self.cache = SpeechCache(Path(cache_dir))
        self._abbreviations = abbreviations.load(settings.extra_abbreviations)
        self._engines = {name: engines.build(name, settings) for name in
                         ("espeak-ng", "gtts", "piper")}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        # Normalising a long bulletin takes several ms; remembering it keeps cache hits well under 10 ms.
        self._spoken: OrderedDict[str, str] = OrderedDict()

    def normalize(self, text: str) -> str:
        """Normalise with this synthesizer's abbreviation table (built-in plus the operator's file)."""
        with self._locks_guard:
            spoken = self._spoken.get(text)
            if spoken is not None:
                self._spoken.move_to_end(text)
                return spoken
        spoken = normalize(text, abbreviations=self._abbreviations)
        with self._locks_guard:
            self._spoken[text] = spoken
            while len(self._spoken) > _REMEMBERED_TEXTS:
                self._spoken.popitem(last=False)
        return spoken

    def _chain(self, engine: str | None) -> list[str]:
        # An explicit engine is tried first; the configured chain stays as the fallback.
        chain = [check_engine(engine)] if engine else []
        return chain + [e for e in self.settings.engines if e not in chain]

    def _key(self, text: str, engine: str, voice: str) -> str:
        eng = self._engines[engine]
        return cache_key(text, engine, eng.voice_for(voice), self.settings.post_processing_key(),
                         eng.cache_identity())

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def synthesize(self, text: str, *, engine: str | None = None, voice: str | None = None) -> SpeechResult:
        """Speech for `text`: from the cache when possible, else from the first engine that works."""
        chain = self._chain(engine)
        voice = check_voice(voice) if voice else self.settings.voice
        if not text or not text.strip():
            raise EmptyText()
        if len(text) > self.settings.max_chars:
            raise TextTooLong(len(text), self.settings.max_chars)
        spoken = self.normalize(text)
        keys = {name: self._key(spoken, name, voice) for name in chain}
        for name in chain:
            hit = self.cache.get(keys[name])
            if hit is not None:
                return hit
        tried: list[tuple[str, str]] = []
        for name in chain:
            with self._lock(keys[name]):
                hit = self.cache.get(keys[name])  # another thread may have just made it
                if hit is not None:
                    return hit
                try:
                    return self._produce(spoken, name, voice, keys[name], tried)
                except TtsError as exc:
                    tried.append((name, exc.message))
                except OSError as exc:
                    tried.append((name, f"lỗi hệ thống: {exc}"))
        raise AllEnginesFailed(tried)

    def _produce(self, spoken: str, name: str, voice: str, key: str,
                 tried: list[tuple[str, str]]) -> SpeechResult:
        eng = self._engines[name]
        s = self.settings
        with self.cache.work_dir() as work:
            workdir = Path(work)
            raw = eng.synthesize(spoken, eng.voice_for(voice), workdir)
            measured = audio.prepare(raw, workdir / "prepared.wav", s)
            encoded = workdir / f"encoded{s.extension}"
            audio.level_and_encode(workdir / "prepared.wav", measured, encoded, s)
            duration = audio.duration_ms(encoded, s)
            return self.cache.put(
                key, encoded, extension=s.extension, duration_ms=duration, mime=s.mime, engine=name,
                voice=eng.voice_for(voice), normalized_text=spoken, engines_tried=list(tried),
            )
