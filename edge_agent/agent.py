"""The agent core: verifies what arrives, keeps it in the store, owns the programme and hands it to its
player (edge_agent/player.py: the radio runner or the LED board, chosen by __main__), and reports. Built
and run by __main__; transport in transport.py; the hub's commands in commands.py."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.clocktrust import ClockTrust
from edge_agent.commands import Commands
from edge_agent.config import Settings
from edge_agent.emergency import EmergencyBook
from edge_agent.media import _HEX64, MediaCache
from edge_agent.player import PlayerFactory, PlayerParts
from edge_agent.reporter import Reporter
from edge_agent.store import Store
from edge_agent.windows import Windows
from hardware import Hardware
from protocol.clock import Clock, parse_time
from protocol.envelope import Envelope, EnvelopeError, Verifier, check_attachment, check_audience
from protocol.keys import load_public_key
from protocol.messages import (
    AlertBody,
    CommandBody,
    DeviceStatus,
    LiveBody,
    MediaRef,
    ProgrammeBody,
    RecallBody,
)
from protocol.topics import Topics, ancestors

log = logging.getLogger("edge_agent")

SOFTWARE = "nguon-agent 0.1.0"
KEEP_DAYS = 7  # finished emergencies and item states are kept this long (the outbox is never pruned)
HOUSEKEEPING_EVERY_S = 3600.0
SLOW_FACTS_S = 30.0  # disk free and temperature change slowly; read them at most this often


class Agent:
    """One device's core. `player` is the factory __main__ picked for the device kind (edge_agent/players.py);
    the agent builds the player from its parts and owns what it plays: the programme, the emergency book."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock,
        hw: Hardware,
        store: Store,
        trust: ClockTrust,
        player: PlayerFactory,
        config_area: str | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.hw = hw
        self.store = store
        self.trust = trust
        self.topics = Topics(settings.topic_prefix)
        self.verifier = Verifier([load_public_key(k) for k in settings.hub_public_keys])
        self.reporter = Reporter(
            store=store, device_id=settings.device_id, data_dir=settings.data_path, now=clock.now
        )
        self.book = EmergencyBook(store)
        self.status_changed = asyncio.Event()
        self.status_forced = False  # the next status goes out even if nothing in it changed
        self._slow_facts: tuple[float, int, int | None] | None = None  # (when, disk free MB, temperature)
        self.media = MediaCache(
            settings.data_path / "media",
            store=store,
            hub_url=settings.hub_url,
            max_bytes=settings.media_cache_mb * 1024 * 1024,
            needed=self._needed_media,
        )
        self.player = player(
            PlayerParts(
                settings=settings,
                clock=clock,
                hw=hw,
                trust=trust,
                store=store,
                reporter=self.reporter,
                media=self.media,
                book=self.book,
                changed=self.status_changed.set,
            )
        )
        # The programme is the agent's: the last accepted one (saved in the store), its version, the
        # windows it carries (the commune's own, Art. 10; the config's before a first programme), and the
        # recalled bulletins. The player gets each new programme; the media cache keeps what it needs.
        self.programme: ProgrammeBody | None = None
        self.programme_version = 0
        self.windows = Windows(settings.windows, settings.timezone)
        self._recalled = store.recalled()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.resubscribe: Callable[[], None] = lambda: None  # the transport's, once connected
        self.commands = Commands(
            player=self.player,
            reporter=self.reporter,
            mixer=hw.mixer,
            media=self.media,
            store=store,
            data_dir=settings.data_path,
            spawn=self.spawn,
            changed=self.status_changed.set,
            request_status=self.request_status,
            resubscribe=lambda: self.resubscribe(),  # noqa: PLW0108 - the transport sets it later
            refetch=self.prefetch,
            move_to=self.move_to,
        )
        # set_area (a reorganisation): the agent stops and runs again in `moved_to` (edge_agent/__main__.py)
        self.config_area = config_area or settings.area
        self.moved_to: str | None = None
        self.moved = asyncio.Event()
        self._types_by_topic: dict[str, tuple[str, ...]] | None = None
        self._housekept_at: float | None = None
        self._trusted_seen = trust.trusted
        self.player.set_clock_trusted(trust.trusted)
        saved = store.programme(settings.kind)
        if saved is not None:
            self.programme_version = saved[0]
            self._apply_programme(ProgrammeBody.from_dict(saved[1]), stored=True)
        for em in self.book.active():  # those of the last run and of the saved programme
            self.player.emergency(em.alert)
        self.housekeeping()

    def housekeeping(self) -> None:
        """At most hourly: forget finished emergencies and item states older than KEEP_DAYS (never events)."""
        if self._housekept_at is not None and time.monotonic() - self._housekept_at < HOUSEKEEPING_EVERY_S:
            return
        if not self.trust.trusted:
            return  # a clock that is wrong (a Pi booting in 2035) must not decide what is old
        self._housekept_at = time.monotonic()
        now = self.clock.now()
        self.book.expire(now)  # the radio runner does this as it goes; an LED board's book needs it here
        cutoff = now - timedelta(days=KEEP_DAYS)
        local_date = cutoff.astimezone(ZoneInfo(self.settings.timezone)).date().isoformat()
        gone = self.store.prune(before=cutoff.isoformat(), before_date=local_date)
        self.book.forget_pruned()
        if any(gone.values()):
            log.info("dọn kho: %d tin khẩn cấp cũ, %d lượt phát cũ", gone["emergencies"], gone["items"])

    def move_to(self, area: str) -> str:
        """set_area: keep `area` in the store and stop, to run again there (edge_agent/__main__.py)."""
        here = self.settings.area
        if area == here:
            return f"đã ở khu vực {area}"
        self.store.save_area(area, self.config_area)
        log.warning("địa bàn được sắp xếp lại: chuyển từ %s sang %s", here, area)
        self.moved_to = area
        self.moved.set()
        return f"chuyển từ {here} sang {area}"

    # --- subscriptions and streams ---
    def subscriptions(self) -> list[str]:
        return self.topics.agent_subscriptions(
            self.settings.area, self.settings.kind, self.settings.device_id
        )

    def _expected_types(self, topic: str) -> tuple[str, ...]:
        if self._types_by_topic is None:  # the same for the agent's life: built once
            s = self.settings
            alert_types = ("alert", "recall", "live")
            self._types_by_topic = {self.topics.alert(a): alert_types for a in ancestors(s.area)}
            self._types_by_topic[self.topics.program(s.area, s.kind)] = ("programme",)
            self._types_by_topic[self.topics.cmd(s.device_id)] = ("command",)
        return self._types_by_topic.get(topic, ())

    def _needed_media(self) -> set[str]:
        """What the media cache must keep: the programme's files (but a recalled bulletin's) and the
        active emergencies'."""
        return self.book.needed_media() | {ref.sha256 for ref in self._programme_media(emergency_first=False)}

    def _programme_media(self, *, emergency_first: bool) -> list[MediaRef]:
        if self.programme is None:
            return []
        bulletins = self.programme.bulletins
        if emergency_first:
            bulletins = sorted(bulletins, key=lambda b: b.priority != "emergency")
        return [
            ref
            for b in bulletins
            if b.id not in self._recalled
            for ref in (b.media, b.subtitles, *(v.media for v in b.languages))
            if ref is not None
        ]

    # --- incoming ---
    def handle(self, topic: str, payload: bytes, *, retained: bool) -> None:
        """Verify and apply one message; anything bad is dropped, counted and reported, never raised."""
        try:
            env = self.verifier.verify(payload, now=self.clock.now())
            if env.type not in self._expected_types(topic):
                raise EnvelopeError("malformed", f"message type {env.type!r} does not belong on this topic")
            # Only topics of its own areas and its own device reach this point (the map above), so a message
            # whose signed audience names this topic was published for this device: one moved here from
            # another commune's or another device's topic is refused before its seq is even looked at.
            check_audience(env, topic)
            last = self.store.last_seq(topic)
            if last is not None and env.seq <= last[0]:
                if self.store.seen(topic, env.seq, env.id):
                    # A copy of one accepted recently: the other broker's (docs/OPERATIONS.md, two brokers)
                    # or the retained programme handed again on a (re)subscribe. It was acted on once.
                    log.debug("bỏ qua bản lặp của %s (seq %d) trên %s", env.id, env.seq, topic)
                    return
                raise EnvelopeError("replayed", f"seq {env.seq} is not above {last[0]} already accepted")
            if not retained:
                self.trust.hub_time(env.issued_at)
                self.sync_clock_trust()
            # One commit (one fsync) for what the message changes and its seq: both or neither survive a
            # power cut. The radio acts on it only after this returns, i.e. after the commit.
            with self.store.transaction():
                self._dispatch(env, topic)
                self.store.save_seq(topic, env.seq, env.id)
        except EnvelopeError as exc:
            self.reporter.rejected_message(exc.reason, exc.detail, topic)
            self.status_changed.set()
        except (KeyError, TypeError, ValueError) as exc:
            self.reporter.rejected_message("malformed", f"body: {exc.__class__.__name__} {exc}", topic)
            self.status_changed.set()

    def _dispatch(self, env: Envelope, topic: str) -> None:
        body = dict(env.body)
        if env.type == "programme":
            self._on_programme(ProgrammeBody.from_dict(body))
        elif env.type == "alert":
            self._on_alert(AlertBody.from_dict(body), topic, env)
        elif env.type == "recall":
            self._on_recall(RecallBody.from_dict(body).bulletin_ids)
        elif env.type == "command":
            self.commands.handle(CommandBody.from_dict(body), command_id=env.id)
        elif env.type == "live":
            self.player.live(LiveBody.from_dict(body))

    def _on_programme(self, p: ProgrammeBody) -> None:
        if p.area != self.settings.area or p.kind != self.settings.kind:
            raise EnvelopeError(
                "malformed",
                f"programme for {p.area}/{p.kind}, this device is {self.settings.area}/{self.settings.kind}",
            )
        if p.version < self.programme_version:
            log.info("bỏ qua chương trình cũ v%d (đang có v%d)", p.version, self.programme_version)
            return
        self.store.save_programme(p.kind, p.version, p.to_dict(), self.clock.now().isoformat())
        self.programme_version = p.version
        log.info("nhận chương trình v%d: %d ngày, %d bản tin", p.version, len(p.days), len(p.bulletins))
        self._apply_programme(p, stored=False)

    def _apply_programme(self, p: ProgrammeBody, *, stored: bool) -> None:
        """Hold `p` and hand it to the player. `stored`: the saved one, at start (the player hears of its
        emergencies with the others', in __init__)."""
        for bid in p.recalled:
            self._recall_one(bid, confirm=not stored)
        now = self.clock.now()
        self.programme = p
        self.windows.set_programme(p)
        self.player.set_programme(p)
        for eid in self.book.from_programme(
            [e for e in p.emergencies if e not in self._recalled], p.bulletins, now
        ):
            log.warning("tin khẩn cấp %s đang hiệu lực (từ chương trình): phát ngay", eid)
            self._emergency_started(eid, tell_player=not stored)
        self.status_changed.set()
        if not stored:
            self.prefetch()

    def prefetch(self) -> None:
        """Download what the programme needs and the cache lacks, emergencies first (in the background)."""
        if self.programme is None:
            return
        self.spawn(self.media.prefetch(self._programme_media(emergency_first=True)), "prefetch")

    def _on_alert(self, alert: AlertBody, topic: str, env: Envelope | None = None) -> None:
        now = self.clock.now()
        if alert.msg_type not in ("Alert", "Update", "Cancel"):
            raise EnvelopeError("malformed", f"msg_type {alert.msg_type!r}")
        if alert.msg_type != "Cancel" and parse_time(alert.expires) <= now:
            raise EnvelopeError("expired", f"emergency {alert.identifier} expired at {alert.expires}")
        if self.store.is_recalled(alert.identifier):
            log.warning("bỏ qua tin khẩn cấp %s: đã bị thu hồi", alert.identifier)
            return
        if alert.msg_type != "Cancel" and (alert.bulletin is None or alert.bulletin.id != alert.identifier):
            raise EnvelopeError("malformed", "an Alert/Update must carry its bulletin with the same id")
        known = self.book.get(alert.identifier)
        if alert.msg_type != "Cancel" and env is not None and (known is None or alert.msg_type == "Update"):
            alert = self._attached_audio(alert, env)  # not for a repeat the book ignores (a duplicate)
        what = self.book.alert(alert, now)
        log.warning("tin khẩn cấp %s trên %s: %s -> %s", alert.identifier, topic, alert.msg_type, what)
        if what in ("new", "update"):
            self._emergency_started(alert.identifier)
        elif what == "cancel":
            self.player.cancel(alert.identifier)
        self.status_changed.set()

    def _attached_audio(self, alert: AlertBody, env: Envelope) -> AlertBody:
        """Cache the audio attached to the alert, so the emergency plays with no download: its compact Opus
        copy (alert.alert_audio; the alert is then played from it) or else the bulletin's file itself. One
        that does not match its signed sha256 is ignored: the bulletin's file is downloaded as usual."""
        media = alert.bulletin.media if alert.bulletin is not None else None
        if media is None:
            return alert
        for ref in (alert.alert_audio, media):
            if ref is None or not _HEX64.fullmatch(ref.sha256):  # (a bulletin's own is checked on download)
                continue
            if not self.media.has(ref.sha256):
                data = check_attachment(env, ref.sha256, ref.size) if env.attachments else None
                if data is None:
                    continue
                try:
                    self.media.put(ref.sha256, data)  # no download before the emergency plays
                except OSError as exc:  # e.g. a full card: the emergency still stands, the radio fetches
                    log.error("không ghi được âm thanh kèm %s (%s): sẽ tải về", alert.identifier, exc)
                    return alert
            if ref is media or alert.bulletin is None:
                return alert
            return replace(alert, bulletin=replace(alert.bulletin, media=ref))  # plays the Opus copy
        if env.attachments:
            log.warning("âm thanh kèm tin khẩn cấp %s không khớp sha256: sẽ tải về", alert.identifier)
        return alert

    def _emergency_started(self, eid: str, *, tell_player: bool = True) -> None:
        em = self.book.get(eid)
        assert em is not None
        media = em.alert.bulletin.media if em.alert.bulletin is not None else None
        if media is not None and not self.media.has(media.sha256):
            self.spawn(self.media.prefetch([media]), f"fetch:{eid}")
        if tell_player:
            self.player.emergency(em.alert)

    def _on_recall(self, ids: list[str]) -> None:
        for bid in ids:
            self._recall_one(bid, confirm=True)
        self.player.recall(ids)

    def _recall_one(self, bid: str, *, confirm: bool) -> None:
        """The agent's part of a recall (the player's comes after): remembered, out of the emergency book,
        its media dropped unless still needed, confirmed to the hub."""
        now = self.clock.now()
        new = self.store.add_recalled(bid, now.isoformat())
        self._recalled.add(bid)
        self.book.remove(bid, now)
        if self.programme is not None:
            for b in self.programme.bulletins:
                for ref in (b.media, *(v.media for v in b.languages)) if b.id == bid else ():
                    if ref is not None and ref.sha256 not in self._needed_media():
                        self.media.remove(ref.sha256)
        if new:
            log.warning("thu hồi bản tin %s", bid)
        if new or confirm:
            self.reporter.event(
                "recall_confirmed", {"bulletin_id": bid}, event_id=f"{self.settings.device_id}:recall:{bid}"
            )

    # --- status ---
    def sync_clock_trust(self) -> None:
        """Act on a change of the clock trust now: the player re-plans (the radio sleeps while untrusted,
        the LED board hides its clock face and rotation), the status tells the hub."""
        trusted = self.trust.trusted
        if trusted != self._trusted_seen:
            self._trusted_seen = trusted
            self.player.set_clock_trusted(trusted)
            self.status_changed.set()

    def request_status(self) -> None:
        """Send the status now even if nothing in it changed (the `report` command)."""
        self.status_forced = True
        self.status_changed.set()

    def status_key(self) -> tuple[Any, ...]:
        """What a status change is: the fields the hub acts on (not the time, disk, temperature or outbox,
        which the heartbeat carries). Cheap: the status loop asks on every wake-up."""
        playing = self.player.now_playing
        return (
            self._state(),
            playing.bulletin_id if playing else None,
            self.hw.mixer.level,
            self.trust.state,
            self.programme_version,
            self.reporter.rejected,
        )

    def status(self, state: str | None = None) -> DeviceStatus:
        playing = self.player.now_playing
        if state is None:
            state = self._state()
        now_playing = playing.bulletin_id if playing else None
        since = playing.since if playing else None
        disk_free_mb, temperature = self._slow()
        return DeviceStatus(
            device_id=self.settings.device_id,
            kind=self.settings.kind,
            state=state,
            at=self.clock.now().isoformat(),
            area=self.settings.area,
            now_playing=now_playing,
            volume=self.hw.mixer.level,
            clock=self.trust.state,
            programme_version=self.programme_version,
            software=SOFTWARE,
            disk_free_mb=disk_free_mb,
            temperature_c=temperature,
            outbox=self.store.outbox_size(),
            rejected=self.reporter.rejected,
            playing_since=since.isoformat() if since is not None and now_playing else None,
        )

    def _slow(self) -> tuple[int, int | None]:
        """Disk free and temperature, read at most every SLOW_FACTS_S (a statvfs and a sysfs read each)."""
        t = time.monotonic()
        if self._slow_facts is None or t - self._slow_facts[0] >= SLOW_FACTS_S:
            free = shutil.disk_usage(self.settings.data_path).free // (1024 * 1024)
            self._slow_facts = (t, free, _temperature())
        return self._slow_facts[1], self._slow_facts[2]

    def _state(self) -> str:
        playing = self.player.now_playing
        if playing is not None:
            return "emergency" if playing.emergency else "playing"
        try:
            inside = self.windows.open(self.clock.now()) is not None
        except (ImportError, AttributeError, ValueError):
            inside = False
        return "window" if inside else "idle"

    def write_local_status(self, status: DeviceStatus | str, *, connected: bool, broker: str = "") -> None:
        """<data_dir>/status.json: what the hub sees, for a technician on site (and the tests/bench), with
        whether it is connected and to which broker. `status` may be the JSON object already serialised for
        the broker (saves encoding it twice)."""
        text = status if isinstance(status, str) else json.dumps(status.to_dict(), ensure_ascii=False)
        if not text.endswith("}"):
            raise ValueError("a status must be a JSON object")
        extra = (
            f'"connected": {"true" if connected else "false"}, "broker": {json.dumps(broker)},'
            f' "pid": {os.getpid()}}}'
        )
        path = self.settings.data_path / "status.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text[:-1] + (", " if text != "{}" else "") + extra, encoding="utf-8")
        os.replace(tmp, path)

    # --- tasks ---
    def spawn(self, coro: Coroutine[Any, Any, object], name: str) -> None:
        """Run a short job in the background (a download, a resync); aclose() cancels what still runs."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.media.aclose()


def _temperature() -> int | None:
    try:
        return round(int(Path("/sys/class/thermal/thermal_zone0/temp").read_text().strip()) / 1000)
    except (OSError, ValueError):
        return None
