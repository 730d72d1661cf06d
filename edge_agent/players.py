"""The players, one factory per device kind: each builds its player (edge_agent/player.py) from the agent's
parts. `edge_agent/__main__.py` picks the factory by the device kind and hands it to the Agent."""

from __future__ import annotations

from typing import Any

from edge_agent.player import Player, PlayerParts
from edge_agent.radio import RadioRunner


def radio_player(parts: PlayerParts) -> Player:
    """Loudspeakers: the programme and the emergencies through the relay and the audio output."""
    return RadioRunner(parts)


def led_player(parts: PlayerParts) -> Player:
    """An LED board: the player page and the display panel of `hardware.mode` (real or simulated)."""
    from edge_agent.led import LedBoard  # noqa: PLC0415 - only LED devices load the page server
    from hardware.display import make_display_panel  # noqa: PLC0415

    def on_display(data: dict[str, Any]) -> None:  # each display that ends is a "play" event
        parts.reporter.play(dict(data))
        parts.changed()

    s = parts.settings
    return LedBoard(
        settings=s.led,
        media_dir=parts.media.root,
        clock=parts.clock,
        on_display=on_display,
        panel=make_display_panel(s.hardware.mode, s.data_path, clock=parts.clock),
        tz=s.timezone,
    )
