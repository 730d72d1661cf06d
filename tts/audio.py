"""Post-processing with ffmpeg: resample, mono, chime, loudness to target, encode; measure duration."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tts.errors import AudioProcessingFailed
from tts.settings import TtsSettings

_LUFS = re.compile(r"I:\s+(-?(?:\d+(?:\.\d+)?|inf))\s+LUFS")
# ebur128 prints one line per 100 ms frame at this level; 40 (verbose) keeps them out of stderr.
_EBUR = "ebur128=framelog=40"
_SILENT_LUFS = -60.0
_TOLERANCE_LU = 0.3
_MAX_PASSES = 4
_MAX_GAIN_DB = 30.0

_CODECS = {
    "mp3": ["-c:a", "libmp3lame"],
    # libopus runs at 48 kHz only; "voip" tunes it for speech, which is all we send.
    "opus": ["-c:a", "libopus", "-application", "voip", "-f", "ogg"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
}


def _tone(freq: float, start: float, length: float = 0.35) -> str:
    t = f"(t-{start})"
    return f"0.45*sin(2*PI*{freq}*{t})*exp(-7*{t})*between(t,{start},{start + length})"


def chime_source(sample_rate: int, *, rising: bool) -> str:
    """An ffmpeg lavfi source: three-note bell (C5 E5 G5 up for intro, down for outro) and a pause."""
    notes = [523.25, 659.25, 783.99] if rising else [783.99, 659.25, 523.25]
    # The intro ends with a pause before speech; the outro starts with a pause after it.
    offset, length = (0.0, 1.5) if rising else (0.6, 1.9)
    expr = "+".join(_tone(f, round(offset + i * 0.3, 2)) for i, f in enumerate(notes))
    return f"aevalsrc='{expr}':s={sample_rate}:d={length}"


def _ffmpeg(settings: TtsSettings, args: list[str], what: str) -> str:
    cmd = [settings.ffmpeg_binary, "-hide_banner", "-nostdin", "-nostats", "-y", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=settings.subprocess_timeout_s, check=False)
    except FileNotFoundError:
        raise AudioProcessingFailed(f"không tìm thấy {settings.ffmpeg_binary}") from None
    except subprocess.TimeoutExpired:
        raise AudioProcessingFailed(f"{what} quá {settings.subprocess_timeout_s:g} giây") from None
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        raise AudioProcessingFailed(f"{what}: {lines[-1] if lines else proc.returncode}")
    return stderr


def _loudness(stderr: str) -> float:
    found = _LUFS.findall(stderr)
    if not found:
        raise AudioProcessingFailed("không đo được độ to (ebur128)")
    value = found[-1]
    return float("-inf") if value.endswith("inf") else float(value)


def _layout(settings: TtsSettings) -> str:
    return "mono" if settings.channels == 1 else "stereo"


def prepare(raw: Path, out: Path, settings: TtsSettings) -> float:
    """Decode, resample, set channels, add chimes; write PCM WAV and return its integrated LUFS."""
    fmt = f"aresample={settings.sample_rate},aformat=sample_fmts=s16:channel_layouts={_layout(settings)}"
    args = ["-i", str(raw)]
    if settings.chime:
        args += ["-f", "lavfi", "-i", chime_source(settings.sample_rate, rising=True),
                 "-f", "lavfi", "-i", chime_source(settings.sample_rate, rising=False)]
        graph = (f"[0:a]{fmt}[s];[1:a]{fmt}[i];[2:a]{fmt}[o];"
                 f"[i][s][o]concat=n=3:v=0:a=1,{_EBUR}[out]")
        args += ["-filter_complex", graph, "-map", "[out]"]
    else:
        args += ["-vn", "-af", f"{fmt},{_EBUR}"]
    args += ["-c:a", "pcm_s16le", "-f", "wav", str(out)]
    return _loudness(_ffmpeg(settings, args, "chuẩn bị âm thanh"))


def level(prepared: Path, measured: float, out: Path, settings: TtsSettings) -> float:
    """Bring loudness to target with gain plus a true-peak-safe limiter; return the final LUFS.

    Linear gain keeps speech natural (loudnorm's dynamic mode pumps and runs at 192 kHz, 10x slower);
    the limiter shaves peaks, which lowers loudness a little, so we re-measure and correct.
    """
    if measured < _SILENT_LUFS:
        raise AudioProcessingFailed("âm thanh gần như im lặng, bộ đọc không đọc được nội dung")
    limit = 10 ** (settings.true_peak_db / 20)
    gain = settings.loudness_lufs - measured
    result = measured
    for _ in range(_MAX_PASSES):
        gain = max(-_MAX_GAIN_DB, min(_MAX_GAIN_DB, gain))
        chain = f"volume={gain:.2f}dB,alimiter=limit={limit:.4f}:level=false:latency=true,{_EBUR}"
        stderr = _ffmpeg(settings, ["-i", str(prepared), "-af", chain, "-c:a", "pcm_s16le", "-f", "wav",
                                    str(out)], "chuẩn hoá độ to")
        result = _loudness(stderr)
        miss = settings.loudness_lufs - result
        if abs(miss) <= _TOLERANCE_LU:
            break
        gain += miss
    return result


def encode(leveled: Path, out: Path, settings: TtsSettings) -> None:
    """Encode the levelled PCM to the configured format and bitrate."""
    args = ["-i", str(leveled), *_CODECS[settings.audio_format]]
    if settings.audio_format != "wav":
        args += ["-b:a", settings.bitrate]
    if settings.audio_format == "mp3":
        args += ["-f", "mp3"]
    _ffmpeg(settings, [*args, str(out)], "mã hoá âm thanh")


def duration_ms(path: Path, settings: TtsSettings) -> int:
    """Duration of an encoded file, measured by ffprobe."""
    cmd = [settings.ffprobe_binary, "-v", "error", "-show_entries", "format=duration",
           "-of", "default=noprint_wrappers=1:nokey=1", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=30, check=False)
    except FileNotFoundError:
        raise AudioProcessingFailed(f"không tìm thấy {settings.ffprobe_binary}") from None
    except subprocess.TimeoutExpired:
        raise AudioProcessingFailed("ffprobe quá 30 giây") from None
    try:
        return round(float(proc.stdout.decode().strip()) * 1000)
    except ValueError:
        raise AudioProcessingFailed(f"không đo được thời lượng của {path.name}") from None
