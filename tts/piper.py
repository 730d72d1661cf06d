"""Piper voices (VITS models exported to ONNX, with a `.onnx.json` config) run with onnxruntime.

Piper's inference protocol, done here without the piper package (nothing is ever downloaded): the text
is turned into IPA phonemes by espeak-ng with the config's `espeak.voice`, one clause per line; each
clause becomes ids through the config's `phoneme_id_map` (BOS, then every phoneme followed by PAD, then
EOS; unknown phonemes skipped, as Piper does); the model takes `input` (int64 [1, n]), `input_lengths`
(int64 [1]), `scales` (float32 [noise_scale, length_scale, noise_w]) and, for a multi-speaker voice,
`sid` (int64 [1]), and returns float audio at `audio.sample_rate`. Clauses are joined with a short
silence and written as 16-bit mono WAV.
"""

from __future__ import annotations

import json
import subprocess
import threading
import unicodedata
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tts.errors import BadVoice, EngineUnavailable

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime  # type: ignore[import-untyped]

PAD, BOS, EOS = "_", "^", "$"
REQUIRED_INPUTS = ("input", "input_lengths", "scales")
CLAUSE_SILENCE_S = 0.2
# The longest phoneme string given to the model at once (~2 ids each): espeak-ng ends a clause at
# punctuation, and a run-on sentence without any is spoken in pieces cut between words, not one huge tensor.
MAX_PHONEMES = 1000


@dataclass(frozen=True)
class PiperConfig:
    """What nguon needs from a voice's `.onnx.json`."""

    sample_rate: int
    espeak_voice: str
    phoneme_id_map: dict[str, list[int]]
    num_speakers: int
    noise_scale: float
    length_scale: float
    noise_w: float
    language: str
    dataset: str

    @classmethod
    def parse(cls, raw: bytes) -> PiperConfig:
        """Parse and check a config file's bytes; BadVoice says which field is wrong."""
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadVoice(f"tệp cấu hình không phải JSON hợp lệ ({exc}).") from None
        if not isinstance(data, dict):
            raise BadVoice("tệp cấu hình phải là một đối tượng JSON.")
        audio = _section(data, "audio")
        rate = audio.get("sample_rate")
        if not isinstance(rate, int) or not 8000 <= rate <= 48000:
            raise BadVoice("thiếu audio.sample_rate (số nguyên 8000..48000) trong tệp cấu hình.")
        ids = data.get("phoneme_id_map")
        if not isinstance(ids, dict) or not ids or not all(
            isinstance(k, str) and isinstance(v, list) and v and all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 100000 for i in v)
            for k, v in ids.items()
        ):
            raise BadVoice("phoneme_id_map phải ánh xạ mỗi âm vị sang danh sách số nguyên không âm.")
        for mark in (PAD, BOS, EOS):
            if mark not in ids:
                raise BadVoice(f"phoneme_id_map thiếu ký hiệu '{mark}' (PAD ^ $ của Piper).")
        espeak = _section(data, "espeak")
        voice = espeak.get("voice")
        if not isinstance(voice, str) or not voice or not voice.replace("-", "").isalnum():
            raise BadVoice("thiếu espeak.voice (tên giọng espeak-ng, ví dụ 'vi') trong tệp cấu hình.")
        phoneme_type = data.get("phoneme_type", "espeak")
        if phoneme_type != "espeak":
            raise BadVoice(f"phoneme_type '{phoneme_type}' chưa hỗ trợ; chỉ hỗ trợ 'espeak'.")
        inference = _section(data, "inference")
        speakers = data.get("num_speakers", 1)
        if not isinstance(speakers, int) or speakers < 1:
            raise BadVoice("num_speakers phải là số nguyên dương.")
        language = data.get("language")
        code = language.get("code") if isinstance(language, dict) else language
        try:
            return cls(
                sample_rate=rate, espeak_voice=voice, phoneme_id_map=ids, num_speakers=speakers,
                noise_scale=float(inference.get("noise_scale", 0.667)),
                length_scale=float(inference.get("length_scale", 1.0)),
                noise_w=float(inference.get("noise_w", 0.8)),
                language=str(code or voice), dataset=str(data.get("dataset", "")),
            )
        except (TypeError, ValueError):
            raise BadVoice("inference.noise_scale, length_scale, noise_w phải là số.") from None


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def open_session(model: Path) -> onnxruntime.InferenceSession:
    """A CPU onnxruntime session for `model`; BadVoice when it is no ONNX model or lacks Piper's inputs."""
    import onnxruntime  # noqa: PLC0415 - heavy; only loaded for a neural voice

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    # Two threads: the hub speaks several bulletins at once on a small machine.
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    try:
        session = onnxruntime.InferenceSession(str(model), sess_options=options,
                                               providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own (Fail, InvalidProtobuf, ...) for a bad file
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise BadVoice(f"tệp không phải mô hình ONNX dùng được ({first}).") from None
    names = [i.name for i in session.get_inputs()]
    missing = [n for n in REQUIRED_INPUTS if n not in names]
    if missing:
        raise BadVoice(
            f"mô hình thiếu đầu vào {', '.join(missing)} của giọng Piper (có: {', '.join(names) or 'không'})."
        )
    if not session.get_outputs():
        raise BadVoice("mô hình không có đầu ra âm thanh.")
    return session


def phonemize(text: str, espeak_voice: str, *, binary: str, timeout: float) -> list[str]:
    """IPA phonemes of each clause of `text`, by espeak-ng (the same phonemes Piper's voices learnt)."""
    cmd = [binary, "-q", "--ipa", "-v", espeak_voice, "--stdin"]
    try:
        proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=timeout,
                              check=False)
    except FileNotFoundError:
        raise EngineUnavailable("piper", f"chưa cài {binary} (Piper cần espeak-ng để ra âm vị).") from None
    except subprocess.TimeoutExpired:
        raise EngineUnavailable("piper", f"espeak-ng quá {timeout:g} giây chưa ra âm vị.") from None
    if proc.returncode != 0:
        raise EngineUnavailable("piper", f"espeak-ng lỗi {proc.returncode} khi ra âm vị.")
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    return [unicodedata.normalize("NFD", line.strip()) for line in lines if line.strip()]


