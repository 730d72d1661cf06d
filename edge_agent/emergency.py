"""Active emergencies: which is due, when it repeats, what has been played (persisted, so a reconnect or a
retained programme never replays one; an Update does), and where an interrupted one comes back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from edge_agent.store import Store
from protocol.clock import parse_time
from protocol.messages import AlertBody, BulletinInfo, Repeat

log = logging.getLogger("edge_agent.emergency")

# An emergency folded in a programme without an expiry is held this long at most.
DEFAULT_HOLD = timedelta(hours=6)


@dataclass
class Emergency:
    alert: AlertBody
    state: str  # active | done | cancelled | expired
    plays_done: int
    next_due: datetime | None
    last_start: datetime | None = None
    offset_ms: int = 0  # where the next play starts (a resume after a newer emergency cut this one off)

    @property
    def id(self) -> str:
        return self.alert.identifier

    @cached_property
    def expires(self) -> datetime:  # looked at on every step of the radio loop: parsed once
        return parse_time(self.alert.expires)


def next_due_after(repeat: Repeat, plays_done: int, last_start: datetime) -> datetime | None:
    """`count` plays `interval_s` apart (start to start), then every `then_every_s`; None when finished."""
    if plays_done < max(repeat.count, 1):
        return last_start + timedelta(seconds=repeat.interval_s)
    if repeat.then_every_s > 0:
        return last_start + timedelta(seconds=repeat.then_every_s)
    return None


class EmergencyBook:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._items: dict[str, Emergency] = {}
        self._order: list[str] = []  # arrival order: the latest due one preempts the others
        for eid, row in store.emergencies().items():
            em = Emergency(
                AlertBody.from_dict(row["alert"]),
                row["state"],
                row["plays_done"],
                parse_time(row["next_due"]) if row["next_due"] else None,
                offset_ms=int(row.get("offset_ms") or 0),
            )
            self._items[eid] = em
            self._order.append(eid)

    def _save(
        self, em: Emergency, now: datetime, playing_since: datetime | None = None, *, alert: bool = False
    ) -> None:
        """Persist its state; `alert=True` (new or updated) writes the alert too."""
        fields: dict[str, Any] = {
            "state": em.state,
            "plays_done": em.plays_done,
            "next_due": em.next_due.isoformat() if em.next_due else None,
            "at": now.isoformat(),
            "playing_since": playing_since.isoformat() if playing_since else None,
            "offset_ms": em.offset_ms,
        }
        if alert:
            self._store.save_emergency(em.id, em.alert.to_dict(), **fields)
        else:
            self._store.update_emergency(em.id, **fields)

    def known(self, eid: str) -> bool:
        return eid in self._items

    def get(self, eid: str) -> Emergency | None:
        return self._items.get(eid)

    def alert(self, alert: AlertBody, now: datetime) -> str:
        """Apply Alert/Update/Cancel; returns what happened: new | update | cancel | duplicate | unknown."""
        current = self._items.get(alert.identifier)
        if alert.msg_type == "Cancel":
            if current is None or current.state != "active":
                return "unknown"
            current.state, current.next_due = "cancelled", None
            self._save(current, now)
            return "cancel"
        if current is not None and alert.msg_type == "Alert":
            return "duplicate"  # already known (maybe played): an Update re-plays, a repeat of Alert does not
        em = Emergency(alert, "active", 0, now)
        self._items[em.id] = em
        if em.id in self._order:
            self._order.remove(em.id)
        self._order.append(em.id)
        self._save(em, now, alert=True)
        return "update" if current is not None else "new"

    def from_programme(self, ids: list[str], bulletins: list[BulletinInfo], now: datetime) -> list[str]:
        """A late joiner's view: active emergencies it has never seen; returns the ids added."""
        infos = {b.id: b for b in bulletins}
        added = []
        for eid in ids:
            info = infos.get(eid)
            if eid in self._items or info is None:
                continue
            expires = parse_time(info.valid_until) if info.valid_until else now + DEFAULT_HOLD
            if expires <= now:
                continue
            body = AlertBody(
                eid,
                "Alert",
                "Exercise" if info.exercise else "Actual",
                now.isoformat(),
                expires.isoformat(),
                [],
                info,
                info.repeat or Repeat(),  # the hub folds the alert's repeat into the programme
            )
            if self.alert(body, now) == "new":
                added.append(eid)
        return added

    def remove(self, eid: str, now: datetime) -> bool:
        """Recall: never play it again."""
        em = self._items.get(eid)
        if em is None or em.state != "active":
            return False
        em.state, em.next_due = "cancelled", None
        self._save(em, now)
        return True

    def expire(self, now: datetime) -> list[str]:
        gone = []
        for em in self._items.values():
            if em.state == "active" and em.expires <= now:
                em.state, em.next_due = "expired", None
                self._save(em, now)
                gone.append(em.id)
        return gone

    def due(self, now: datetime) -> Emergency | None:
        for eid in reversed(self._order):
            em = self._items[eid]
            if em.state == "active" and em.next_due is not None and em.next_due <= now and em.expires > now:
                return em
        return None

    def next_time(self) -> datetime | None:
        times = [em.next_due for em in self._items.values() if em.state == "active" and em.next_due]
        return min(times) if times else None

    def started(self, em: Emergency, now: datetime) -> None:
        em.last_start = now
        self._save(em, now, playing_since=now)

    def played(self, em: Emergency, now: datetime) -> None:
        """A complete play: count it and schedule the next repeat (or finish)."""
        em.plays_done += 1
        em.offset_ms = 0
        em.next_due = next_due_after(em.alert.repeat, em.plays_done, em.last_start or now)
        if em.next_due is None:
            em.state = "done"
        elif em.next_due >= em.expires:
            em.state, em.next_due = "done", None
        self._save(em, now)

    def postpone(self, em: Emergency, until: datetime, now: datetime) -> None:
        """Could not play (media missing): try again later, while it is valid."""
        em.next_due = until
        self._save(em, now)

    def interrupted(
        self, em: Emergency, now: datetime, *, position_ms: int = 0, restart: bool = False
    ) -> str:
        """Cut off by a newer emergency: once that is over it comes back as its bulletin's after_interrupt
        says: resume at `position_ms`, restart, or drop this play (the repeats go on). Returns the mode.
        `restart=True` (the agent itself stopped: shutdown, kill -9, power loss): resume at `position_ms` if
        the bulletin says resume, else play it again from the start; never drop it (our own failure must
        not cost the residents a play)."""
        mode = em.alert.bulletin.after_interrupt if em.alert.bulletin is not None else "restart"
        if restart and mode != "resume":
            mode = "restart"
        if mode == "drop":
            self.played(em, now)
            return mode
        em.offset_ms = max(position_ms, 0) if mode == "resume" else 0
        self._save(em, now)
        return "resume" if mode == "resume" else "restart"

    def progress(self, em: Emergency, position_ms: int, now: datetime) -> None:
        """While it plays: where it got to, so an agent killed mid-play comes back there (see interrupted).
        The row's offset_ms holds the position while playing_since is set, the next start otherwise."""
        if self._items.get(em.id) is not em or em.state != "active" or em.last_start is None:
            return  # replaced by an Update or finished meanwhile: that newer state must not be overwritten
        fields: dict[str, Any] = {
            "state": em.state,
            "plays_done": em.plays_done,
            "next_due": em.next_due.isoformat() if em.next_due else None,
            "at": now.isoformat(),
            "playing_since": em.last_start.isoformat(),
            "offset_ms": max(position_ms, 0),
        }
        self._store.update_emergency(em.id, **fields)

    def forget_pruned(self) -> None:
        """Drop from memory what the store's housekeeping deleted."""
        kept = set(self._store.emergencies())
        for eid in [e for e in self._items if e not in kept]:
            del self._items[eid]
            self._order.remove(eid)

    def active(self) -> list[Emergency]:
        return [em for em in self._items.values() if em.state == "active"]

    def needed_media(self) -> set[str]:
        return {
            em.alert.bulletin.media.sha256
            for em in self.active()
            if em.alert.bulletin is not None and em.alert.bulletin.media is not None
        }
