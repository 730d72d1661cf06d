"""Radio programme execution: scheduled items in time order, emergencies preempting at once, the relay.

Decisions (documented in README.md): an item never starts before its scheduled time; a late item still
starts if it is late by less than its own duration and still fits in its window (playlists' last-moment
check); otherwise it is reported "skipped" once. An item cut off by an emergency or by a restart of the
agent comes back as its bulletin's after_interrupt says (restart / resume at offset / drop) and is exempt
from the lateness rule (only from it: it must still fit in the window).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from edge_agent import schedule
from edge_agent.emergency import Emergency
from edge_agent.media import MediaError
from edge_agent.player import NowPlaying, PlayerParts
from edge_agent.plays import AFTER, Interrupt, PlayLog, why
from edge_agent.rebroadcast import Rebroadcast
from edge_agent.schedule import ScheduledItem
from edge_agent.stream import LivePlayer
from edge_agent.versions import VIE, Part, parts
from hardware import PlayResult
from protocol.clock import parse_time
from protocol.messages import AlertBody, BulletinInfo, LiveBody, ProgrammeBody
from protocol.vocabulary import Origin, PlayOutcome, Priority

log = logging.getLogger("edge_agent.radio")

PROGRESS_EVERY_S = 5.0
MEDIA_WAIT_ITEM_S = 20.0
MEDIA_WAIT_EMERGENCY_S = 60.0
EMERGENCY_RETRY_S = 15.0


class RadioRunner:
    """The radio's player (edge_agent/player.py): plays the programme the agent hands it and the emergencies
    of the book, through the relay and the audio output, and reports each play."""

    has_speaker = True

    def __init__(self, parts: PlayerParts) -> None:
        self._s = parts.settings
        self._hw = parts.hw
        self._clock = parts.clock
        self._trust = parts.trust
        self._media = parts.media
        self._book = parts.book
        self._store = parts.store
        self._on_change = parts.changed
        self._plays = PlayLog(parts.reporter, parts.hw)
        self.programme: ProgrammeBody | None = None  # the agent's, handed over: what the loop plays
        self.now_playing: NowPlaying | None = None
        self._recalled = parts.store.recalled()
        self._wake = asyncio.Event()
        self._interrupt: Interrupt | None = None
        self._interrupt_evt = asyncio.Event()
        self._relay_on_at = 0.0
        self._idle_since = time.monotonic()
        self._tone: tuple[Path, asyncio.Future[str]] | None = None
        self._untrusted_logged = False
        self.held_by: str | None = None  # a live session holds the loudspeaker
        self.streams = LivePlayer(parts, self)  # live announcements (edge_agent/stream.py)
        # tiếp sóng (edge_agent/rebroadcast.py); while its stream is down the window's next items may start
        # early, up to this instant
        self.fallback_until: datetime | None = None
        self.relays = Rebroadcast(parts, self)
        self._relays_task: asyncio.Task[None] | None = None

    # --- the Player protocol: inputs from the agent ---
    async def start(self) -> None:
        """Nothing to prepare: the loop (run) recovers from a crash first."""

    async def stop(self) -> None:
        """A live stream ends; the relay and the audio output are closed by the agent's runtime."""
        await self.streams.aclose()
        if self._relays_task is not None:
            self._relays_task.cancel()
            await asyncio.gather(self._relays_task, return_exceptions=True)

    def set_programme(self, programme: ProgrammeBody) -> None:
        self.recall(programme.recalled)
        self.programme = programme
        self.streams.set_programme(programme)
        self.relays.set_programme(programme)
        self._wake.set()

    def live(self, body: LiveBody) -> None:
        self.streams.handle(body)

    def hold(self, by: str | None, reason: str = "live") -> None:
        """A live session or a relay (`by`) takes the loudspeaker: what plays is interrupted; None gives it
        back."""
        self.held_by = by
        if by is not None:
            self.interrupt(by, reason)
        self._wake.set()

    def emergency_due(self) -> bool:
        return self._book.due(self._clock.now()) is not None

    def recall(self, bulletin_ids: Sequence[str]) -> None:
        self._recalled.update(bulletin_ids)
        if self.now_playing and self.now_playing.bulletin_id in bulletin_ids:
            self.interrupt(None, "recall")
        self._wake.set()

    def interrupt(self, by: str | None, reason: str) -> None:
        """Stop what is playing now (if anything); the loop then decides what comes next."""
        if self.now_playing is not None:
            self._interrupt = Interrupt(by, reason)
            self._interrupt_evt.set()
        self._wake.set()

    def emergency(self, alert: AlertBody) -> None:
        """The book holds it: cut off what plays; the loop plays the newest due emergency first."""
        self.streams.emergency_arrived()
        self.relays.emergency_arrived()
        if self.now_playing is not None:
            self.interrupt(alert.identifier, "emergency")
        self._wake.set()

    def cancel(self, identifier: str) -> None:
        if self.now_playing and self.now_playing.emergency and self.now_playing.bulletin_id == identifier:
            self.interrupt(None, "cancel")
        self._wake.set()

    def stop_playing(self) -> str:
        playing = self.now_playing
        self.interrupt(None, "stop")
        return f"đã dừng {playing.bulletin_id}" if playing else "không có gì đang phát"

    def request_tone(self, path: Path) -> asyncio.Future[str]:
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if self.now_playing is not None or self._tone is not None:
            fut.set_result("đang phát, không thể phát âm thử")
            return fut
        self._tone = (path, fut)
        self._wake.set()
        return fut

    def set_clock_trusted(self, trusted: bool) -> None:
        """Re-plan now: the loop sleeps while the clock is untrusted (it reads the trust itself)."""
        self._wake.set()

    # --- the loop ---
    async def run(self) -> None:
        self._recover()
        self._relays_task = asyncio.get_running_loop().create_task(self.relays.run(), name="relays")
        while True:
            self._wake.clear()
            wait_s = await self._step() if self.held_by is None else 30.0  # a live session holds it
            if wait_s > 0:
                # asyncio.timeout, not wait_for: on 3.11 wait_for loses a cancel that comes just as the
                # event is set, and the agent would never stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait_s):
                        await self._wake.wait()

    async def _step(self) -> float:
        """Do the next thing if one is due; else return how long to sleep (a wake-up cuts it short)."""
        now = self._clock.now()
        for eid in self._book.expire(now):
            log.info("tin khẩn cấp %s đã hết hạn", eid)
        em = self._book.due(now)
        if em is not None:
            await self._relay_ready()
            await self._play_emergency(em)
            return 0
        if self._tone is not None:
            await self._relay_ready()
            await self._play_tone()
            return 0
        wait_s = 30.0
        upcoming = False
        if self.programme is not None and self._clock_ok():
            item, offset = self._next_item(now)
            if item is not None:
                delta = 0.0 if self._early(item, now, offset) else (item.start - now).total_seconds()
                lead = self._s.hardware.relay_lead_s
                if delta <= lead:
                    upcoming = True
                    self._relay(True, "chuẩn bị phát")
                if delta <= 0:
                    if self._relay_ready_now():
                        await self._play_item(item, offset)
                        return 0
                    return self._lead_left()
                wait_s = min(wait_s, delta - lead if delta > lead else delta)
        due = self._book.next_time()
        if due is not None:
            wait_s = min(wait_s, max((due - now).total_seconds(), 0.01))
        if self._hw.relay.is_on and not upcoming:
            idle = time.monotonic() - self._idle_since
            if idle >= self._s.hardware.relay_idle_off_s:
                self._relay(False, "hết tin, tắt tăng âm")
            else:
                wait_s = min(wait_s, self._s.hardware.relay_idle_off_s - idle)
        return max(wait_s, 0.01)

    def _clock_ok(self) -> bool:
        if self._trust.trusted:
            self._untrusted_logged = False
            return True
        if not self._untrusted_logged:
            log.warning("đồng hồ chưa được đồng bộ: tạm dừng lịch phát (tin khẩn cấp vẫn phát)")
            self._untrusted_logged = True
        return False

    # --- relay ---
    def _relay(self, on: bool, reason: str) -> None:
        if on and not self._hw.relay.is_on:
            self._relay_on_at = time.monotonic()
            log.info("bật tăng âm (%s)", reason)
        elif not on and self._hw.relay.is_on:
            log.info("tắt tăng âm (%s)", reason)
        self._hw.relay.set(on, reason=reason)
        self._on_change()

    def _relay_ready_now(self) -> bool:
        return self._hw.relay.is_on and self._lead_left() <= 0

    def _lead_left(self) -> float:
        return max(self._relay_on_at + self._s.hardware.relay_lead_s - time.monotonic(), 0.0)

    async def _relay_ready(self) -> None:
        """Power the amplifier and give it its lead time (no sleep if it is already warm)."""
        self._relay(True, "chuẩn bị phát")
        left = self._lead_left()
        if left > 0:
            await asyncio.sleep(left)

    # --- scheduled items ---
    def _next_item(self, now: datetime) -> tuple[ScheduledItem | None, int]:
        assert self.programme is not None
        states = self._store.item_states()
        for item in schedule.expand(self.programme, self._recalled):
            state, offset = states.get(item.key, ("new", 0))
            if state == "done":
                continue
            resumed = state in ("pending", "playing")
            if item.start > now:
                return item, offset
            late_s = (now - item.start).total_seconds()
            if not resumed and late_s > item.duration_s:
                self._skip(item, now, f"quá giờ phát {late_s:.0f} s (dài hơn thời lượng bản tin)", "late")
                continue
            remaining = max(item.bulletin.duration_ms - offset, 0) / 1000
            reason = schedule.last_moment_check(item, now, remaining_s=remaining, tz=self._s.timezone)
            if reason is not None:
                self._skip(item, now, f"kiểm tra trước khi phát: {reason}", reason)
                continue
            return item, offset
        return None, 0

    def _early(self, item: ScheduledItem, now: datetime, offset: int) -> bool:
        """A relay's stream is down: the window's next item may start now if it may play now."""
        until = self.fallback_until
        if until is None or not now < item.start < until:
            return False
        remaining = max(item.bulletin.duration_ms - offset, 0) / 1000
        return schedule.last_moment_check(item, now, remaining_s=remaining, tz=self._s.timezone) is None

    def _skip(self, item: ScheduledItem, now: datetime, detail: str, code: str) -> None:
        self._store.set_item(item.key, "done", now.isoformat())
        self._plays.record(
            item.bulletin, PlayOutcome.SKIPPED, item.start, None, None, 0, detail=detail, reason=code,
            event_id=f"{self._s.device_id}:{item.key}:skipped",
        )

    async def _play_item(self, item: ScheduledItem, offset: int) -> None:
        """The item's parts one after the other from `offset` (the Vietnamese, then the language versions of
        this commune: edge_agent/versions.py), each reported as a play with its language."""
        seq = parts(item.bulletin)
        for part in seq:
            if offset < part.end_ms and not await self._play_part(item, part, offset, last=part is seq[-1]):
                return

    async def _play_part(self, item: ScheduledItem, part: Part, offset: int, *, last: bool) -> bool:
        """One part from the item's `offset`: True when done with it (played or failed), False when cut off
        (the item's state then says what comes back, from where within the whole item)."""
        b, lang = part.info, part.language
        offset = max(offset - part.start_ms, 0)
        started = self._clock.now()
        tag = "" if lang == VIE else f":{lang}"
        path = await self._fetch(b, MEDIA_WAIT_ITEM_S)
        if isinstance(path, str):
            self._part_done(item, part, started, last=last)
            self._plays.record(
                b, PlayOutcome.FAILED, item.start, started, self._clock.now(), offset, detail=path,
                event_id=f"{self._s.device_id}:{item.key}{tag}:failed", language=lang,
            )  # fmt: skip
            return True
        started = self._clock.now()
        self._store.set_item(
            item.key, "playing", started.isoformat(), offset_ms=part.start_ms + offset,
            started_at=started.isoformat(),
        )  # fmt: skip
        eid = f"{self._s.device_id}:{item.key}{tag}:{started.isoformat()}"

        def progress(pos: int) -> None:  # so a restart after power loss can resume near here
            at = self._clock.now().isoformat()
            self._store.set_item(
                item.key, "playing", at, offset_ms=part.start_ms + pos, started_at=started.isoformat()
            )

        try:
            result, intr, pos = await self._run_audio(path, b, offset, NowPlaying(b.id, False), progress)
        except asyncio.CancelledError:
            pos = self._hw.audio.position_ms()
            self._after_interrupt(item, part.start_ms + pos, Interrupt(None, "shutdown"))
            self._plays.record(
                b, PlayOutcome.INTERRUPTED, item.start, started, self._clock.now(), offset,
                detail="agent dừng (tắt máy/khởi động lại)", event_id=f"{eid}:interrupted", language=lang,
            )  # fmt: skip
            raise
        ended = self._clock.now()
        if intr is None:
            assert result is not None
            self._part_done(item, part, ended, last=last)
            self._plays.result(b, result, item.start, started, ended, offset, eid, language=lang)
            return True
        self._after_interrupt(item, part.start_ms + pos, intr)
        self._plays.record(
            b, PlayOutcome.INTERRUPTED, item.start, started, ended, offset, interrupted_by=intr.by,
            detail=why(intr), event_id=f"{eid}:interrupted", language=lang,
        )  # fmt: skip
        return False

    def _part_done(self, item: ScheduledItem, part: Part, at: datetime, *, last: bool) -> None:
        """The item is done after its last part; before, a restart goes on with the next part."""
        if last:
            self._store.set_item(item.key, "done", at.isoformat())
        else:
            self._store.set_item(item.key, "playing", at.isoformat(), offset_ms=part.end_ms,
                                 started_at=at.isoformat())  # fmt: skip

    def _after_interrupt(self, item: ScheduledItem, pos: int, intr: Interrupt) -> None:
        at = self._clock.now().isoformat()
        held = ("emergency", "live", "relay", "shutdown")
        mode = item.bulletin.after_interrupt if intr.reason in held else "drop"
        if mode == "resume":
            self._store.set_item(item.key, "pending", at, offset_ms=pos)
        elif mode == "restart":
            self._store.set_item(item.key, "pending", at, offset_ms=0)
        else:
            self._store.set_item(item.key, "done", at)

    # --- emergencies ---
    async def _play_emergency(self, em: Emergency) -> None:
        b = em.alert.bulletin
        now = self._clock.now()
        if b is None or b.media is None:
            self._book.played(em, now)
            return
        path = await self._fetch(b, MEDIA_WAIT_EMERGENCY_S)
        if isinstance(path, str):
            log.error(
                "không tải được tin khẩn cấp %s: %s; thử lại sau %.0f s", em.id, path, EMERGENCY_RETRY_S
            )
            self._book.postpone(
                em, self._clock.now() + timedelta(seconds=EMERGENCY_RETRY_S), self._clock.now()
            )
            return
        started = self._clock.now()
        self._book.started(em, started)
        eid = f"{self._s.device_id}:{em.id}:{started.isoformat()}"
        exercise = em.alert.status == "Exercise" or b.exercise
        offset = em.offset_ms
        try:
            result, intr, pos = await self._run_audio(
                path,
                b,
                offset,
                NowPlaying(em.id, True),
                lambda pos: self._book.progress(em, pos, self._clock.now()),
            )
        except asyncio.CancelledError:
            pos = self._hw.audio.position_ms()
            self._book.interrupted(em, self._clock.now(), position_ms=pos, restart=True)
            self._plays.record(
                b,
                PlayOutcome.INTERRUPTED,
                None,
                started,
                self._clock.now(),
                offset,
                emergency=True,
                exercise=exercise,
                detail="agent dừng",
                event_id=f"{eid}:interrupted",
            )
            raise
        ended = self._clock.now()
        if intr is None:
            assert result is not None
            self._book.played(em, ended)
            self._plays.result(
                b, result, None, started, ended, offset, eid, emergency=True, exercise=exercise
            )
            return
        detail = why(intr)
        if intr.reason == "emergency" and intr.by == em.id:
            detail = "bản cập nhật thay thế"  # an Update of this very emergency: the book holds the new one
        elif intr.reason in ("emergency", "live"):
            mode = self._book.interrupted(em, ended, position_ms=pos)  # comes back once the newer one is over
            detail = f"{detail}; sau đó {AFTER.get(mode, mode)}"
        elif intr.reason == "stop":
            self._book.played(em, ended)
        self._plays.record(
            b,
            PlayOutcome.INTERRUPTED,
            None,
            started,
            ended,
            offset,
            emergency=True,
            exercise=exercise,
            interrupted_by=intr.by,
            detail=detail,
            event_id=f"{eid}:interrupted",
        )

    async def _play_tone(self) -> None:
        assert self._tone is not None
        path, fut = self._tone
        info = BulletinInfo("test_tone", "Âm thử", Priority.NORMAL, Origin.PROVINCE, "audio", 3000)
        try:
            result, intr, _ = await self._run_audio(path, info, 0, NowPlaying("test_tone", False))
        finally:
            self._tone = None
        if not fut.done():
            fut.set_result(
                "" if result and result.completed else (result.error if result else why(intr)) or "lỗi"
            )

    # --- shared ---
    async def _fetch(self, b: BulletinInfo, wait_s: float) -> Path | str:
        if b.media is None:
            return "bản tin không có tệp âm thanh"
        path = self._media.cached(b.media)  # the usual case (prefetched, or attached to the alert): no wait
        if path is not None:
            return path
        try:
            return await asyncio.wait_for(self._media.ensure(b.media), timeout=wait_s)
        except (MediaError, TimeoutError) as exc:
            return f"thiếu tệp âm thanh: {exc or 'hết thời gian chờ tải'}"

    async def _run_audio(
        self,
        path: Path,
        b: BulletinInfo,
        offset: int,
        playing: NowPlaying,
        on_progress: Callable[[int], None] | None = None,
    ) -> tuple[PlayResult | None, Interrupt | None, int]:
        """Play until done or interrupted: (result, None, offset) or (None, interrupt, position reached).
        `on_progress(position_ms)` every PROGRESS_EVERY_S saves where it got to (resume after power loss)."""
        self._interrupt = None
        self._interrupt_evt.clear()
        self.now_playing = replace(playing, since=self._clock.now())
        self._on_change()
        log.info("bắt đầu phát %s%s (từ %d ms)", "KHẨN CẤP " if playing.emergency else "", b.id, offset)
        task = asyncio.create_task(
            self._hw.audio.play(path, offset_ms=offset, duration_ms=b.duration_ms, label=b.id),
            name=f"audio:{b.id}",
        )
        waiter = asyncio.create_task(self._interrupt_evt.wait(), name="interrupt-wait")
        try:
            while True:
                done, _ = await asyncio.wait(
                    {task, waiter}, timeout=PROGRESS_EVERY_S, return_when=asyncio.FIRST_COMPLETED
                )
                if task in done:
                    try:
                        return task.result(), None, offset
                    except Exception as exc:
                        return PlayResult(False, 0, error=f"{exc.__class__.__name__}: {exc}"), None, offset
                if waiter in done:
                    pos = self._hw.audio.position_ms()
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    return None, self._interrupt or Interrupt(None, "stop"), pos
                if on_progress is not None and not self._interrupt_evt.is_set():
                    on_progress(self._hw.audio.position_ms())
        finally:
            for t in (task, waiter):
                if not t.done():
                    t.cancel()
            await asyncio.gather(task, waiter, return_exceptions=True)
            self.now_playing = None
            self._idle_since = time.monotonic()
            self._on_change()

    # --- after a crash or power loss ---
    def _recover(self) -> None:
        items = {i.key: i for i in schedule.expand(self.programme, set())} if self.programme else {}
        for key, offset, started_at, updated_at in self._store.items_in_state("playing"):
            item = items.get(key)
            if item is None:
                self._store.set_item(key, "done", self._clock.now().isoformat())
                continue
            self._after_interrupt(item, offset, Interrupt(None, "shutdown"))
            self._plays.record(
                item.bulletin,
                PlayOutcome.INTERRUPTED,
                item.start,
                parse_time(started_at) if started_at else None,
                parse_time(updated_at),
                offset,
                detail="agent khởi động lại giữa chừng (mất điện hoặc lỗi); vị trí cuối đã lưu",
                event_id=f"{self._s.device_id}:{key}:{started_at}:interrupted",
            )
        for eid, row in self._store.emergencies().items():
            em = self._book.get(eid)
            if row["playing_since"] and em is not None and em.alert.bulletin is not None:
                reached = int(row["offset_ms"] or 0)  # the last saved position of that play
                mode = self._book.interrupted(em, self._clock.now(), position_ms=reached, restart=True)
                self._plays.record(
                    em.alert.bulletin,
                    PlayOutcome.INTERRUPTED,
                    None,
                    parse_time(row["playing_since"]),
                    None,
                    reached,
                    emergency=True,
                    detail=f"agent khởi động lại giữa chừng; {AFTER.get(mode, mode)}",
                    event_id=f"{self._s.device_id}:{eid}:{row['playing_since']}:interrupted",
                )


