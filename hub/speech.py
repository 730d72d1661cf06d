"""Adapter to tts/: speak a text bulletin in a worker thread; TTS errors become a 422 for the editor."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from hub.config import HubConfig
from hub.errors import Invalid, ServiceError

if TYPE_CHECKING:
    from tts import SpeechResult


class SpeechService:
    def __init__(self, config: HubConfig) -> None:
        import tts  # noqa: PLC0415 - imported late: the CLI and API-only tools never load ffmpeg wrappers

        self._tts_error: type[tts.TtsError] = tts.TtsError
        # every [tts] setting, checked at start-up; the voices directory defaults under data_dir
        self.settings = dataclasses.replace(config.tts.tts_settings(), voices_dir=config.voices_dir)
        mb = 1024 * 1024
        self.synth = tts.Synthesizer(
            self.settings, config.tts_cache_dir,
            max_bytes=config.tts.cache_max_mb * mb, preview_max_bytes=config.tts.preview_cache_mb * mb,
        )
        # Speech has threads of its own: a burst of submits must not take the default executor's
        # threads, which serve the API's database work (programme reads stay fast meanwhile).
        self._pool = ThreadPoolExecutor(max_workers=config.tts.workers, thread_name_prefix="nguon-tts")

    async def speak(self, text: str, *, voice: str | None = None, preview: bool = False) -> SpeechResult:
        """The text spoken (a tts.SpeechResult); Invalid (422, field "text") with tts's Vietnamese message.

        `voice`: an installed neural voice's id (espeak-ng speaks if it fails), "espeak-ng", or None for
        [tts] neural_voice. `preview`: only listened to (kept in the cache's small previews area)."""
        if voice == "espeak-ng":
            call = functools.partial(self.synth.synthesize, text, engine="espeak-ng", neural_voice="",
                                     preview=preview)
        else:
            call = functools.partial(self.synth.synthesize, text, neural_voice=voice, preview=preview)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, call)
        except self._tts_error as exc:
            raise Invalid(
                f"Không chuyển được văn bản thành giọng nói: {exc}",
                field="text",
                code=f"tts_{getattr(exc, 'code', 'failed')}",
            ) from None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class NoSpeech:
    """Speech for the tools that never speak (the CLI, the demo's seeding): every call is refused."""

    async def speak(self, text: str, *, voice: str | None = None, preview: bool = False) -> SpeechResult:
        raise ServiceError("CLI không tổng hợp giọng nói")
