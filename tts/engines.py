"""Speech engines behind one interface: espeak-ng (offline), gTTS (online), Piper (installed neural voice).

An engine MUST turn normalised text into one raw audio file in `workdir` and return its path, or
raise a TtsError (usually EngineUnavailable) saying why; it MUST bound every outside call by a timeout.
"""

from __future__ import annotations

import subprocess
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tts.errors import EngineUnavailable, TtsError
from tts.piper import PiperVoice, phonemize
from tts.settings import TtsSettings
from tts.voices import VoiceStore


class Engine(ABC):
    """One way of turning text into a raw audio file."""

    name: str

    @abstractmethod
    def voice_for(self, voice: str) -> str:
        """The engine's own name for a regional voice (recorded with the audio)."""

    def cache_identity(self, voice: str) -> dict[str, Any]:
        """Extra things that change this engine's output for `voice` (model file, ...); MAY be overridden."""
        return {}

    @abstractmethod
    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        """Write raw audio for `text` into `workdir` and return its path."""


def _run(cmd: list[str], *, engine: str, text: str, timeout: float, what: str) -> None:
    try:
        proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=timeout,
                              check=False)
    except FileNotFoundError:
        raise EngineUnavailable(engine, f"chưa cài chương trình {cmd[0]}; hãy cài đặt {what}.") from None
    except subprocess.TimeoutExpired:
        raise EngineUnavailable(engine, f"quá {timeout:g} giây vẫn chưa đọc xong.") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise EngineUnavailable(engine, f"lỗi {proc.returncode}: {err[-1] if err else 'không rõ'}")


def _nonempty(path: Path, engine: str) -> Path:
    if not path.exists() or path.stat().st_size < 100:
        raise EngineUnavailable(engine, "không tạo ra âm thanh.")
    return path


class EspeakEngine(Engine):
    """espeak-ng through a subprocess: offline, instant, robotic but always there."""

    name = "espeak-ng"

    def __init__(self, settings: TtsSettings) -> None:
        self._binary = settings.espeak_binary
        self._rate = settings.speech_rate_wpm
        self._timeout = settings.subprocess_timeout_s

    def voice_for(self, voice: str) -> str:
        return voice

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        out = workdir / "espeak.wav"
        # Lower case: espeak-ng spells words written in capitals letter by letter.
        cmd = [self._binary, "-v", voice, "-s", str(self._rate), "-b", "1", "-w", str(out), "--stdin"]
        _run(cmd, engine=self.name, text=text.lower(), timeout=self._timeout, what="gói espeak-ng")
        return _nonempty(out, self.name)


class GttsEngine(Engine):
    """Google Translate's voice through gTTS: natural, but online and slow to fail on a dead network."""

    name = "gtts"

    def __init__(self, settings: TtsSettings) -> None:
        self._timeout = settings.gtts_timeout_s

    def voice_for(self, voice: str) -> str:
        return "vi"  # gTTS has one Vietnamese voice whatever the region

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        from gtts import gTTS  # type: ignore[import-untyped]  # noqa: PLC0415 - lazy: pulls in requests; only needed when online

        out = workdir / "gtts.mp3"
        outcome: dict[str, BaseException | None] = {}

        def work() -> None:
            try:
                with out.open("wb") as fh:
                    gTTS(text, lang="vi", timeout=self._timeout).write_to_fp(fh)
                outcome["error"] = None
            except BaseException as exc:
                outcome["error"] = exc

        # requests' timeout is per socket operation and gTTS sends one request per ~100 characters;
        # a thread with a deadline bounds the whole call. A thread left behind dies with its socket.
        worker = threading.Thread(target=work, name="tts-gtts", daemon=True)
        worker.start()
        worker.join(self._timeout)
        if worker.is_alive():
            raise EngineUnavailable(
                self.name, f"dịch vụ Google không trả lời sau {self._timeout:g} giây (mất mạng?)."
            )
        error = outcome.get("error")
        if error is not None:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise EngineUnavailable(self.name, f"không kết nối được dịch vụ Google ({reason}).")
        return _nonempty(out, self.name)


class PiperEngine(Engine):
    """A Piper neural voice installed in the voices directory (tts/voices.py), run with onnxruntime.

    Its `voice` is the installed voice's id; loaded models are kept (one onnxruntime session each).
    """

    name = "piper"

    def __init__(self, settings: TtsSettings) -> None:
        self._store = VoiceStore(settings.voices_dir, espeak_binary=settings.espeak_binary) \
            if settings.voices_dir else None
        self._espeak = settings.espeak_binary
        self._timeout = settings.subprocess_timeout_s
        self._loaded: dict[tuple[str, str], PiperVoice] = {}
        self._guard = threading.Lock()

    def voice_for(self, voice: str) -> str:
        return voice

    def cache_identity(self, voice: str) -> dict[str, Any]:
        if self._store is None or not voice:
            return {}
        try:
            info = self._store.get(voice)
        except TtsError:
            return {}
        return {"model": info.sha256, "config": info.config_sha256}

    def region_of(self, voice: str) -> str | None:
        """north/central/south when the installed voice's metadata says it."""
        if self._store is None:
            return None
        try:
            return self._store.get(voice).region
        except TtsError:
            return None

    def _voice(self, voice: str) -> PiperVoice:
        if self._store is None:
            raise EngineUnavailable(self.name, "chưa cấu hình thư mục giọng (voices_dir).")
        if not voice:
            raise EngineUnavailable(self.name,
                                    "chưa chọn giọng (hãy cài giọng bằng 'python -m tts voice add').")
        info = self._store.get(voice)
        key = (info.id, info.sha256 + info.config_sha256)
        with self._guard:
            loaded = self._loaded.get(key)
            if loaded is None:
                try:
                    loaded = self._store.load(info.id)
                except TtsError as exc:
                    raise EngineUnavailable(self.name, exc.message) from None
                self._loaded = {k: v for k, v in self._loaded.items() if k[0] != info.id}
                self._loaded[key] = loaded
            return loaded

    def synthesize(self, text: str, voice: str, workdir: Path) -> Path:
        model = self._voice(voice)
        clauses = phonemize(text, model.config.espeak_voice, binary=self._espeak, timeout=self._timeout)
        return _nonempty(model.write_wav(clauses, workdir / "piper.wav"), self.name)


def build(name: str, settings: TtsSettings) -> Engine:
    """The engine called `name` (already validated against settings.ENGINES)."""
    classes: dict[str, Callable[[TtsSettings], Engine]] = {
        "espeak-ng": EspeakEngine, "gtts": GttsEngine, "piper": PiperEngine,
    }
    return classes[name](settings)
