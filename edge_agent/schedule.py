"""The stored programme as time-ordered item instances, and the last-moment check through playlists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edge_agent.windows import day_spans
from playlists.window_sets import Span
from protocol.clock import parse_time
from protocol.messages import BulletinInfo, ProgrammeBody
from protocol.vocabulary import Priority


@dataclass(frozen=True)
class ScheduledItem:
    key: str  # "<date>|<start>|<bulletin>|<n>": stable across republishes of the same plan
    bulletin: BulletinInfo
    start: datetime
    windows: tuple[str, ...]
    spans: tuple[Span, ...] = ()  # the day's windows as instants (Art. 10); empty from an older hub

    @property
    def duration_s(self) -> float:
        return self.bulletin.duration_ms / 1000

    @property
    def end(self) -> datetime:
        return self.start + timedelta(milliseconds=self.bulletin.duration_ms)


def expand(programme: ProgrammeBody, recalled: set[str]) -> list[ScheduledItem]:
    """Every play of every item in time order; an item with play=N is N plays back to back."""
    infos = {b.id: b for b in programme.bulletins}
    out = []
    for day in programme.days:
        spans = day_spans(day)
        for item in day.items:
            info = infos.get(item.bulletin_id)
            if info is None or info.id in recalled or info.priority == Priority.EMERGENCY:
                continue
            start = parse_time(item.start)
            for n in range(max(item.play, 1)):
                at = start + timedelta(milliseconds=n * info.duration_ms)
                key = f"{day.date}|{item.start}|{info.id}|{n}"
                out.append(ScheduledItem(key, info, at, tuple(day.windows), spans))
    out.sort(key=lambda s: (s.start, s.key))
    return out


def _when(text: str | None) -> datetime | None:
    return parse_time(text) if text else None


def last_moment_check(item: ScheduledItem, now: datetime, *, remaining_s: float, tz: str) -> str | None:
    """None if the item may start now, else why not (playlists' reason words)."""
    import playlists  # noqa: PLC0415 - pure package; imported late so the agent starts fast
    from playlists.window_sets import last_moment_check_spans  # noqa: PLC0415

    if item.spans:  # the commune's windows as the hub sent them, crossing midnight included
        return last_moment_check_spans(
            now=now,
            duration_s=remaining_s,
            spans=item.spans,
            valid_from=_when(item.bulletin.valid_from),
            valid_until=_when(item.bulletin.valid_until),
        )
    return playlists.last_moment_check(
        now=now,
        duration_s=remaining_s,
        windows=list(item.windows),
        tz=tz,
        valid_from=_when(item.bulletin.valid_from),
        valid_until=_when(item.bulletin.valid_until),
    )


def window_at(now: datetime, windows: list[str], tz: str) -> str | None:
    import playlists  # noqa: PLC0415

    return playlists.window_at(now, windows, tz=tz)
