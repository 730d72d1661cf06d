"""Synthesizer: normalise, try engines in order, post-process, cache. Synchronous; run it in a thread."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from tts import abbreviations, audio, engines
from tts.cache import DEFAULT_MAX_BYTES, SpeechCache, SpeechResult, cache_key
from tts.errors import AllEnginesFailed, EmptyText, TextTooLong, TtsError
from tts.normalize import normalize
from tts.settings import TtsSettings, check_engine, check_voice

_REMEMBERED_TEXTS = 256
PREVIEW_MAX_BYTES = 64 * 1024 * 1024
PREVIEWS = "previews"


class Synthesizer:
    """Turns bulletin text into an encoded, loudness-normalised file in the cache."""

    def __init__(self, settings: TtsSettings, cache_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 preview_max_bytes: int = PREVIEW_MAX_BYTES) -> None:
        self.settings = settings
        self.cache = SpeechCache(Path(cache_dir), max_bytes=max_bytes)
        # what is only listened to ("Nghe thử") goes to a small area of its own: a burst of previews never
        # pushes out the speech of bulletins, and a preview of a text already spoken is a hit
        self.previews = SpeechCache(Path(cache_dir) / PREVIEWS, max_bytes=preview_max_bytes)
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

    def _chain(self, engine: str | None, neural: str) -> list[tuple[str, str]]:
        """(engine, its voice) in the order tried. An explicit engine first, then a chosen neural voice,
        then the configured chain; espeak-ng always ends a chain that has a neural voice in it."""
        names = [check_engine(engine)] if engine else []
        if neural and "piper" not in names:
            names.append("piper")
        names += [e for e in self.settings.engines if e not in names]
        if "piper" in names and "espeak-ng" not in names:
            names.append("espeak-ng")
        return [(name, neural) if name == "piper" else (name, "") for name in names]

    def _key(self, text: str, engine: str, voice: str) -> str:
        eng = self._engines[engine]
        name = eng.voice_for(voice)
        return cache_key(text, engine, name, self.settings.post_processing_key(), eng.cache_identity(name))

    def _regional_of(self, neural: str) -> str:
        """The espeak-ng voice of the neural voice's region (its fallback speaks the same dialect)."""
        piper = self._engines["piper"]
        region = piper.region_of(neural) if neural and isinstance(piper, engines.PiperEngine) else None
        return check_voice(region) if region else self.settings.voice

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    def _cached(self, key: str) -> SpeechResult | None:
        return self.cache.get(key) or self.previews.get(key)

    def synthesize(self, text: str, *, engine: str | None = None, voice: str | None = None,
                   neural_voice: str | None = None, preview: bool = False) -> SpeechResult:
        """Speech for `text`: from the cache when possible, else from the first engine that works.

        `voice` is the regional voice (espeak-ng's); `neural_voice` an installed voice's id (tts/voices.py),
        tried first with espeak-ng as the fallback. The cache key holds the engine, voice and model.
        `preview`: only listened to; made speech goes to the small previews area.
        """
        neural = self.settings.neural_voice if neural_voice is None else neural_voice
        chain = self._chain(engine, neural)
        regional = check_voice(voice) if voice else self._regional_of(neural)
        if not text or not text.strip():
            raise EmptyText()
        if len(text) > self.settings.max_chars:
            raise TextTooLong(len(text), self.settings.max_chars)
        spoken = self.normalize(text)
        steps = [(name, own if name == "piper" else regional) for name, own in chain]
        keys = {name: self._key(spoken, name, v) for name, v in steps}
        for name, _ in steps:
            hit = self._cached(keys[name])
            if hit is not None:
                return hit
            if name == "piper":
                break  # a local voice is quick to try: an older fallback recording must not stand in for it
        tried: list[tuple[str, str]] = []
        for name, v in steps:
            with self._lock(keys[name]):
                hit = self._cached(keys[name])  # another thread may have just made it
                if hit is not None:
                    return hit
                try:
                    return self._produce(spoken, name, v, keys[name], tried,
                                         cache=self.previews if preview else self.cache)
                except TtsError as exc:
                    tried.append((name, exc.message))
                except OSError as exc:
                    tried.append((name, f"lỗi hệ thống: {exc}"))
        raise AllEnginesFailed(tried)

    def _produce(self, spoken: str, name: str, voice: str, key: str,
                 tried: list[tuple[str, str]], *, cache: SpeechCache) -> SpeechResult:
        eng = self._engines[name]
        s = self.settings
        with cache.work_dir() as work:
            workdir = Path(work)
            raw = eng.synthesize(spoken, eng.voice_for(voice), workdir)
            measured = audio.prepare(raw, workdir / "prepared.wav", s)
            encoded = workdir / f"encoded{s.extension}"
            audio.level_and_encode(workdir / "prepared.wav", measured, encoded, s)
            duration = audio.duration_ms(encoded, s)
            return cache.put(
                key, encoded, extension=s.extension, duration_ms=duration, mime=s.mime, engine=name,
                voice=eng.voice_for(voice), normalized_text=spoken, engines_tried=list(tried),
            )
