"""Post-processing with ffmpeg: resample, mono, chime, loudness to target, encode; measure duration."""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path

from tts.errors import AudioProcessingFailed
from tts.settings import TtsSettings

_LUFS = re.compile(r"I:\s+(-?(?:\d+(?:\.\d+)?|inf))\s+LUFS")
# ebur128 prints one line per 100 ms frame at this level; 40 (verbose) keeps them out of stderr.
_EBUR = "ebur128=framelog=40"
_SILENT_LUFS = -60.0
_TOLERANCE_LU = 0.4
_MAX_PASSES = 3
_PROBE_STEPS = (0.0, 1.0, 2.0, 3.5, 5.0)
_MAX_GAIN_DB = 30.0

_CODECS = {
    # LAME's -q 7 encodes speech twice as fast as its default -q 5 with no audible loss at 48 kbit/s.
    "mp3": ["-c:a", "libmp3lame", "-compression_level", "7", "-f", "mp3"],
    # libopus runs at 48 kHz; "voip" tunes it for speech, which is all we send; complexity 5 of 10
    # halves encoding time, inaudibly at 48 kbit/s speech.
    "opus": ["-c:a", "libopus", "-application", "voip", "-compression_level", "5", "-f", "ogg"],
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


def _limiter(settings: TtsSettings, gain: float) -> str:
    limit = 10 ** (settings.true_peak_db / 20)
    gain = max(-_MAX_GAIN_DB, min(_MAX_GAIN_DB, gain))
    return f"volume={gain:.2f}dB,alimiter=limit={limit:.4f}:level=false:latency=true"


def _probe_gain(prepared: Path, measured: float, settings: TtsSettings) -> float:
    """Gain that lands on the target after limiting, found by trying several gains in one decode.

    The limiter shaves peaks and so lowers loudness by an amount that depends on the voice; loudness
    rises monotonically with gain, so we interpolate between the probes that bracket the target.
    """
    base = settings.loudness_lufs - measured
    gains = [base + step for step in _PROBE_STEPS]
    branches = "".join(f"[p{i}]" for i in range(len(gains)))
    graph = f"[0:a]asplit={len(gains)}{branches}"
    for i, gain in enumerate(gains):
        graph += f";[p{i}]{_limiter(settings, gain)},{_EBUR},anullsink"
    stderr = _ffmpeg(settings, ["-i", str(prepared), "-filter_complex", graph, "-f", "null", "-"],
                     "đo độ to")
    # Filters are numbered in graph order: asplit=0, then (volume, alimiter, ebur128, anullsink) each.
    found: dict[int, float] = {}
    for index, body in re.findall(r"\[Parsed_ebur128_(\d+) @ [^\]]+\] Summary:(.*?)LRA:", stderr, re.S):
        found[(int(index) - 3) // 4] = _loudness(body)
    if len(found) != len(gains):
        raise AudioProcessingFailed("không đo được độ to (ebur128)")
    points = [(gains[i], found[i]) for i in range(len(gains))]
    target = settings.loudness_lufs
    for (g1, l1), (g2, l2) in itertools.pairwise(points):
        if l1 <= target <= l2 and l2 > l1:
            return g1 + (target - l1) * (g2 - g1) / (l2 - l1)
    if target < points[0][1]:
        return base + (target - points[0][1])
    g_last, l_last = points[-1]
    return g_last + (target - l_last)


def level_and_encode(prepared: Path, measured: float, out: Path, settings: TtsSettings) -> float:
    """Apply gain and a true-peak-safe limiter, encode; return the loudness of what was encoded.

    Linear gain keeps speech natural (loudnorm's dynamic mode pumps and runs at 192 kHz, 10x slower).
    """
    if measured < _SILENT_LUFS:
        raise AudioProcessingFailed("âm thanh gần như im lặng, bộ đọc không đọc được nội dung")
    gain = _probe_gain(prepared, measured, settings)
    result = measured
    for _ in range(_MAX_PASSES):
        args = ["-i", str(prepared), "-af", f"{_limiter(settings, gain)},{_EBUR}",
                *_CODECS[settings.audio_format]]
        if settings.audio_format != "wav":
            args += ["-b:a", settings.bitrate]
        result = _loudness(_ffmpeg(settings, [*args, str(out)], "chuẩn hoá độ to và mã hoá"))
        miss = settings.loudness_lufs - result
        if abs(miss) <= _TOLERANCE_LU:
            break
        gain += miss
    return result


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
