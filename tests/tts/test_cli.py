"""The `python -m tts` command line, run as a real subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import measure


def run(args: list[str], tmp_path: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NGUON_TTS_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "tts", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=60, check=False)


def test_normalize_prints_words(tmp_path: Path) -> None:
    proc = run(["normalize", "UBND xã họp lúc 17h30 ngày 20/12/2024"], tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == ("ủy ban nhân dân xã họp lúc mười bảy giờ ba mươi phút ngày hai mươi "
                                   "tháng mười hai năm hai nghìn không trăm hai mươi tư.")


def test_normalize_reads_stdin(tmp_path: Path) -> None:
    proc = run(["normalize", "-"], tmp_path, stdin="thứ 4")
    assert proc.stdout.strip() == "thứ tư."


@pytest.mark.parametrize(("suffix", "codec"), [(".wav", "pcm_s16le"), (".mp3", "mp3"), (".opus", "opus")])
def test_say_format_follows_extension(tmp_path: Path, suffix: str, codec: str) -> None:
    out = tmp_path / f"ban-tin{suffix}"
    proc = run(["say", "Xin chào bà con thôn 3.", "-o", str(out), "--voice", "central"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
                            str(out)], capture_output=True, text=True, timeout=10, check=True)
    assert probe.stdout.strip() == codec
    assert abs(measure(out)[0] - -16.0) <= 1.0
    assert "espeak-ng" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["say", "Xin chào", "-o", "x.flac"], "đuôi .wav"),
        (["say", "   ", "-o", "x.mp3"], "trống"),
        (["say", "Xin chào", "-o", "x.mp3", "--engine", "festival"], "festival"),
        (["say", "Xin chào", "-o", "x.mp3", "--voice", "hue"], "hue"),
        (["say", "Xin chào", "-o", "/khong/co/x.mp3"], "không tồn tại"),
        (["normalize", "漢字"], "không đọc được"),
        (["batch", "/khong/co"], "không phải thư mục"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(tmp_path / a) if a in {"x.flac", "x.mp3"} else a for a in args]
    proc = run(args, tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and message.lower() in proc.stderr.lower()
    assert not list(tmp_path.glob("x.*"))


def test_batch_writes_audio_next_to_each_text(tmp_path: Path) -> None:
    folder = tmp_path / "ban-tin"
    folder.mkdir()
    (folder / "sang.txt").write_text("Bản tin sáng thứ 2.", encoding="utf-8")
    (folder / "chieu.txt").write_text("Bản tin chiều lúc 17h.", encoding="utf-8")
    (folder / "hong.txt").write_bytes(b"\xff\xfe\xfa")
    proc = run(["batch", str(folder), "--format", "opus"], tmp_path)
    assert proc.returncode == 1  # one file was bad, the others were still made
    assert (folder / "sang.ogg").exists() and (folder / "chieu.ogg").exists()
    assert not (folder / "hong.ogg").exists()
    assert "3/3" in proc.stderr and "hong.txt" in proc.stderr and "UTF-8" in proc.stderr
