"""Audio output: a player subprocess on ALSA (real), and a twin that 'plays' by waiting and keeps a WAV copy.

Both MUST stop at once when the task awaiting `play` is cancelled (an emergency preempts), and MUST report
how far they got through `position_ms()` so an interrupted item can be resumed at its offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from hardware.health import alsa_playback_running, is_silent

PLAYERS = ("aplay", "ffplay", "mpv")


@dataclass(frozen=True)
class PlayResult:
    completed: bool
    played_ms: int  # media time actually played, from the offset
    error: str | None = None
    silent: bool = False


class AudioOutput(Protocol):
    async def play(self, path: Path, *, offset_ms: int, duration_ms: int, label: str) -> PlayResult: ...

    def position_ms(self) -> int: ...

    async def aclose(self) -> None: ...


async def _ffmpeg_wav(src: Path, dst: Path, *, offset_ms: int, length_ms: int | None) -> str | None:
    """Decode `src` from offset into a mono 16 kHz 16-bit WAV; returns an error text or None."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{offset_ms / 1000:.3f}", "-i", str(src)]
    if length_ms is not None:
        cmd += ["-t", f"{length_ms / 1000:.3f}"]
    cmd += ["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(dst)]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return "ffmpeg took longer than 60 s to decode"
    if proc.returncode != 0:
        return f"cannot decode {src.name}: {err.decode(errors='replace').strip()[-300:]}"
    return None


def _truncate_wav(path: Path, keep_ms: int) -> None:
    with wave.open(str(path), "rb") as src:
        params = src.getparams()
        frames = src.readframes(int(params.framerate * keep_ms / 1000))
    with wave.open(str(path), "wb") as dst:
        dst.setparams(params)
        dst.writeframes(frames)


class SimAudioOutput:
    """Plays by waiting (duration - offset) / speed; keeps what it 'played' as WAV in `played_dir`.

    record=False skips the WAV copy (an ffmpeg decode per play): for benches hosting hundreds of twins on
    one machine, where that decode would stand for work each real device does on its own CPU.
    """

    def __init__(
        self, played_dir: Path, *, speed: float, now: Callable[[], datetime], record: bool = True
    ) -> None:
        if speed <= 0:
            raise ValueError("sim_speed must be above 0")
        self._dir = played_dir
        self._speed = speed
        self._now = now
        self._record = record
        self._started: float | None = None
        self._offset = 0
        self._count = 0
        played_dir.mkdir(parents=True, exist_ok=True)

    def position_ms(self) -> int:
        if self._started is None:
            return 0
        return self._offset + int((time.monotonic() - self._started) * 1000 * self._speed)

    async def play(self, path: Path, *, offset_ms: int, duration_ms: int, label: str) -> PlayResult:
        self._count += 1
        stamp = self._now().strftime("%Y%m%dT%H%M%S")
        safe = re.sub(r"[^0-9A-Za-z_.-]", "_", label)[:60]
        out = self._dir / f"{stamp}-{os.getpid()}-{self._count:04d}-{safe}.wav"
        length = max(duration_ms - offset_ms, 0)
        error = await _ffmpeg_wav(path, out, offset_ms=offset_ms, length_ms=length) if self._record else None
        started_at = self._now()
        record = {
            "file": out.name if self._record else None,
            "source": path.name,
            "label": label,
            "started_at": started_at.isoformat(),
            "offset_ms": offset_ms,
        }
        if error:
            out.unlink(missing_ok=True)
            self._log({**record, "error": error})
            return PlayResult(False, 0, error=error)
        silent = is_silent(out) if self._record else False
        self._offset, self._started = offset_ms, time.monotonic()
        try:
            await asyncio.sleep(length / 1000 / self._speed)
        except asyncio.CancelledError:
            played = max(self.position_ms() - offset_ms, 0)
            if self._record:
                _truncate_wav(out, played)
            self._log(
                {**record, "stopped_at": self._now().isoformat(), "played_ms": played, "completed": False}
            )
            raise
        finally:
            self._started = None
        self._log(
            {
                **record,
                "stopped_at": self._now().isoformat(),
                "played_ms": length,
                "completed": True,
                "silent": silent,
            }
        )
        return PlayResult(True, length, silent=silent)

    def _log(self, record: dict[str, object]) -> None:
        with (self._dir / "index.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    async def aclose(self) -> None:
        return None


def player_command(player: str, path: Path, offset_ms: int) -> list[list[str]]:
    """The process pipeline for `player`; aplay cannot seek or decode MP3, so ffmpeg feeds it WAV."""
    offset_s = f"{offset_ms / 1000:.3f}"
    if player == "mpv":
        return [["mpv", "--no-video", "--really-quiet", f"--start={offset_s}", str(path)]]
    if player == "ffplay":
        return [["ffplay", "-nodisp", "-autoexit", "-loglevel", "error", "-ss", offset_s, str(path)]]
    if player == "aplay":
        return [
            ["ffmpeg", "-nostdin", "-v", "error", "-ss", offset_s, "-i", str(path), "-f", "wav", "-"],
            ["aplay", "-q", "-"],
        ]
    raise ValueError(f"player {player!r} must be one of {', '.join(PLAYERS)}")


class PlayerAudioOutput:
    """Plays through a player subprocess on the default ALSA device; watches that it lives and sounds."""

    def __init__(self, player: str) -> None:
        player_command(player, Path("x"), 0)  # validates the name early
        self._player = player
        self._started: float | None = None
        self._offset = 0

    def position_ms(self) -> int:
        if self._started is None:
            return 0
        return self._offset + int((time.monotonic() - self._started) * 1000)

    # PLR0912: each way a player pipeline can end (done, died, silent, cancelled) is handled where it happens.
    async def play(  # noqa: PLR0912
        self, path: Path, *, offset_ms: int, duration_ms: int, label: str
    ) -> PlayResult:
        stages = player_command(self._player, path, offset_ms)
        procs: list[asyncio.subprocess.Process] = []
        try:
            if len(stages) == 1:
                procs.append(
                    await asyncio.create_subprocess_exec(
                        *stages[0],
                        stdin=asyncio.subprocess.DEVNULL,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.PIPE,
                    )
                )
            else:
                read_fd, write_fd = os.pipe()
                try:
                    procs.append(
                        await asyncio.create_subprocess_exec(
                            *stages[0],
                            stdin=asyncio.subprocess.DEVNULL,
                            stdout=write_fd,
                            stderr=asyncio.subprocess.PIPE,
                        )
                    )
                    procs.append(
                        await asyncio.create_subprocess_exec(
                            *stages[1],
                            stdin=read_fd,
                            stdout=asyncio.subprocess.DEVNULL,
                            stderr=asyncio.subprocess.PIPE,
                        )
                    )
                finally:
                    os.close(read_fd)
                    os.close(write_fd)
        except FileNotFoundError as exc:
            return PlayResult(False, 0, error=f"player not installed: {exc.filename}")
        self._offset, self._started = offset_ms, time.monotonic()
        silent = False
        try:
            last = procs[-1]
            # Health: a couple of seconds in, ALSA should be running; if not, the output is silent.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(last.wait()), timeout=3)
            if last.returncode is None and alsa_playback_running() is False:
                silent = True
            await asyncio.wait_for(last.wait(), timeout=duration_ms / 1000 + 30)
            played = self.position_ms() - offset_ms
            codes = [await p.wait() for p in procs]
            if any(codes):
                err = b""
                for p in procs:
                    if p.stderr is not None:
                        err += await p.stderr.read()
                return PlayResult(
                    False,
                    played,
                    error=f"player exited with {codes}: {err.decode(errors='replace').strip()[-300:]}",
                )
            return PlayResult(True, played, silent=silent)
        except TimeoutError:
            return PlayResult(False, self.position_ms() - offset_ms, error="player hung past the item's end")
        finally:
            self._started = None
            for p in procs:
                if p.returncode is None:
                    p.terminate()
            for p in procs:
                try:
                    await asyncio.wait_for(p.wait(), timeout=1)
                except TimeoutError:
                    p.kill()

    async def aclose(self) -> None:
        return None
