"""The radio's proof of play: one "play" event per play, skip or cut-off (docs/PROTOCOL.md, the play
event), and the words for why a play was cut off. Used by `edge_agent/radio.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge_agent.reporter import Reporter
from hardware import Hardware, PlayResult
from protocol.messages import BulletinInfo
from protocol.vocabulary import PlayOutcome


@dataclass(frozen=True)
class Interrupt:
    by: str | None  # the emergency that cut in, if any
    reason: str  # emergency | cancel | recall | stop | shutdown


AFTER = {"resume": "phát tiếp từ chỗ dừng", "restart": "phát lại từ đầu", "drop": "bỏ lượt này"}


def why(intr: Interrupt | None) -> str:
    """Why a play was cut off, in Vietnamese (the play event's detail)."""
    if intr is None:
        return ""
    return {
        "emergency": f"nhường tin khẩn cấp {intr.by}",
        "live": f"nhường phát trực tiếp {intr.by}",
        "relay": f"nhường tiếp sóng {intr.by}",
        "cancel": "tin khẩn cấp bị huỷ",
        "recall": "bản tin bị thu hồi",
        "stop": "lệnh dừng từ trung tâm",
        "shutdown": "agent dừng",
    }.get(intr.reason, intr.reason)


class PlayLog:
    """Writes the radio's play events to the outbox, with the amplifier's state and the volume then."""

    def __init__(self, reporter: Reporter, hw: Hardware) -> None:
        self._reporter = reporter
        self._hw = hw

    def record(  # noqa: PLR0917 - the play record's fields, in the contract's order
        self,
        b: BulletinInfo,
        outcome: str,
        scheduled: datetime | None,
        started: datetime | None,
        ended: datetime | None,
        offset: int,
        *,
        event_id: str,
        emergency: bool = False,
        exercise: bool | None = None,
        interrupted_by: str | None = None,
        detail: str = "",
        **extra: Any,
    ) -> None:
        data = {
            "bulletin_id": b.id,
            "outcome": outcome,
            "scheduled_at": scheduled.isoformat() if scheduled else None,
            "started_at": started.isoformat() if started else None,
            "ended_at": ended.isoformat() if ended else None,
            "sha256": b.media.sha256 if b.media else None,
            "volume": self._hw.mixer.level,
            "relay_on": self._hw.relay.is_on,
            "offset_ms": offset,
            "emergency": emergency,
            "exercise": b.exercise if exercise is None else exercise,
            "interrupted_by": interrupted_by,
            "detail": detail,
            **extra,
        }
        self._reporter.play(data, event_id=event_id)

    def result(  # noqa: PLR0917 - the play record's fields, in the contract's order
        self,
        b: BulletinInfo,
        result: PlayResult,
        scheduled: datetime | None,
        started: datetime,
        ended: datetime,
        offset: int,
        eid: str,
        **extra: Any,
    ) -> None:
        """A play that ran to its end: completed, or failed with the output's error (and a silent output
        reported as an error event of its own)."""
        if result.silent:
            self._reporter.event("error", {"code": "silent_output", "detail": f"{b.id}: đầu ra im lặng"})
        outcome = PlayOutcome.COMPLETED if result.completed else PlayOutcome.FAILED
        self.record(
            b, outcome, scheduled, started, ended, offset,
            event_id=f"{eid}:{outcome}", detail=result.error or "", **extra,
        )  # fmt: skip
