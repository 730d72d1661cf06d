"""What the board shows now: standby, the window's rotation, or an emergency (pure; no I/O, no aiohttp).

`BoardLogic` is a small state machine. Every mutator and `tick` takes `now` and returns the displays
that just finished (the "play" event data of docs/PROTOCOL.md), so proof of display is exact and testable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.windows import Windows
from protocol.clock import parse_time, to_iso
from protocol.messages import AlertBody, BulletinInfo, ProgrammeBody

from .windows import DEFAULT_TZ, window_at

SLIDE_FORMS = ("text", "image", "infographic", "video")
TEXT_MIN_MS = 10_000  # nobody reads a text bulletin in less
MEDIA_DEFAULT_MS = 10_000  # image or video without a duration
STANDBY_MODES = ("clock", "black")
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")

Display = dict[str, Any]


@dataclass(frozen=True)
class Emergency:
    """An active emergency as the board needs it."""

    id: str
    title: str
    text: str
    areas: tuple[str, ...]
    sent: datetime | None
    expires: datetime | None
    exercise: bool
    bulletin: BulletinInfo | None = None

    @classmethod
    def from_alert(cls, alert: AlertBody) -> Emergency:
        info = alert.bulletin
        return cls(
            id=alert.identifier,
            title=(info.title if info else "") or "Thông báo khẩn cấp",
            text=(info.text if info else "") or "",
            # names when the hub sent them (people read the board), else the codes
            areas=tuple(alert.area_names if len(alert.area_names) == len(alert.areas) else alert.areas),
            sent=_parse_or_none(alert.sent),
            expires=_parse_or_none(alert.expires),
            exercise=alert.status == "Exercise" or bool(info and info.exercise),
            bulletin=info,
        )

    @classmethod
    def from_bulletin(cls, info: BulletinInfo, area: str) -> Emergency:
        """A late joiner learns of an active emergency from the programme's bulletin list."""
        return cls(
            id=info.id,
            title=info.title or "Thông báo khẩn cấp",
            text=info.text or "",
            areas=(area,),
            sent=_parse_or_none(info.valid_from),
            expires=_parse_or_none(info.valid_until),
            exercise=info.exercise,
            bulletin=info,
        )


@dataclass
class Showing:
    """The display on screen now; becomes one "play" record when it leaves the screen."""

    key: str  # unique per display, the page acknowledges it once rendered
    bulletin_id: str
    form: str
    started_at: datetime
    ends_at: datetime | None  # None: until cancelled or expired (emergencies)
    sha256: str | None
    emergency: bool
    exercise: bool
    scheduled_at: str | None = None
    acked: bool = False


@dataclass
class _Rotation:
    last_id: str | None = None
    restart_id: str | None = None  # interrupted item shown again first (after_interrupt "restart")