def phoneme_ids(phonemes: str, id_map: dict[str, list[int]]) -> list[int]:
    """Piper's id sequence: BOS, each known phoneme followed by PAD, EOS."""
    ids = list(id_map[BOS])
    pad = id_map[PAD]
    for phoneme in phonemes:
        known = id_map.get(phoneme)
        if known is None:
            continue
        ids.extend(known)
        ids.extend(pad)
    ids.extend(id_map[EOS])
    return ids


def pieces(clause: str, limit: int = MAX_PHONEMES) -> list[str]:
    """`clause` cut between words into pieces of at most `limit` phonemes (a longer word is cut as is)."""
    out: list[str] = []
    current = ""
    for whole in clause.split(" "):
        word = whole
        while len(word) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(word[:limit])
            word = word[limit:]
        if current and len(current) + 1 + len(word) > limit:
            out.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        out.append(current)
    return out


class PiperVoice:
    """A loaded voice: its config and one onnxruntime session (runs are serialised per voice)."""

    def __init__(self, model: Path, config: PiperConfig) -> None:
        self.model = model
        self.config = config
        self._session = open_session(model)
        self._lock = threading.Lock()

    def audio(self, ids: list[int], speaker: int = 0) -> np.ndarray[Any, Any]:
        """Float audio in -1..1 for one id sequence."""
        import numpy as np  # noqa: PLC0415 - with onnxruntime

        c = self.config
        feeds: dict[str, Any] = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([c.noise_scale, c.length_scale, c.noise_w], dtype=np.float32),
        }
        if c.num_speakers > 1:
            feeds["sid"] = np.array([speaker], dtype=np.int64)
        with self._lock:
            try:
                out = self._session.run(None, feeds)[0]
            except Exception as exc:  # a model that loads but fails on real input (wrong shapes, ...)
                first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
                raise EngineUnavailable("piper", f"mô hình lỗi khi đọc ({first}).") from None
        samples = np.asarray(out, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(samples)):
            raise EngineUnavailable("piper", "mô hình trả về âm thanh hỏng (NaN/vô cực).")
        return samples

    def write_wav(self, clauses: list[str], out: Path) -> Path:
        """Speak every clause, joined by a short silence, into a 16-bit mono WAV at the voice's rate."""
        import numpy as np  # noqa: PLC0415 - with onnxruntime

        rate = self.config.sample_rate
        gap = np.zeros(int(rate * CLAUSE_SILENCE_S), dtype=np.float32)
        parts: list[np.ndarray[Any, Any]] = []
        for clause in clauses:
            for piece in pieces(clause):
                ids = phoneme_ids(piece, self.config.phoneme_id_map)
                if len(ids) <= 2:  # nothing known but BOS/EOS
                    continue
                parts.extend((self.audio(ids), gap))
        if not parts:
            raise EngineUnavailable("piper", "giọng không có âm vị nào của văn bản này.")
        joined = np.concatenate(parts)
        pcm = (np.clip(joined, -1.0, 1.0) * 32767.0).astype("<i2")
        with wave.open(str(out), "wb") as fh:
            fh.setnchannels(1)
            fh.setsampwidth(2)
            fh.setframerate(rate)
            fh.writeframes(pcm.tobytes())
        return out
