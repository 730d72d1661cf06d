"""Installed neural voices: a directory with one folder per voice, added and removed by the operator.

    <voices_dir>/<id>/model.onnx        the Piper model, checked by loading it and speaking a word
    <voices_dir>/<id>/model.onnx.json   its config (phoneme_id_map, audio.sample_rate, espeak.voice, ...)
    <voices_dir>/<id>/LICENCE.txt       the licence text that came with it (required)
    <voices_dir>/<id>/voice.json        what nguon recorded: name, language, region, sizes, sha256

A voice is copied into a hidden folder and renamed into place, so a reader never sees half a voice.
Nothing is ever downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tts.errors import BadVoice, UnknownNeuralVoice
from tts.piper import PiperConfig, PiperVoice, phoneme_ids, phonemize

MODEL, CONFIG, LICENCE, META = "model.onnx", "model.onnx.json", "LICENCE.txt", "voice.json"
CONFIG_MAX_BYTES = 2 * 1024 * 1024
LICENCE_MAX_BYTES = 1024 * 1024
NAME_MAX = 80
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
REGIONS = ("north", "central", "south")
REGION_WORDS = {"north": "miền Bắc", "central": "miền Trung", "south": "miền Nam"}
# Vietnamese, and languages of Vietnam's peoples a province may have a voice for (ISO 639):
# Ê Đê, Gia Rai, Ba Na, Cơ Ho, M'Nông (central, eastern), Khmer, H'Mông, Tày, Thái, Chăm.
LANGUAGES = ("vi", "rad", "jra", "bdq", "kpm", "cmo", "mng", "km", "khm", "hmn", "tyz", "tay", "tai",
             "blt", "cja", "cjm")
# Where espeak-ng's own name for a voice says the region (Piper's vi voices use plain "vi").
_ESPEAK_REGION = {"vi-vn-x-south": "south", "vi-vn-x-central": "central"}
_CHECK_PHRASE_IDS = 6  # a voice must know at least this many phonemes of "xin chào" to be usable


@dataclass(frozen=True)
class VoiceInfo:
    """An installed voice as listed to operators and editors."""

    id: str
    name: str
    language: str
    region: str | None
    sample_rate: int
    dataset: str
    model_bytes: int
    sha256: str
    config_sha256: str
    licence_first_line: str
    added_at: float

    @property
    def label(self) -> str:
        """How a form shows it: name, and the region when the metadata says it."""
        return f"{self.name} ({REGION_WORDS[self.region]})" if self.region else self.name


def _read_limited(path: Path, limit: int, what: str) -> bytes:
    if not path.is_file():
        raise BadVoice(f"không thấy {what} '{path}'.")
    size = path.stat().st_size
    if size > limit:
        raise BadVoice(f"{what} '{path.name}' lớn {size / 1e6:.1f} MB, vượt giới hạn {limit / 1e6:.1f} MB.")
    return path.read_bytes()


def _language_ok(code: str) -> bool:
    base = re.split(r"[_-]", code.lower(), maxsplit=1)[0]
    return base in LANGUAGES


def _default_licence(model: Path) -> Path | None:
    for name in ("LICENCE.txt", "LICENSE.txt", "LICENSE", "LICENCE", "MODEL_CARD"):
        candidate = model.parent / name
        if candidate.is_file():
            return candidate
    return None


class VoiceStore:
    """The voices directory: add (validated), list, get, remove."""

    def __init__(self, directory: Path, *, max_model_mb: int = 200, espeak_binary: str = "espeak-ng") -> None:
        self.directory = Path(directory)
        self.max_model_bytes = max_model_mb * 1024 * 1024
        self.espeak_binary = espeak_binary

    def _folder(self, voice_id: str) -> Path:
        if not ID_RE.match(voice_id):
            raise UnknownNeuralVoice(voice_id, [v.id for v in self.list()])
        return self.directory / voice_id

    def list(self) -> list[VoiceInfo]:
        """Installed voices, by id; a folder without a readable voice.json is not a voice."""
        if not self.directory.is_dir():
            return []
        found: list[VoiceInfo] = []
        for folder in sorted(self.directory.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            with contextlib.suppress(OSError, ValueError, TypeError):
                found.append(VoiceInfo(**json.loads((folder / META).read_text(encoding="utf-8"))))
        return found

    def get(self, voice_id: str) -> VoiceInfo:
        """The installed voice `voice_id`, or UnknownNeuralVoice naming the installed ones."""
        folder = self._folder(voice_id)
        try:
            return VoiceInfo(**json.loads((folder / META).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            raise UnknownNeuralVoice(voice_id, [v.id for v in self.list()]) from None

    def paths(self, voice_id: str) -> tuple[Path, Path]:
        """(model, config) of an installed voice."""
        folder = self._folder(self.get(voice_id).id)
        return folder / MODEL, folder / CONFIG

    def load(self, voice_id: str) -> PiperVoice:
        """The voice loaded in onnxruntime (BadVoice if its files went bad since it was added)."""
        model, config = self.paths(voice_id)
        return PiperVoice(model, PiperConfig.parse(_read_limited(config, CONFIG_MAX_BYTES, "tệp cấu hình")))

    def add(self, model: Path, *, config: Path | None = None, licence: Path | None = None,
            name: str | None = None, region: str | None = None, voice_id: str | None = None) -> VoiceInfo:
        """Check and install a voice; nothing is left in the directory when a check fails."""
        model = Path(model)
        config = Path(config) if config else model.with_name(model.name + ".json")
        voice_id = voice_id or model.name.removesuffix(".onnx")
        if not ID_RE.match(voice_id):
            raise BadVoice(f"mã giọng '{voice_id}' chỉ được dùng chữ, số, '_', '-', '.' (tối đa 64 ký tự).")
        if region is not None and region not in REGIONS:
            raise BadVoice(f"vùng '{region}' không có; hãy chọn {', '.join(REGIONS)}.")
        name = (name or voice_id).strip()
        if not name or len(name) > NAME_MAX or any(ord(ch) < 32 for ch in name):
            raise BadVoice(f"tên giọng phải có 1..{NAME_MAX} ký tự, không có ký tự điều khiển.")
        if (self.directory / voice_id).exists():
            raise BadVoice(f"đã có giọng '{voice_id}'; hãy xoá nó trước (voice remove) hoặc dùng --id khác.")
        if not model.is_file():
            raise BadVoice(f"không thấy tệp mô hình '{model}'.")
        if model.stat().st_size > self.max_model_bytes:
            raise BadVoice(f"tệp mô hình lớn {model.stat().st_size / 1e6:.0f} MB, vượt giới hạn "
                           f"{self.max_model_bytes / 1e6:.0f} MB (--max-mb).")
        if not config.is_file():
            raise BadVoice(f"thiếu tệp cấu hình '{config.name}' đi kèm mô hình; hãy chỉ ra bằng --config.")
        parsed = PiperConfig.parse(_read_limited(config, CONFIG_MAX_BYTES, "tệp cấu hình"))
        if not _language_ok(parsed.language):
            raise BadVoice(f"ngôn ngữ '{parsed.language}' của giọng không phải tiếng Việt hay tiếng dân tộc "
                           f"đã biết ({', '.join(LANGUAGES)}).")
        licence = licence or _default_licence(model)
        if licence is None:
            raise BadVoice("thiếu giấy phép của giọng: hãy chỉ ra tệp giấy phép bằng --licence.")
        licence_text = _read_limited(Path(licence), LICENCE_MAX_BYTES, "tệp giấy phép")
        try:
            licence_str = licence_text.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise BadVoice("tệp giấy phép phải là văn bản UTF-8.") from None
        if len(licence_str) < 10:
            raise BadVoice("tệp giấy phép trống hoặc quá ngắn: hãy dùng văn bản giấy phép đi kèm giọng.")
        self._check_speaks(model, parsed)
        region = region or _ESPEAK_REGION.get(parsed.espeak_voice)
        return self._install(model, config, licence_str, VoiceInfo(
            id=voice_id, name=name, language=parsed.language, region=region, sample_rate=parsed.sample_rate,
            dataset=parsed.dataset, model_bytes=model.stat().st_size, sha256=_sha256(model),
            config_sha256=_sha256(config),
            licence_first_line=licence_str.splitlines()[0][:200], added_at=time.time(),
        ))

    def _check_speaks(self, model: Path, config: PiperConfig) -> None:
        """Load the model and speak a word with real ids: a model with Piper's input names but the
        wrong shapes or types fails here, not at the first bulletin."""
        voice = PiperVoice(model, config)
        clauses = phonemize("xin chào", config.espeak_voice, binary=self.espeak_binary, timeout=30)
        ids = phoneme_ids("".join(clauses), config.phoneme_id_map)
        if len(ids) < _CHECK_PHRASE_IDS:
            raise BadVoice("phoneme_id_map không có âm vị tiếng Việt nào (thử 'xin chào' không ra âm vị).")
        try:
            samples = voice.audio(ids)
        except Exception as exc:  # EngineUnavailable from a model that loads but cannot run
            raise BadVoice(f"mô hình không đọc được câu thử: {exc}") from None
        if samples.size < config.sample_rate // 50:
            raise BadVoice("mô hình không trả ra âm thanh cho câu thử.")

    def _install(self, model: Path, config: Path, licence: str, info: VoiceInfo) -> VoiceInfo:
        self.directory.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.directory, prefix=".adding-"))
        try:
            shutil.copyfile(model, staging / MODEL)
            shutil.copyfile(config, staging / CONFIG)
            (staging / LICENCE).write_text(licence + "\n", encoding="utf-8")
            (staging / META).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=1),
                                        encoding="utf-8")
            staging.rename(self.directory / info.id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return info

    def remove(self, voice_id: str) -> VoiceInfo:
        """Uninstall a voice (its folder is renamed away first, then deleted)."""
        info = self.get(voice_id)
        gone = Path(tempfile.mkdtemp(dir=self.directory, prefix=".removing-"))
        (self.directory / info.id).rename(gone / info.id)
        shutil.rmtree(gone, ignore_errors=True)
        return info


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