@dataclass
class BoardLogic:
    """The board's state machine; the caller supplies `now` and a way to know a media file is present."""

    windows: list[str]
    standby: str = "clock"
    width: int = 192
    height: int = 96
    tz: str = DEFAULT_TZ
    has_media: Callable[[str], bool] = field(default=lambda _sha: True)
    programme: ProgrammeBody | None = None
    clock_trusted: bool = False
    recalled: set[str] = field(default_factory=set)
    cancelled: set[str] = field(default_factory=set)
    emergencies: dict[str, Emergency] = field(default_factory=dict)
    showing: Showing | None = None
    held: set[str] = field(default_factory=set)  # emergencies a stop command took off (until an Update)
    hold_until: datetime | None = None  # a stop command: no rotation until then (next item or window end)
    _rotation: _Rotation = field(default_factory=_Rotation)
    _serial: int = 0
    # the programme's windows once one arrived (Art. 10: the commune's own, occasions); `windows` before
    _win: Windows = field(init=False)

    def __post_init__(self) -> None:
        if self.standby not in STANDBY_MODES:
            raise ValueError(f"led.standby is {self.standby!r}; use one of {', '.join(STANDBY_MODES)}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(
                f"led.width and led.height must be positive pixels, got {self.width}x{self.height}"
            )
        try:  # the same rule the ticks use, so a bad window fails here and not at 17:00
            window_at(datetime.now(ZoneInfo(self.tz)), self.windows, self.tz)
        except ValueError as exc:
            raise ValueError(f"led.windows: {exc}") from None
        self._win = Windows(self.windows, self.tz)
        self._win.set_programme(self.programme)

    # --- inputs -------------------------------------------------------------------------------------

    def set_programme(self, programme: ProgrammeBody, now: datetime) -> list[Display]:
        self.programme = programme
        self._win.set_programme(programme)
        self.recalled.update(programme.recalled)
        infos = {b.id: b for b in programme.bulletins}
        for eid in programme.emergencies:
            if eid in infos and eid not in self.emergencies and eid not in self.cancelled | self.recalled:
                self.emergencies[eid] = Emergency.from_bulletin(infos[eid], programme.area)
        return self.tick(now)

    def emergency(self, alert: AlertBody, now: datetime) -> list[Display]:
        if alert.msg_type == "Cancel":
            return self.cancel(alert.identifier, now)
        if alert.identifier in self.recalled | self.cancelled:
            return self.tick(now)  # a recalled or cancelled alert never comes back
        done: list[Display] = []
        cur = self.showing
        same = cur is not None and cur.emergency and cur.bulletin_id == alert.identifier
        if alert.msg_type == "Update" and same:
            # the new wording must reach the screen: end this display, the tick starts the updated one
            done.append(self._end(now, "interrupted", interrupted_by=alert.identifier, detail="updated"))
        if alert.msg_type == "Update":
            self.held.discard(alert.identifier)  # new wording after a stop: it shows again
        self.emergencies.pop(alert.identifier, None)  # an update is the newest: it goes on top
        self.emergencies[alert.identifier] = Emergency.from_alert(alert)
        return done + self.tick(now)

    def cancel(self, identifier: str, now: datetime) -> list[Display]:
        self.cancelled.add(identifier)
        return self._drop_emergency(identifier, now, detail="cancelled")

    def recall(self, ids: list[str], now: datetime) -> list[Display]:
        self.recalled.update(ids)
        done: list[Display] = []
        for eid in ids:
            done += self._drop_emergency(eid, now, detail="recalled")
        return done + self.tick(now)

    def set_clock_trusted(self, ok: bool, now: datetime) -> list[Display]:
        self.clock_trusted = ok
        return self.tick(now)

    def stop(self, now: datetime) -> list[Display]:
        """The hub's `stop` command: clear the screen to standby. The rotation stays off until the next
        scheduled item starts or the open window ends; the emergencies active now stay off until an Update
        (a new emergency still takes the screen at once)."""
        self.held.update(self.emergencies)
        self.hold_until = self._hold_end(now)
        done = [self._end(now, "interrupted", detail="stopped by command")] if self.showing else []
        return done + self.tick(now)

    def _hold_end(self, now: datetime) -> datetime:
        """When rotation may start again after a stop: the first of the next item's start, the open
        window's end, the next window's start (today); `now` if none (nothing to hold back)."""
        ends: list[datetime] = []
        found = self._win.open(now)
        if found is not None:
            ends.append(found[2])
        ends.extend(self._win.starts_later_today(now))
        day = self._today(now)
        for item in day.items if day is not None else []:
            item_start = _parse_or_none(item.start)
            if item_start is not None and item_start > now:
                ends.append(item_start)
        return min(ends) if ends else now

    def close(self, now: datetime, detail: str) -> list[Display]:
        """End whatever is on screen (the agent stops)."""
        return [self._end(now, "interrupted", detail=detail)] if self.showing is not None else []

    def acknowledge(self, key: str) -> None:
        """The player page says it rendered display `key`."""
        if self.showing is not None and self.showing.key == key:
            self.showing.acked = True

    # --- the clock moves ----------------------------------------------------------------------------

    def tick(self, now: datetime) -> list[Display]:
        done = self._expire(now)
        top = self._top_emergency()
        if top is not None:
            return done + self._tick_emergency(top, now)
        cur = self.showing
        if cur is not None and cur.emergency:  # recalled through a programme's `recalled` list
            done.append(self._end(now, "interrupted", detail="recalled"))
        reason, eligible = self._rotation_now(now)
        cur = self.showing
        if cur is not None:
            if reason is not None:
                done.append(self._end(now, "interrupted", detail=reason))
            elif cur.bulletin_id not in {b.id for b, _ in eligible}:
                why = "recalled" if cur.bulletin_id in self.recalled else "no longer eligible"
                done.append(self._end(now, "interrupted", detail=why))
            elif cur.ends_at is not None and now >= cur.ends_at:
                done.append(self._end(now, "completed"))
        if self.showing is None and eligible:
            self._start_slide(eligible, now)
        return done

    def _expire(self, now: datetime) -> list[Display]:
        done: list[Display] = []
        for eid, em in list(self.emergencies.items()):
            if em.expires is not None and now >= em.expires:
                del self.emergencies[eid]
                if self.showing is not None and self.showing.key.startswith(f"E:{eid}#"):
                    done.append(self._end(now, "completed", detail="expired"))
        return done

    def _tick_emergency(self, top: Emergency, now: datetime) -> list[Display]:
        done: list[Display] = []
        cur = self.showing
        if cur is not None and not (cur.emergency and cur.bulletin_id == top.id):
            if not cur.emergency:
                self._rotation.restart_id = self._restart_candidate(cur.bulletin_id)
            done.append(self._end(now, "interrupted", interrupted_by=top.id, detail="emergency"))
        if self.showing is None:
            self._start_emergency(top, now)
        return done

    # --- what the page draws ------------------------------------------------------------------------

    def screen(self, now: datetime) -> dict[str, Any]:
        """The JSON-able state pushed to the player page."""
        local = now.astimezone(ZoneInfo(self.tz))
        state: dict[str, Any] = {
            "board": {"width": self.width, "height": self.height},
            "standby": self.standby,
            "clock": {
                "time": local.strftime("%H:%M"),
                "date": f"{WEEKDAYS_VI[local.weekday()]}, {local.strftime('%d/%m/%Y')}",
                # a clock nobody synchronised must not be shown to the public
                "trusted": self.clock_trusted,
            },
            "mode": "standby",
            "slide": None,
            "emergency": None,
        }
        cur = self.showing
        if cur is None:
            return state
        if cur.emergency:
            em = self.emergencies.get(cur.bulletin_id)
            if em is not None:
                state["mode"] = "emergency"
                state["emergency"] = _emergency_view(em, cur.key, self.tz)
            return state
        info = self._infos().get(cur.bulletin_id)
        if info is not None:
            state["mode"] = "slide"
            state["slide"] = _slide_view(info, cur)
        return state

    # --- internals ----------------------------------------------------------------------------------

    def _infos(self) -> dict[str, BulletinInfo]:
        return {b.id: b for b in self.programme.bulletins} if self.programme else {}

    def _top_emergency(self) -> Emergency | None:
        live = [e for e in self.emergencies.values() if e.id not in self.recalled and e.id not in self.held]
        return live[-1] if live else None  # the newest takes the screen; older ones come back after it

    def _drop_emergency(self, eid: str, now: datetime, *, detail: str) -> list[Display]:
        done: list[Display] = []
        self.emergencies.pop(eid, None)
        cur = self.showing
        if cur is not None and cur.bulletin_id == eid:
            done.append(self._end(now, "interrupted", detail=detail))
        return done + self.tick(now)

    def _restart_candidate(self, bulletin_id: str) -> str | None:
        info = self._infos().get(bulletin_id)
        return None if info is not None and info.after_interrupt == "drop" else bulletin_id

    def _rotation_now(self, now: datetime) -> tuple[str | None, list[tuple[BulletinInfo, str | None]]]:
        """(why nothing rotates, or None; the eligible bulletins with their scheduled start)."""
        if not self.clock_trusted:
            return "clock not trusted", []
        if self.hold_until is not None:
            if now < self.hold_until:
                return "stopped by command", []
            self.hold_until = None
        found = self._win.open(now)
        if found is None:
            return "window closed", []
        return None, self._eligible(now, *found)

    def open_window(self, now: datetime) -> tuple[str, datetime, datetime] | None:
        """The window open at `now` (label, start, end): the programme's, or the config's before one."""
        return self._win.open(now)

    def _today(self, now: datetime) -> Any:
        if self.programme is None:
            return None
        today = now.astimezone(ZoneInfo(self.programme.timezone or self.tz)).date().isoformat()
        return next((d for d in self.programme.days if d.date == today), None)

    def _eligible(
        self, now: datetime, window: str, begin: datetime, end: datetime
    ) -> list[tuple[BulletinInfo, str | None]]:
        day = self._today(begin)  # a window crossing midnight belongs to the day it started
        if day is None:
            return []
        infos = self._infos()
        out: list[tuple[BulletinInfo, str | None]] = []
        seen: set[str] = set()
        for item in day.items:
            info = infos.get(item.bulletin_id)
            if info is None or info.id in seen or not self._showable(info, now):
                continue
            if item.window != window and not _starts_within(item.start, begin, end):
                continue
            seen.add(info.id)
            out.append((info, item.start))
        return out

    def _showable(self, info: BulletinInfo, now: datetime) -> bool:
        if info.id in self.recalled or info.form not in SLIDE_FORMS or info.priority == "emergency":
            return False
        try:
            if info.valid_from and now < parse_time(info.valid_from):
                return False
            if info.valid_until and now >= parse_time(info.valid_until):
                return False
        except ValueError:
            return False  # the core verified the envelope; a bad date here means do not show it
        if info.form == "text":
            return bool((info.text or "").strip() or info.title)
        return info.media is not None and self.has_media(info.media.sha256)

    def _start_slide(self, eligible: list[tuple[BulletinInfo, str | None]], now: datetime) -> None:
        ids = [b.id for b, _ in eligible]
        rot = self._rotation
        if rot.restart_id in ids:
            index = ids.index(rot.restart_id)
        elif rot.last_id in ids:
            index = (ids.index(rot.last_id) + 1) % len(ids)
        else:
            index = 0
        info, scheduled = eligible[index]
        rot.restart_id, rot.last_id = None, info.id
        self._serial += 1
        self.showing = Showing(
            key=f"S:{info.id}#{self._serial}",
            bulletin_id=info.id,
            form=info.form,
            started_at=now,
            ends_at=now + timedelta(milliseconds=slide_duration_ms(info)),
            sha256=info.media.sha256 if info.media else None,
            emergency=False,
            exercise=info.exercise,
            scheduled_at=scheduled,
        )

    def _start_emergency(self, em: Emergency, now: datetime) -> None:
        self._serial += 1
        media = em.bulletin.media if em.bulletin else None
        self.showing = Showing(
            key=f"E:{em.id}#{self._serial}",
            bulletin_id=em.id,
            form=em.bulletin.form if em.bulletin else "text",
            started_at=now,
            ends_at=None,
            sha256=media.sha256 if media else None,
            emergency=True,
            exercise=em.exercise,
        )

    def _end(
        self, now: datetime, outcome: str, *, interrupted_by: str | None = None, detail: str = ""
    ) -> Display:
        cur = self.showing
        assert cur is not None  # callers check
        self.showing = None
        if not cur.acked:
            # proof of display: only what a page confirmed drawing counts as completed
            detail = "; ".join(x for x in (detail, "no player page confirmed it") if x)
            if outcome == "completed":
                outcome = "failed"
        return {
            "bulletin_id": cur.bulletin_id,
            "outcome": outcome,
            "form": cur.form,
            "scheduled_at": cur.scheduled_at,
            "started_at": to_iso(cur.started_at),
            "ended_at": to_iso(now),
            "sha256": cur.sha256,
            "emergency": cur.emergency,
            "exercise": cur.exercise,
            "interrupted_by": interrupted_by,
            "detail": detail,
            # the radio's fields, kept so every "play" event has one shape; a board has no volume or relay
            "volume": None,
            "relay_on": None,
            "offset_ms": 0,
        }


