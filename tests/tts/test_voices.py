"""Neural voices: installing (checked), listing, removing, speaking with the suite's tiny Piper voice,
and espeak-ng taking over when a voice fails."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import pytest

from tests.tts import tiny_voice
from tts import Synthesizer, TtsSettings
from tts.__main__ import main
from tts.errors import BadVoice
from tts.piper import phoneme_ids, phonemize, pieces
from tts.voices import VoiceStore

TEXT = "Thôn ba họp lúc tám giờ sáng. Mọi người đến đúng giờ."


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny voice as an operator would have it: NAME.onnx, NAME.onnx.json, LICENSE."""
    return tiny_voice.write(tmp_path_factory.mktemp("voice-src"))


@pytest.fixture
def store(tmp_path: Path) -> VoiceStore:
    return VoiceStore(tmp_path / "voices", max_model_mb=1)


def _left(store: VoiceStore) -> list[str]:
    return sorted(p.name for p in store.directory.iterdir()) if store.directory.exists() else []


def test_cli_adds_lists_and_removes(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    voices = str(tmp_path / "voices")
    assert main(["voice", "list", "--voices-dir", voices]) == 0
    assert "Chưa cài giọng nào" in capsys.readouterr().out
    assert main(["voice", "add", str(source), "--voices-dir", voices, "--name", "Giọng thử",
                 "--region", "south"]) == 0
    assert "Đã cài giọng vi_VN-tiny-x_low (Giọng thử (miền Nam)" in capsys.readouterr().out
    folder = tmp_path / "voices" / "vi_VN-tiny-x_low"
    assert sorted(p.name for p in folder.iterdir()) == ["LICENCE.txt", "model.onnx", "model.onnx.json",
                                                         "voice.json"]
    assert (folder / "model.onnx").read_bytes() == source.read_bytes()
    assert "CC0" in (folder / "LICENCE.txt").read_text(encoding="utf-8")
    assert main(["voice", "list", "--voices-dir", voices]) == 0
    listed = capsys.readouterr().out
    assert "vi_VN-tiny-x_low\tGiọng thử (miền Nam)\tvi\t22050 Hz" in listed and "CC0" in listed
    # the same voice twice is refused, the first one stays
    assert main(["voice", "add", str(source), "--voices-dir", voices]) == 2
    assert "đã có giọng 'vi_VN-tiny-x_low'" in capsys.readouterr().err
    assert main(["voice", "remove", "vi_VN-tiny-x_low", "--voices-dir", voices]) == 0
    assert not folder.exists() and not list((tmp_path / "voices").iterdir())
    assert main(["voice", "remove", "vi_VN-tiny-x_low", "--voices-dir", voices]) == 2
    assert "chưa cài giọng nào" in capsys.readouterr().err


def _hostile(source: Path, tmp: Path, case: str) -> tuple[Path, dict[str, object]]:
    """A bad voice in `tmp`, and the keyword arguments for VoiceStore.add."""
    folder = tmp / case
    cfg = tiny_voice.config()
    if case == "not_onnx":
        model = tiny_voice.write(folder)
        model.write_bytes(b"\x00GIF89a not a model at all" * 40)
    elif case == "wrong_inputs":
        model = tiny_voice.write(folder, model=tiny_voice.wrong_inputs_model())
    elif case == "wrong_types":
        model = tiny_voice.write(folder, model=tiny_voice.wrong_types_model())
    elif case == "missing_config":
        model = tiny_voice.write(folder)
        model.with_name(model.name + ".json").unlink()
    elif case == "too_big":
        model = tiny_voice.write(folder)
        with model.open("ab") as fh:
            fh.truncate(2 * 1024 * 1024)  # over the store's 1 MB
    elif case == "bad_json":
        model = tiny_voice.write(folder)
        model.with_name(model.name + ".json").write_text('{"audio": {"sample_rate": 22050', encoding="utf-8")
    elif case == "no_id_map":
        cfg["phoneme_id_map"] = {"_": [0], "^": [1], "$": [2]}
        model = tiny_voice.write(folder, cfg=cfg)
    elif case == "english":
        cfg["language"] = {"code": "en_US"}
        model = tiny_voice.write(folder, cfg=cfg)
    elif case == "no_licence":
        model = tiny_voice.write(folder, licence=False)
    else:  # a voice id that would escape the directory
        model = tiny_voice.write(folder)
        return model, {"voice_id": "../escape"}
    return model, {}


@pytest.mark.parametrize(("case", "message"), [
    ("not_onnx", "không phải mô hình ONNX"),
    ("wrong_inputs", "thiếu đầu vào input"),
    ("wrong_types", "không đọc được câu thử"),
    ("missing_config", "thiếu tệp cấu hình"),
    ("too_big", "vượt giới hạn 1 MB"),
    ("bad_json", "không phải JSON"),
    ("no_id_map", "không có âm vị tiếng Việt"),
    ("english", "ngôn ngữ 'en_US'"),
    ("no_licence", "--licence"),
    ("bad_id", "chỉ được dùng chữ"),
])
def test_hostile_voice_files_are_refused_and_leave_nothing(
        source: Path, store: VoiceStore, tmp_path: Path, case: str, message: str) -> None:
    model, kwargs = _hostile(source, tmp_path / "bad", case)
    with pytest.raises(BadVoice, match=message):
        store.add(model, **kwargs)  # type: ignore[arg-type]
    assert _left(store) == []
    assert not (tmp_path / "escape").exists()


@pytest.fixture
def installed(source: Path, store: VoiceStore) -> VoiceStore:
    store.max_model_bytes = 10 * 1024 * 1024
    store.add(source, name="Giọng thử", region="south")
    return store


def test_speaks_with_the_voice_for_as_long_as_its_ids(installed: VoiceStore, tmp_path: Path) -> None:
    synth = Synthesizer(TtsSettings(voices_dir=installed.directory, audio_format="wav"), tmp_path / "cache")
    result = synth.synthesize(TEXT, neural_voice="vi_VN-tiny-x_low")
    assert (result.engine, result.voice, result.engines_tried) == ("piper", "vi_VN-tiny-x_low", [])
    # the tiny model gives SAMPLES_PER_ID samples per id: the expected length follows from Piper's ids
    config = json.loads(installed.paths("vi_VN-tiny-x_low")[1].read_text(encoding="utf-8"))
    clauses = phonemize(synth.normalize(TEXT), "vi", binary="espeak-ng", timeout=30)
    ids = sum(len(phoneme_ids(c, config["phoneme_id_map"])) for c in clauses)
    expected_ms = 1000 * (ids * tiny_voice.SAMPLES_PER_ID / tiny_voice.SAMPLE_RATE + 0.2 * len(clauses))
    assert ids > 60 and abs(result.duration_ms - expected_ms) < 120, (result.duration_ms, expected_ms)
    with wave.open(str(result.path)) as fh:
        assert fh.getframerate() == 22050 and fh.getnframes() > 22050


def test_cache_key_holds_the_voice_and_its_model(installed: VoiceStore, source: Path, tmp_path: Path) -> None:
    synth = Synthesizer(TtsSettings(voices_dir=installed.directory, audio_format="wav"), tmp_path / "cache")
    neural = synth.synthesize(TEXT, neural_voice="vi_VN-tiny-x_low")
    plain = synth.synthesize(TEXT, engine="espeak-ng", neural_voice="")
    assert plain.engine == "espeak-ng" and plain.path != neural.path
    assert synth.synthesize(TEXT, neural_voice="vi_VN-tiny-x_low").cached
    # the same files under another id are another voice; a new model under the same id is not a cache hit
    installed.add(source, voice_id="other")
    assert synth.synthesize(TEXT, neural_voice="other").path != neural.path
    installed.remove("vi_VN-tiny-x_low")
    cfg = tiny_voice.config()
    cfg["inference"] = {"noise_scale": 0.25, "length_scale": 1.0, "noise_w": 0.8}
    installed.add(tiny_voice.write(tmp_path / "v2", cfg=cfg))  # same model bytes, another config
    again = synth.synthesize(TEXT, neural_voice="vi_VN-tiny-x_low")
    assert again.engine == "piper" and not again.cached and again.path != neural.path


def test_a_broken_or_removed_voice_falls_back_to_espeak_in_its_region(installed: VoiceStore,
                                                                      tmp_path: Path) -> None:
    synth = Synthesizer(TtsSettings(voices_dir=installed.directory, audio_format="wav"), tmp_path / "cache")
    (installed.directory / "vi_VN-tiny-x_low" / "model.onnx").write_bytes(b"broken on disk")
    result = synth.synthesize(TEXT, neural_voice="vi_VN-tiny-x_low")
    assert result.engine == "espeak-ng" and result.voice == "vi-vn-x-south"  # the voice's region
    assert result.engines_tried[0][0] == "piper" and "ONNX" in result.engines_tried[0][1]
    installed.remove("vi_VN-tiny-x_low")
    gone = synth.synthesize("Một câu khác.", neural_voice="vi_VN-tiny-x_low")
    assert gone.engine == "espeak-ng" and "chưa cài giọng nào" in gone.engines_tried[0][1]


def test_a_clause_too_long_for_one_run_is_spoken_in_pieces_between_words() -> None:
    clause = " ".join(["mˈo6t̪", "hˈaː1j", "bˈaː1"] * 200)  # ~2,600 phonemes, no punctuation
    cut = pieces(clause, 100)
    assert all(len(p) <= 100 for p in cut) and " ".join(cut) == clause
    assert pieces("a" * 250, 100) == ["a" * 100, "a" * 100, "a" * 50]
    assert pieces("", 100) == [] and pieces("xin chào", 100) == ["xin chào"]
