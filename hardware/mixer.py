"""Volume: ALSA mixer through amixer, and a simulated twin that logs each change."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol


def _check_level(level: int) -> int:
    if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
        raise ValueError(f"volume {level!r} must be a whole number from 0 to 100")
    return level


class Mixer(Protocol):
    @property
    def level(self) -> int: ...

    def set_level(self, level: int) -> None: ...


class SimMixer:
    """Remembers the level and appends each change to `log_path`."""

    def __init__(self, log_path: Path, level: int, *, now: Callable[[], datetime]) -> None:
        self._log = log_path
        self._now = now
        self._level = _check_level(level)

    @property
    def level(self) -> int:
        return self._level

    def set_level(self, level: int) -> None:
        self._level = _check_level(level)
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": self._now().isoformat(), "level": level}) + "\n")


class AlsaMixer:
    """`amixer sset <control> <level>%` on the default card."""

    def __init__(self, control: str, level: int) -> None:
        self._control = control
        self._level = _check_level(level)
        self.set_level(level)

    @property
    def level(self) -> int:
        return self._level

    def set_level(self, level: int) -> None:
        _check_level(level)
        try:
            subprocess.run(
                ["amixer", "-q", "sset", self._control, f"{level}%"],
                check=True,
                capture_output=True,
                timeout=5,
            )
        except FileNotFoundError:
            raise RuntimeError("amixer not found: apt install alsa-utils") from None
        except subprocess.CalledProcessError as exc:
            detail = exc.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"amixer could not set {self._control!r}: {detail}") from None
        self._level = level
