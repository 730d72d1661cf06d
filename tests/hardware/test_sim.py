"""Simulated twins record what they did; the silence check notices a dead feed."""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from hardware import build_hardware
from hardware.audio import player_command
from hardware.health import is_silent


def _now() -> datetime:
    return datetime.now(UTC)


def _wav(path: Path, src: str) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            src,
            "-ac",
            "1",
            "-ar",
            "16000",
            str(path),
        ],
        check=True,
        timeout=30,
    )
    return path


async def test_sim_audio_plays_cancels_and_keeps_copies(tmp_path: Path) -> None:
    hw = build_hardware(mode="sim", data_dir=tmp_path, now=_now, sim_speed=20)
    tone = _wav(tmp_path / "tone.wav", "sine=frequency=440:duration=4")
    result = await hw.audio.play(tone, offset_ms=1000, duration_ms=4000, label="tin/1")
    assert result.completed and result.played_ms == 3000 and not result.silent
    task = asyncio.create_task(hw.audio.play(tone, offset_ms=0, duration_ms=4000, label="tin-2"))
    for _ in range(100):  # decoding comes first; wait (bounded) until it is 'playing'
        if hw.audio.position_ms() > 500:
            break
        await asyncio.sleep(0.02)
    pos = hw.audio.position_ms()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert 500 < pos < 4000
    index = [json.loads(x) for x in (tmp_path / "played" / "index.jsonl").read_text().splitlines()]
    assert [r["completed"] for r in index] == [True, False] and index[0]["offset_ms"] == 1000
    assert len(list((tmp_path / "played").glob("*.wav"))) == 2
    silent = _wav(tmp_path / "silence.wav", "anullsrc=r=16000:cl=mono:d=1")
    assert is_silent(silent) and not is_silent(tone)
    broken = tmp_path / "broken.mp3"
    broken.write_bytes(b"not audio")
    bad = await hw.audio.play(broken, offset_ms=0, duration_ms=1000, label="x")
    assert not bad.completed and bad.error


def test_sim_relay_and_mixer_log(tmp_path: Path) -> None:
    hw = build_hardware(mode="sim", data_dir=tmp_path, now=_now)
    hw.relay.set(True, reason="a")
    hw.relay.set(True, reason="again")
    hw.relay.close()
    hw.mixer.set_level(55)
    log = [json.loads(x) for x in (tmp_path / "relay.jsonl").read_text().splitlines()]
    assert [r["on"] for r in log] == [True, False]
    assert hw.mixer.level == 55 and "55" in (tmp_path / "mixer.jsonl").read_text()


def test_player_commands_support_offsets() -> None:
    assert "--start=1.500" in player_command("mpv", Path("a.mp3"), 1500)[0]
    aplay = player_command("aplay", Path("a.mp3"), 2000)
    assert aplay[0][0] == "ffmpeg" and "2.000" in aplay[0] and aplay[1][0] == "aplay"
