"""The LED panel behind the player page: power and brightness, with a simulated twin that records.

The picture itself comes from the kiosk browser over HDMI; what a driver can control is the panel's
power and brightness. Most LED walls take those from their sending card's own software, so the real
driver runs commands the installer configures (or, if present, `vcgencmd` for HDMI power on a
Raspberry Pi and `ddcutil` for DDC/CI brightness) and says plainly when it can do neither.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from protocol.clock import Clock, SystemClock, to_iso

log = logging.getLogger(__name__)
COMMAND_TIMEOUT_S = 5.0


class DisplayPanel(ABC):
    """A board's panel. Subclasses MUST implement power and brightness; `record_frame` MAY be a no-op."""

    @abstractmethod
    def set_power(self, on: bool) -> None:
        """Switch the panel on or off (the player keeps running either way)."""

    @abstractmethod
    def set_brightness(self, percent: int) -> None:
        """Set brightness 0-100."""

    def record_frame(self, frame: dict[str, Any]) -> None:  # noqa: B027 - optional hook, no-op by default
        """Told each time the player page switches to a new screen (what is shown)."""


def _check_percent(percent: int) -> int:
    if not 0 <= percent <= 100:
        raise ValueError(f"brightness {percent} is outside 0-100")
    return int(percent)


@dataclass
class CommandDisplayPanel(DisplayPanel):
    """Real panel control through shell-free commands; `{percent}` is replaced in the brightness command.

    e.g. power_on=["vcgencmd", "display_power", "1"], brightness=["ddcutil", "setvcp", "10", "{percent}"].
    A command left empty means the hardware cannot do it: the call is logged once and ignored.
    """

    power_on: list[str] = field(default_factory=list)
    power_off: list[str] = field(default_factory=list)
    brightness: list[str] = field(default_factory=list)
    timeout_s: float = COMMAND_TIMEOUT_S
    _warned: set[str] = field(default_factory=set)

    @classmethod
    def detect(cls) -> CommandDisplayPanel:
        """Use what this machine has: vcgencmd (Raspberry Pi HDMI power), ddcutil (DDC/CI brightness)."""
        panel = cls()
        if shutil.which("vcgencmd"):
            panel.power_on, panel.power_off = (
                ["vcgencmd", "display_power", "1"],
                ["vcgencmd", "display_power", "0"],
            )
        if shutil.which("ddcutil"):
            panel.brightness = ["ddcutil", "setvcp", "10", "{percent}"]
        return panel

    def set_power(self, on: bool) -> None:
        self._run("power", self.power_on if on else self.power_off, {})

    def set_brightness(self, percent: int) -> None:
        self._run("brightness", self.brightness, {"percent": str(_check_percent(percent))})

    def _run(self, what: str, template: list[str], values: dict[str, str]) -> None:
        if not template:
            if what not in self._warned:
                self._warned.add(what)
                log.warning("LED panel %s control is not configured on this device; ignoring", what)
            return
        argv = [part.format(**values) for part in template]
        try:
            subprocess.run(argv, check=True, timeout=self.timeout_s, capture_output=True)
        except (OSError, subprocess.SubprocessError) as exc:
            log.error("LED panel %s command %s failed: %s", what, argv, exc)


class SimDisplayPanel(DisplayPanel):
    """Simulated panel: remembers and appends to `<data_dir>/display.jsonl` every action and frame."""

    def __init__(self, data_dir: Path, *, clock: Clock | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock or SystemClock()
        self.power: bool | None = None
        self.brightness: int | None = None
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # the board may call from a worker thread

    @property
    def log_path(self) -> Path:
        return self.data_dir / "display.jsonl"

    @property
    def frames(self) -> list[dict[str, Any]]:
        return [r["frame"] for r in self.records if r["action"] == "frame"]

    def set_power(self, on: bool) -> None:
        self.power = on
        self._record({"action": "power", "on": on})

    def set_brightness(self, percent: int) -> None:
        self.brightness = _check_percent(percent)
        self._record({"action": "brightness", "percent": self.brightness})

    def record_frame(self, frame: dict[str, Any]) -> None:
        self._record({"action": "frame", "frame": frame})

    def save_screenshot(self, png: bytes, name: str) -> Path:
        """Keep a PNG of what the page showed under `<data_dir>/screenshots/<name>.png`."""
        if not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"screenshot name {name!r}: use letters, digits, '-' and '_' only")
        path = self.data_dir / "screenshots" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        self._record({"action": "screenshot", "path": str(path)})
        return path

    def _record(self, entry: dict[str, Any]) -> None:
        entry = {"at": to_iso(self.clock.now()), **entry}
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            self.records.append(entry)
            self.data_dir.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")


def make_display_panel(mode: str, data_dir: Path, *, clock: Clock | None = None) -> DisplayPanel:
    """`sim` -> SimDisplayPanel under data_dir; `real` -> CommandDisplayPanel.detect()."""
    if mode == "sim":
        return SimDisplayPanel(data_dir, clock=clock)
    if mode == "real":
        return CommandDisplayPanel.detect()
    raise ValueError(f"hardware.mode is {mode!r}; use 'sim' or 'real'")
