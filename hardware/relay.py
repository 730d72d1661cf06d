"""Amplifier relay: the interface, the GPIO driver and the simulated twin that logs every switch."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


class Relay(Protocol):
    """Switches the loudspeaker amplifier's power. MUST be safe to call `set` with the current state."""

    @property
    def is_on(self) -> bool: ...

    def set(self, on: bool, *, reason: str) -> None: ...

    def close(self) -> None: ...


class SimRelay:
    """Records each switch as a JSON line in `log_path` (tests and the demo read it)."""

    def __init__(self, log_path: Path, *, now: Callable[[], datetime]) -> None:
        self._log = log_path
        self._now = now
        self._on = False
        log_path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def is_on(self) -> bool:
        return self._on

    def set(self, on: bool, *, reason: str) -> None:
        if on == self._on:
            return
        self._on = on
        with self._log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": self._now().isoformat(), "on": on, "reason": reason}) + "\n")

    def close(self) -> None:
        self.set(False, reason="shutdown")


class GpioRelay:
    """A relay on a Raspberry Pi GPIO pin (BCM numbering) through gpiozero, or lgpio if gpiozero is absent."""

    def __init__(self, pin: int, *, active_high: bool = True) -> None:
        self._pin = pin
        self._on = False
        self._device: Any = None
        self._lgpio: Any = None
        self._handle: Any = None
        self._active_high = active_high
        try:  # imported here so that sim mode and tests never need GPIO libraries
            from gpiozero import OutputDevice  # type: ignore[import-not-found]  # noqa: PLC0415

            self._device = OutputDevice(pin, active_high=active_high, initial_value=False)
        except ImportError:
            try:
                import lgpio  # type: ignore[import-not-found]  # noqa: PLC0415
            except ImportError:
                raise RuntimeError(
                    "hardware.mode = 'real' needs gpiozero or lgpio: "
                    "apt install python3-gpiozero python3-lgpio"
                ) from None
            self._lgpio = lgpio
            self._handle = lgpio.gpiochip_open(0)
            lgpio.gpio_claim_output(self._handle, pin, 0 if active_high else 1)

    @property
    def is_on(self) -> bool:
        return self._on

    def set(self, on: bool, *, reason: str) -> None:
        if self._device is not None:
            self._device.on() if on else self._device.off()
        else:
            level = int(on) if self._active_high else int(not on)
            self._lgpio.gpio_write(self._handle, self._pin, level)
        self._on = on

    def close(self) -> None:
        self.set(False, reason="shutdown")
        if self._device is not None:
            self._device.close()
        elif self._handle is not None:
            self._lgpio.gpiochip_close(self._handle)
