"""LED-board mode: the same core, but programmes, alerts and recalls go to edge_agent.led.LedBoard."""

from __future__ import annotations

import logging
from typing import Any

from edge_agent.agent import Agent

log = logging.getLogger("edge_agent.led")


async def attach_led_board(agent: Agent) -> None:
    from edge_agent.led import LedBoard  # noqa: PLC0415 - only LED devices load it
    from hardware.display import make_display_panel  # noqa: PLC0415

    def on_display(data: dict[str, Any]) -> None:
        agent.reporter.play(dict(data))
        agent.status_changed.set()

    board = LedBoard(
        settings=agent.settings.led,
        media_dir=agent.media.root,
        clock=agent.clock,
        on_display=on_display,
        panel=make_display_panel(agent.settings.hardware.mode, agent.settings.data_path, clock=agent.clock),
        tz=agent.settings.timezone,
    )
    agent.led = board
    board.set_clock_trusted(agent.trust.trusted)
    url = await board.start()
    log.info("trang trình chiếu LED: %s", url)
    if agent.radio.programme is not None:
        board.set_programme(agent.radio.programme)
    for em in agent.book.active():
        board.emergency(em.alert)
