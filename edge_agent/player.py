"""What the agent needs of the thing that plays its programme: the `Player` protocol, the `NowPlaying` it
reports, and the `PlayerParts` a player is built from.

Players: `edge_agent/radio.py` (`RadioRunner`: loudspeakers through the relay and the audio output) and
`edge_agent/led/board.py` (`LedBoard`: the LED board's player page and panel). `edge_agent/players.py`
builds each from the agent's parts; `edge_agent/__main__.py` picks one by the device kind and hands it to
the `Agent`, which owns the programme and tells the player what changed. A third player (a live-sound
stream, say) implements this protocol, gets a factory in players.py and a line in __main__.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from edge_agent.clocktrust import ClockTrust
from edge_agent.config import Settings
from edge_agent.emergency import EmergencyBook
from edge_agent.media import MediaCache
from edge_agent.reporter import Reporter
from edge_agent.store import Store
from hardware import Hardware
from protocol.clock import Clock
from protocol.messages import AlertBody, LiveBody, ProgrammeBody


@dataclass(frozen=True)
class NowPlaying:
    """What a player plays (or shows) now, for the device status."""

    bulletin_id: str
    emergency: bool
    since: datetime | None = None  # when it started (the status's playing_since)


class Player(Protocol):
    """The agent's side of a player. The agent calls these in the event loop's thread; none of them blocks.

    Lifetime: `start()` once before the agent connects (an error there stops the agent from starting),
    `run()` as one task of the agent's TaskGroup until it is cancelled, then `stop()` (which may be called
    again: it does nothing the second time). Each play or display the player ends goes to the reporter as a
    "play" event; whenever what it plays changes it calls the `changed` it was built with (the status)."""

    @property
    def now_playing(self) -> NowPlaying | None:
        """The bulletin it plays or shows now, or None."""
        ...

    @property
    def has_speaker(self) -> bool:
        """It can sound the `test_tone` command's tone."""
        ...

    async def start(self) -> object:
        """Get ready (the LED board serves its page and returns its URL); raise if it cannot."""
        ...

    async def run(self) -> None:
        """Play until cancelled; once cancelled, what it cut off is reported before it returns."""
        ...

    async def stop(self) -> None:
        """Let go of what it holds (the LED board: its page, the last display reported)."""
        ...

    def set_programme(self, programme: ProgrammeBody) -> None:
        """The programme the agent holds now (already saved); its `recalled` ids are recalled too."""
        ...

    def emergency(self, alert: AlertBody) -> None:
        """An emergency (new, updated, or in force from the programme) is in the book: preempt at once."""
        ...

    def cancel(self, identifier: str) -> None:
        """The hub cancelled that emergency: stop it if it plays."""
        ...

    def live(self, body: LiveBody) -> None:
        """A live announcement starts, gets a fresh token or stops (docs/PROTOCOL.md, "Live announcements");
        a player without a loudspeaker ignores it."""
        ...

    def recall(self, bulletin_ids: Sequence[str]) -> None:
        """These bulletins were recalled: never play them again, cut them off if they play."""
        ...

    def set_clock_trusted(self, trusted: bool) -> None:
        """The clock became trusted or untrusted (scheduled plays only run on a trusted clock)."""
        ...

    def stop_playing(self) -> str:
        """The hub's `stop` command: stop what plays now; returns what it did, in Vietnamese."""
        ...

    def request_tone(self, path: Path) -> asyncio.Future[str]:
        """Play the test tone at `path` when nothing else plays; the future gives "" or why it did not."""
        ...


@dataclass(frozen=True)
class PlayerParts:
    """What a player may use of the agent's (the agent builds these and hands them to the factory)."""

    settings: Settings
    clock: Clock
    hw: Hardware
    trust: ClockTrust
    store: Store
    reporter: Reporter
    media: MediaCache
    book: EmergencyBook
    changed: Callable[[], None]  # what the player plays changed: the agent may send a status


PlayerFactory = Callable[[PlayerParts], Player]
