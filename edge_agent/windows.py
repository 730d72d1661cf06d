"""Which broadcast window is open for this device: the commune's windows from the signed programme
(Art. 10: its own hours, LED occasion hours), or the config's windows before a first programme arrived.

One rule for the radio runner, the LED board and the status the agent reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playlists.window_sets import Span, span_at
from protocol.clock import parse_time
from protocol.messages import ProgrammeBody, ProgrammeDay


def day_spans(day: ProgrammeDay) -> tuple[Span, ...]:
    """A programme day's windows as instants (empty from a hub that did not send them)."""
    out = []
    for w in day.window_spans:
        try:
            out.append(Span(w.label, parse_time(w.start), parse_time(w.end)))
        except (ValueError, TypeError):
            continue  # the envelope was verified; a window we cannot read is a window we do not open
    return tuple(out)


class Windows:
    """The windows this device plays in; `open(now)` gives the open one as (label, start, end)."""

    def __init__(self, fallback: Sequence[str], tz: str) -> None:
        self.fallback = list(fallback)
        self.tz = tz
        self._programme: ProgrammeBody | None = None
        self._spans: tuple[Span, ...] = ()

    @property
    def from_programme(self) -> bool:
        return self._programme is not None

    def set_programme(self, programme: ProgrammeBody | None) -> None:
        if programme is self._programme:
            return
        self._programme = programme
        self._spans = tuple(s for d in programme.days for s in day_spans(d)) if programme else ()

    def labels_for(self, local_day: date) -> list[str]:
        """The window labels of a programme day sent by a hub without window_spans, else the config's."""
        p = self._programme
        if p is not None:
            day = next((d for d in p.days if d.date == local_day.isoformat()), None)
            if day is not None:
                return list(day.windows)
        return self.fallback

    def open(self, now: datetime) -> tuple[str, datetime, datetime] | None:
        if self._spans:
            found = span_at(now, self._spans)
            return (found.label, found.start, found.end) if found else None
        zone = ZoneInfo(self.tz)
        local = now.astimezone(zone)
        import playlists  # noqa: PLC0415 - pure; imported late so the agent starts fast

        for day in (local.date(), local.date() - timedelta(days=1)):
            labels = self.labels_for(day)
            for w in playlists.parse_windows(labels):
                start, end = w.bounds(day, zone)
                if start <= local < end:
                    return w.label, start, end
        return None

    def starts_later_today(self, now: datetime) -> list[datetime]:
        """Starts of the windows still to come on today's local date (when a stopped board may resume)."""
        zone = ZoneInfo(self.tz)
        today = now.astimezone(zone).date()
        if self._spans:
            starts = [s.start for s in self._spans if now < s.start]
            return [s for s in starts if s.astimezone(zone).date() == today]
        import playlists  # noqa: PLC0415

        starts = [w.bounds(today, zone)[0] for w in playlists.parse_windows(self.labels_for(today))]
        return [s for s in starts if s > now]
