"""LedBoard: runs BoardLogic on the agent's clock, serves the player page and pushes each change to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiohttp import web

from edge_agent.player import NowPlaying
from hardware.display import DisplayPanel, SimDisplayPanel
from protocol.clock import Clock
from protocol.messages import AlertBody, LiveBody, ProgrammeBody

from .logic import BoardLogic, Display, panel_setting
from .server import build_app
from .windows import DEFAULT_TZ

log = logging.getLogger(__name__)
TICK_S = 0.25  # how often the rotation and the clock are looked at; changes push at once anyway
SEND_TIMEOUT_S = 2.0


class LedSettings(Protocol):
    """What the board reads from edge_agent.config.LedSettings (read-only there: a frozen dataclass)."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def http_host(self) -> str: ...
    @property
    def http_port(self) -> int: ...
    @property
    def standby(self) -> str: ...
    @property
    def windows(self) -> Sequence[str]: ...


class LedBoard:
    """The LED board's player inside the agent (the Player protocol of edge_agent/player.py): shows the
    programme and the emergencies on the player page and the panel, and reports each display."""

    has_speaker = False

    def __init__(
        self,
        *,
        settings: LedSettings,
        media_dir: Path,
        clock: Clock,
        on_display: Callable[[dict[str, Any]], None],
        panel: DisplayPanel | None = None,
        tz: str = DEFAULT_TZ,
    ) -> None:
        self.media_dir = Path(media_dir)
        self.width, self.height = int(settings.width), int(settings.height)
        self._host, self._port = settings.http_host, int(settings.http_port)
        self._clock = clock
        self._on_display = on_display
        self._tz = tz
        # The frames shown are a fact whatever the hardware; the sim panel keeps them beside the media cache.
        self.panel = panel if panel is not None else SimDisplayPanel(self.media_dir.parent, clock=clock)
        self._logic = BoardLogic(
            windows=list(settings.windows),
            standby=settings.standby,
            width=self.width,
            height=self.height,
            tz=tz,
            has_media=lambda sha: (self.media_dir / sha).is_file(),
        )
        self._mime: dict[str, str] = {}
        self._clients: set[web.WebSocketResponse] = set()
        self._wake = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._task: asyncio.Task[None] | None = None
        self._sent: str | None = None
        self._frame_key: object = None
        self._panel_state: tuple[bool, int] | None = None
        self.url: str | None = None

    # --- lifetime -----------------------------------------------------------------------------------

    async def start(self) -> str:
        """Serve the player page; returns its URL."""
        runner = web.AppRunner(build_app(self), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise RuntimeError(
                f"LED player cannot listen on {self._host}:{self._port} ({exc}); "
                "change [led] http_port in the agent config or stop what uses it"
            ) from exc
        self._runner = runner
        port = runner.addresses[0][1]
        self.url = f"http://{self._host}:{port}/"
        self._task = asyncio.create_task(self._run(), name="led-board")
        log.info("LED player page at %s (%dx%d)", self.url, self.width, self.height)
        return self.url

    async def run(self) -> None:
        """The board's loop, started by start(), as a task of the agent's (cancelling this cancels it)."""
        if self._task is None:
            raise RuntimeError("LedBoard.run() before start()")
        await self._task

    async def stop(self) -> None:
        """Close the page and report what was on screen; a second call does nothing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._emit(self._logic.close(self._clock.now(), "agent stopped"))
        for ws in list(self._clients):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), SEND_TIMEOUT_S)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- what the core tells the board --------------------------------------------------------------

    def set_programme(self, programme: ProgrammeBody) -> None:
        for info in programme.bulletins:
            for ref in (info.media, info.subtitles):
                if ref is not None:
                    self._mime[ref.sha256] = "text/vtt; charset=utf-8" if ref is info.subtitles else ref.mime
        self._apply(lambda now: self._logic.set_programme(programme, now))

    def emergency(self, alert: AlertBody) -> None:
        if alert.bulletin is not None and alert.bulletin.media is not None:
            self._mime[alert.bulletin.media.sha256] = alert.bulletin.media.mime
        self._apply(lambda now: self._logic.emergency(alert, now))

    def cancel(self, identifier: str) -> None:
        self._apply(lambda now: self._logic.cancel(identifier, now))

    def live(self, body: LiveBody) -> None:
        """Live announcements are sound: a board shows nothing of them."""
        log.info("bỏ qua phát trực tiếp %s: bảng tin không có loa", body.session_id)

    def recall(self, bulletin_ids: Sequence[str]) -> None:
        self._apply(lambda now: self._logic.recall(list(bulletin_ids), now))

    def stop_playing(self) -> str:
        """The `stop` command: back to standby (see BoardLogic.stop); returns what it did, in Vietnamese."""
        was = self.now_showing
        now = self._clock.now()
        self._apply(self._logic.stop)
        until = self._logic.hold_until
        if until is not None and until > now:
            local = until.astimezone(ZoneInfo(self._tz)).strftime("%H:%M")
            after = f"bảng tin để chế độ chờ đến {local} (bản tin kế tiếp hoặc hết khung giờ)"
        else:
            after = "bảng tin để chế độ chờ"
        return f"đã dừng hiển thị {was}; {after}" if was else f"không có gì đang hiển thị; {after}"

    def set_clock_trusted(self, trusted: bool) -> None:
        self._apply(lambda now: self._logic.set_clock_trusted(trusted, now))

    def request_tone(self, path: Path) -> asyncio.Future[str]:
        """A board has no loudspeaker (has_speaker is False): refused."""
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        fut.set_result("bảng tin LED không có loa để phát âm thử")
        return fut

    @property
    def now_playing(self) -> NowPlaying | None:
        """The bulletin on screen (the device status's now_playing, state and playing_since)."""
        on = self._logic.showing
        return None if on is None else NowPlaying(on.bulletin_id, on.emergency, on.started_at)

    # --- for the HTTP side --------------------------------------------------------------------------

    def current_screen(self) -> dict[str, Any]:
        return self._logic.screen(self._clock.now())

    def mime_for(self, sha256: str) -> str | None:
        return self._mime.get(sha256)

    def acknowledge(self, key: str) -> None:
        self._logic.acknowledge(key)

    def attach(self, ws: web.WebSocketResponse) -> None:
        self._clients.add(ws)

    def detach(self, ws: web.WebSocketResponse) -> None:
        self._clients.discard(ws)

    @property
    def now_showing(self) -> str | None:
        """The bulletin on screen (for the device status), or None on standby."""
        return self._logic.showing.bulletin_id if self._logic.showing is not None else None

    @property
    def showing_since(self) -> datetime | None:
        """When the bulletin on screen was put there (for the device status), or None on standby."""
        return self._logic.showing.started_at if self._logic.showing is not None else None

    @property
    def mode(self) -> str:
        """standby | slide | emergency."""
        showing = self._logic.showing
        return "standby" if showing is None else "emergency" if showing.emergency else "slide"

    @property
    def viewers(self) -> int:
        return len(self._clients)

    # --- internals ----------------------------------------------------------------------------------

    def _apply(self, change: Callable[[Any], list[Display]]) -> None:
        self._emit(change(self._clock.now()))
        self._wake.set()  # the loop pushes the new screen at once

    def _emit(self, displays: list[Display]) -> None:
        for display in displays:
            try:
                self._on_display(display)
            except Exception:  # the core's bookkeeping must not stop the board
                log.exception("on_display failed for %s", display.get("bulletin_id"))

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for loses a cancel that comes just as the event
            # is set (stop() right after a change), and stop() would wait forever
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await self._wake.wait()
            self._wake.clear()
            try:
                now = self._clock.now()
                self._emit(self._logic.tick(now))
                screen = self._logic.screen(now)
                await self._drive_panel(screen, now.astimezone(ZoneInfo(self._tz)).hour)
                await self._push(screen)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad programme must not leave the board frozen forever
                log.exception("LED board update failed; retrying on the next tick")

    async def _push(self, screen: dict[str, Any]) -> None:
        text = json.dumps(screen, ensure_ascii=False, sort_keys=True)
        if text == self._sent:
            return
        self._sent = text
        for ws in list(self._clients):
            try:
                await asyncio.wait_for(ws.send_str(text), SEND_TIMEOUT_S)
            except (ConnectionError, RuntimeError, TimeoutError):
                self._clients.discard(ws)  # the page reconnects by itself

    async def _drive_panel(self, screen: dict[str, Any], hour: int) -> None:
        slide, em = screen["slide"], screen["emergency"]
        key = (screen["mode"], (slide or em or {}).get("key"))
        if key != self._frame_key:
            self._frame_key = key
            frame = {"mode": screen["mode"], "key": key[1]}
            if slide:
                frame.update(bulletin_id=slide["bulletin_id"], form=slide["form"], title=slide["title"])
            if em:
                frame.update(bulletin_id=em["id"], title=em["title"], exercise=em["exercise"])
            await asyncio.to_thread(self.panel.record_frame, frame)
        wanted = panel_setting(screen["mode"], screen["standby"], hour)
        if wanted != self._panel_state:
            previous, self._panel_state = self._panel_state, wanted
            if previous is None or previous[0] != wanted[0]:
                await asyncio.to_thread(self.panel.set_power, wanted[0])
            if wanted[0] and (previous is None or previous[1] != wanted[1]):
                await asyncio.to_thread(self.panel.set_brightness, wanted[1])
