"""A tiny Piper-format voice the suite builds itself (a few KB): real ONNX, real onnxruntime, real ids.

The graph has Piper's inputs (`input` int64 [1, n], `input_lengths` int64 [1], `scales` float32 [3])
and output (float32 [1, 1, samples]): each phoneme id becomes SAMPLES_PER_ID samples of a tone whose
pitch depends on the id, scaled by noise_scale. Deterministic, so its length is known from the ids.
It is not a voice anyone could understand; it makes loading and synthesis real without a 60 MB file.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SAMPLE_RATE = 22050
SAMPLES_PER_ID = 512
SAMPLE_TEXT = ("Thông báo của Ủy ban nhân dân xã về phòng chống lụt bão, mọi người dân chú ý "
               "nghe rõ, đến đúng giờ, xin cảm ơn. Một hai ba bốn năm sáu bảy tám chín mười.")


def _model(*, input_name: str = "input", input_type: int = TensorProto.INT64) -> onnx.ModelProto:
    ramp = (2 * math.pi * np.arange(SAMPLES_PER_ID, dtype=np.float32) / SAMPLE_RATE).reshape(1, -1)
    inits = [
        numpy_helper.from_array(ramp.astype(np.float32), "ramp"),
        numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "col"),
        numpy_helper.from_array(np.array([1, 1, -1], dtype=np.int64), "flat"),
        numpy_helper.from_array(np.array([5.0], dtype=np.float32), "hz_per_id"),
        numpy_helper.from_array(np.array([120.0], dtype=np.float32), "base_hz"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "first"),
    ]
    nodes = [
        helper.make_node("Cast", [input_name], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("Reshape", ["ids_f", "col"], ["ids_col"]),
        helper.make_node("Mul", ["ids_col", "hz_per_id"], ["hz_part"]),
        helper.make_node("Add", ["hz_part", "base_hz"], ["hz"]),
        helper.make_node("Mul", ["hz", "ramp"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["tone"]),
        helper.make_node("Gather", ["scales", "first"], ["noise_scale"], axis=0),
        helper.make_node("Mul", ["tone", "noise_scale"], ["loud"]),
        helper.make_node("Reshape", ["loud", "flat"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_piper",
        [helper.make_tensor_value_info(input_name, input_type, [1, "phonemes"]),
         helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
         helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "samples"])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="nguon-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def phoneme_map(espeak_voice: str = "vi") -> dict[str, list[int]]:
    """PAD/BOS/EOS/space plus every phoneme espeak-ng gives for SAMPLE_TEXT, numbered in sorted order."""
    import unicodedata  # noqa: PLC0415 - only here

    out = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", espeak_voice, "--stdin"],
                         input=SAMPLE_TEXT.encode(), capture_output=True, timeout=30, check=True).stdout
    chars = sorted(set(unicodedata.normalize("NFD", out.decode())) - {"\n", " ", "_", "^", "$"})
    ids = {"_": [0], "^": [1], "$": [2], " ": [3]}
    ids.update({ch: [4 + i] for i, ch in enumerate(chars)})
    return ids


def config(*, language: str = "vi", espeak_voice: str = "vi", speakers: int = 1) -> dict[str, object]:
    return {
        "dataset": "nguon-tiny", "audio": {"sample_rate": SAMPLE_RATE, "quality": "x_low"},
        "espeak": {"voice": espeak_voice}, "language": {"code": language},
        "inference": {"noise_scale": 0.5, "length_scale": 1.0, "noise_w": 0.8},
        "phoneme_type": "espeak", "phoneme_id_map": phoneme_map(espeak_voice), "num_speakers": speakers,
        "speaker_id_map": {}, "piper_version": "1.0.0",
    }


def write(folder: Path, name: str = "vi_VN-tiny-x_low", *, cfg: dict[str, object] | None = None,
          model: onnx.ModelProto | None = None, licence: bool = True) -> Path:
    """Write NAME.onnx, NAME.onnx.json and LICENSE into `folder`; return the model's path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    path.write_bytes((model or _model()).SerializeToString())
    text = json.dumps(cfg or config(), ensure_ascii=False)
    (folder / f"{name}.onnx.json").write_text(text, encoding="utf-8")
    if licence:
        (folder / "LICENSE").write_text("CC0 1.0 Universal: the nguon test suite's tiny voice.\n",
                                        encoding="utf-8")
    return path


def wrong_inputs_model() -> onnx.ModelProto:
    """Valid ONNX, but its first input is not Piper's `input`."""
    return _model(input_name="text")


def wrong_types_model() -> onnx.ModelProto:
    """Piper's input names, but `input` is float: loads, fails on real ids."""
    return _model(input_type=TensorProto.FLOAT)
