"""Loudspeaker hardware behind small interfaces: relay, audio output, mixer; each real driver has a twin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from hardware.audio import AudioOutput, PlayerAudioOutput, PlayResult, SimAudioOutput
from hardware.mixer import AlsaMixer, Mixer, SimMixer
from hardware.relay import GpioRelay, Relay, SimRelay


@dataclass
class Hardware:
    relay: Relay
    audio: AudioOutput
    mixer: Mixer


def build_hardware(
    *,
    mode: str,
    data_dir: Path,
    now: Callable[[], datetime],
    sim_speed: float = 1.0,
    relay_pin: int = 17,
    player: str = "aplay",
    mixer_control: str = "PCM",
    volume: int = 80,
    sim_record: bool = True,
) -> Hardware:
    """Real drivers (mode 'real') or the simulated twins writing under `data_dir` (mode 'sim')."""
    if mode == "sim":
        return Hardware(
            SimRelay(data_dir / "relay.jsonl", now=now),
            SimAudioOutput(data_dir / "played", speed=sim_speed, now=now, record=sim_record),
            SimMixer(data_dir / "mixer.jsonl", volume, now=now),
        )
    if mode == "real":
        return Hardware(GpioRelay(relay_pin), PlayerAudioOutput(player), AlsaMixer(mixer_control, volume))
    raise ValueError(f"hardware.mode {mode!r} must be 'sim' or 'real'")


__all__ = ["AudioOutput", "Hardware", "Mixer", "PlayResult", "Relay", "build_hardware"]