def slide_duration_ms(info: BulletinInfo) -> int:
    """How long one display of a rotation item lasts."""
    if info.form == "text":
        return max(info.duration_ms, TEXT_MIN_MS)
    media_ms = info.media.duration_ms if info.media else 0
    return info.duration_ms or media_ms or MEDIA_DEFAULT_MS


def panel_setting(mode: str, standby: str, local_hour: int) -> tuple[bool, int]:
    """(power on?, brightness %): full for emergencies, dimmer at night, off for black standby."""
    if mode == "emergency":
        return True, 100
    if mode == "standby" and standby == "black":
        return False, 0
    night = local_hour >= 19 or local_hour < 6
    if mode == "standby":
        return True, 20 if night else 40
    return True, 70 if night else 100


def _parse_or_none(text: str | None) -> datetime | None:
    return parse_time(text) if text else None


def _starts_within(start: str, begin: datetime, end: datetime) -> bool:
    try:
        return begin <= parse_time(start) < end
    except ValueError:
        return False


def _media_url(sha256: str) -> str:
    return f"/media/{sha256}"


def _slide_view(info: BulletinInfo, cur: Showing) -> dict[str, Any]:
    return {
        "key": cur.key,
        "bulletin_id": info.id,
        "form": info.form,
        "title": info.title,
        "text": info.text or "",
        "exercise": info.exercise,
        "duration_ms": int((cur.ends_at - cur.started_at).total_seconds() * 1000) if cur.ends_at else None,
        "media_url": _media_url(info.media.sha256) if info.media else None,
        "mime": info.media.mime if info.media else None,
        "subtitles_url": _media_url(info.subtitles.sha256) if info.subtitles else None,
    }


def _emergency_view(em: Emergency, key: str, tz: str) -> dict[str, Any]:
    sent = em.sent.astimezone(ZoneInfo(tz)).strftime("%H:%M ngày %d/%m/%Y") if em.sent else ""
    media = em.bulletin.media if em.bulletin else None
    image = media is not None and media.mime.startswith("image/")
    return {
        "key": key,
        "id": em.id,
        "title": em.title,
        "text": em.text,
        "areas": list(em.areas),
        "sent": sent,
        "exercise": em.exercise,
        "label": "DIỄN TẬP - KHẨN CẤP" if em.exercise else "KHẨN CẤP",
        "media_url": _media_url(media.sha256) if media is not None and image else None,
    }
