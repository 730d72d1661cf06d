"""Tiếp sóng on a loudspeaker: at a relay's fixed time (the programme's `relays`, docs/PROTOCOL.md, "Relays")
the agent plays the station's stream with ffmpeg, as a live announcement is played (edge_agent/stream.py),
holding the radio runner's programme.

When the stream is down (no sound received for DOWN_S: refused, dropped, unreachable) or silent (ffmpeg's
`silencedetect` hears nothing above SILENCE_DB for SILENCE_S; both in the agent's config, [radio]
relay_down_s and relay_silence_s, default 3 s) the relay lets the programme play instead: the
runner may start the window's next items early (edge_agent/radio.py, `fallback_until`). Meanwhile the
stream is listened to without sound (a probe); once it has been heard for SILENCE_S + PROBE_MARGIN_S, the
relay takes the loudspeaker back (an item playing then is cut off and comes back as its after_interrupt
says). An emergency cuts in over the relay at once, and the relay comes back only when no emergency is due
or playing. At the relay's end it reports one `play` event: bulletin_id = relay_id, `relay: true`,
`relayed_s` and `gaps`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from edge_agent.player import NowPlaying, PlayerParts
from edge_agent.plays import PlayLog
from edge_agent.stream import auth_header, check_url, close_decoder, decoder_command
from protocol.clock import parse_time
from protocol.messages import BulletinInfo, ProgrammeBody, RelayEntry
from protocol.vocabulary import Origin, PlayOutcome, Priority

log = logging.getLogger("edge_agent.rebroadcast")

DOWN_S = 3.0  # no sound from the station this long: fall back to the programme
SILENCE_S = 3.0  # silence this long (silencedetect's duration): fall back
SILENCE_DB = -50
PROBE_MARGIN_S = 0.5
RECONNECT_S = 0.3
TICK_S = 0.2
IDLE_S = 30.0
DONE_MEMORY = 64


_Slot = tuple[RelayEntry, datetime, datetime, datetime | None]  # entry, start, end, its window's end


class Radio(Protocol):
    """What a relay needs of the radio runner (edge_agent/radio.py)."""

    now_playing: NowPlaying | None
    fallback_until: datetime | None
    held_by: str | None  # a live session (or this relay) holds the loudspeaker

    def hold(self, by: str | None, reason: str = "live") -> None: ...

    def emergency_due(self) -> bool: ...


def silencedetect_command(out: Path | None, *, probe: bool, silence_s: float = SILENCE_S) -> list[str]:
    """The live decoder (stream.py) with `silencedetect` on its sound; a probe decodes to nothing."""
    cmd = decoder_command(out)
    cmd[cmd.index("error")] = "info"  # silencedetect reports at the info level
    cmd[cmd.index("-probesize") + 1] = "32768"
    at = cmd.index("-ac") + 2
    cmd[at:at] = ["-af", f"silencedetect=noise={SILENCE_DB}dB:d={silence_s}"]
    cmd.insert(1, "-nostats")
    if probe:
        cmd = [*cmd[: cmd.index("-af") + 2], "-f", "null", "-"]
    return cmd


class _Listen:
    """One connection to the station through one ffmpeg: is sound coming, and is it silent?"""

    def __init__(self, entry: RelayEntry, device: str, out: Path | None, probe: bool,
                 limits: tuple[float, float] = (DOWN_S, SILENCE_S)) -> None:
        self.entry, self.device, self.out, self.probe = entry, device, out, probe
        self.down_s, self.silence_s = limits
        self.last_data = time.monotonic()
        self.heard_since: float | None = None  # sound flowing (not silent) since
        self.silent = False
        self.bytes = 0
        self.error = ""

    def down_for(self) -> float:
        return time.monotonic() - self.last_data

    def healthy_for(self) -> float:
        if self.silent or self.heard_since is None or self.down_for() > 1.0:
            return 0.0
        return time.monotonic() - self.heard_since

    async def run(self, stop: asyncio.Event) -> None:
        proc = await asyncio.create_subprocess_exec(
            *silencedetect_command(self.out, probe=self.probe, silence_s=self.silence_s),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        tasks = [asyncio.ensure_future(self._feed(proc)), asyncio.ensure_future(self._read(proc)),
                 asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await close_decoder(proc)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        async for raw in proc.stderr:
            line = raw.decode(errors="replace")
            if "silence_start" in line:
                self.silent = True
                self.heard_since = None
            elif "silence_end" in line:
                self.silent = False
                self.heard_since = time.monotonic()
            elif "rror" in line:
                self.error = line.strip()[-200:]
        await asyncio.Event().wait()  # ffmpeg ended: the feeder notices its closed stdin

    async def _feed(self, proc: asyncio.subprocess.Process) -> None:
        import aiohttp  # noqa: PLC0415 - as edge_agent/media.py: an idle agent does not load it

        assert proc.stdin is not None
        e = self.entry
        headers = auth_header(self.device, e.token) if e.token else {}
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=self.down_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                try:
                    async with http.get(e.url, headers=headers) as r:
                        if r.status == 200:
                            async for chunk in r.content.iter_any():
                                if self.heard_since is None and not self.silent:
                                    self.heard_since = time.monotonic()
                                self.last_data = time.monotonic()
                                self.bytes += len(chunk)
                                proc.stdin.write(chunk)
                                await proc.stdin.drain()
                        self.error = f"HTTP {r.status}" if r.status != 200 else "luồng ngắt"
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    self.error = f"{exc.__class__.__name__}: {exc}"[:200]
                self.heard_since = None
                await asyncio.sleep(RECONNECT_S)


class Rebroadcast:
    """The radio runner's relay part (edge_agent/radio.py starts `run` with its loop)."""

    def __init__(self, parts: PlayerParts, radio: Radio) -> None:
        s = parts.settings
        self._device, self._hw, self._clock, self._radio = s.device_id, parts.hw, parts.clock, radio
        self._sim_dir = s.data_path / "played" if s.hardware.mode == "sim" else None
        self._plays, self._on_change, self._lead = PlayLog(parts.reporter, parts.hw), parts.changed, \
            s.hardware.relay_lead_s
        self._entries: list[_Slot] = []
        self._done: list[str] = []
        self._wake = asyncio.Event()
        self._emergency = asyncio.Event()
        self._count = 0
        self._limits = (s.radio.relay_down_s, s.radio.relay_silence_s)
        self.current: RelayEntry | None = None

    def set_programme(self, programme: ProgrammeBody) -> None:
        out = []
        for day in programme.days:
            ends = {w.label: w.end for w in day.window_spans}
            for e in day.relays:
                try:
                    check_url(e.url)
                    window_end = parse_time(ends[e.window]) if e.window in ends else None
                    out.append((e, parse_time(e.start), parse_time(e.end), window_end))
                except (ValueError, KeyError) as exc:
                    log.error("bỏ qua tiếp sóng %s: %s", e.relay_id, exc)
        self._entries = sorted(out, key=lambda x: x[1])
        self._wake.set()

    def emergency_arrived(self) -> None:
        """An emergency cuts in over the relay (it comes back when no emergency is due or playing)."""
        if self.current is not None:
            self._emergency.set()

    def _key(self, e: RelayEntry, start: datetime) -> str:
        return f"{e.relay_id}|{start.isoformat()}"

    def _due(self, now: datetime) -> tuple[_Slot | None, float]:
        wait = IDLE_S
        for x in self._entries:
            e, start, end, _ = x
            if end <= now or self._key(e, start) in self._done:
                continue
            if start <= now:
                return x, 0
            wait = min(wait, (start - now).total_seconds())
        return None, wait

    async def run(self) -> None:
        while True:
            self._wake.clear()
            due, wait = self._due(self._clock.now())
            if due is not None:
                self._done.append(self._key(due[0], due[1]))
                del self._done[:-DONE_MEMORY]
                await self._relay(*due)
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wait, 0.05)):
                    await self._wake.wait()

    # --- one relay, from its start (or now, if later) to its end
    async def _relay(self, e: RelayEntry, start: datetime, end: datetime, window_end: datetime | None
                     ) -> None:
        self.current = e
        relayed = 0.0
        gaps: list[dict[str, Any]] = []
        first: datetime | None = None
        log.warning("tiếp sóng %s «%s» từ %s", e.relay_id, e.title, e.url.split("?", 1)[0])
        try:
            while self._clock.now() < end:
                if self._emergency.is_set() or self._radio.emergency_due():
                    why = "nhường tin khẩn cấp"
                elif self._live(e):
                    why = "nhường phát trực tiếp"
                else:
                    on_air_from = self._clock.now()
                    why = await self._on_air(e, end)
                    secs = (self._clock.now() - on_air_from).total_seconds()
                    if why != "down_at_start":  # sound came: what it took to notice the failure was not
                        first = first or on_air_from
                        noticing = {"down": self._limits[0], "silent": self._limits[1]}.get(why, 0)
                        relayed += max(secs - noticing, 0)
                    why = {"down": "mất luồng", "down_at_start": "mất luồng", "silent": "luồng im lặng",
                           "emergency": "nhường tin khẩn cấp", "live": "nhường phát trực tiếp",
                           "end": ""}.get(why, why)
                if self._clock.now() >= end:
                    break
                gap_from = self._clock.now()
                self._radio.fallback_until = window_end or end
                self._release(e)
                log.warning("tiếp sóng %s: %s, phát chương trình thay thế", e.relay_id, why)
                await self._probe(e, end)
                self._radio.fallback_until = None
                gaps.append({"from": gap_from.isoformat(), "to": self._clock.now().isoformat(), "why": why})
        finally:
            self._radio.fallback_until = None
            if self._radio.now_playing is not None and self._radio.now_playing.bulletin_id == e.relay_id:
                self._radio.now_playing = None
            self._release(e)
            self.current = None
            self._emergency.clear()
            self._on_change()
            self._report(e, start, first, relayed, gaps)

    async def _on_air(self, e: RelayEntry, end: datetime) -> str:
        """Relay to the loudspeaker until the end ("end"), a failure ("down", "silent") or an emergency."""
        self._radio.hold(e.relay_id, "relay")
        deadline = time.monotonic() + 3.0
        while self._radio.now_playing is not None and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)  # the programme's item stops and reports itself
        self._hw.relay.set(True, reason=f"tiếp sóng {e.relay_id}")
        if self._lead > 0:
            await asyncio.sleep(self._lead)
        self._radio.now_playing = NowPlaying(e.relay_id, False, since=self._clock.now())
        self._on_change()
        out = self._out(e)
        listen = _Listen(e, self._device, out, probe=False, limits=self._limits)
        at = self._clock.now()
        why = await self._watch(listen, end, lambda: _failed(listen))
        if self._radio.now_playing is not None and self._radio.now_playing.bulletin_id == e.relay_id:
            self._radio.now_playing = None  # not a live session's, which may have taken over meanwhile
        self._on_change()
        if out is not None:
            self._index({"file": out.name, "source": "relay", "label": e.relay_id,
                         "started_at": at.isoformat(), "stopped_at": self._clock.now().isoformat(),
                         "bytes": listen.bytes, "error": listen.error or None})
        return "down_at_start" if why == "down" and listen.bytes == 0 else why

    async def _probe(self, e: RelayEntry, end: datetime) -> None:
        """Listen without sound until the stream is heard again (and no emergency is due) or the end."""
        listen = _Listen(e, self._device, None, probe=True, limits=self._limits)

        def back() -> str:
            heard = listen.healthy_for() >= listen.silence_s + PROBE_MARGIN_S
            busy = self._radio.emergency_due() or self._live(e) or (
                self._radio.now_playing is not None and self._radio.now_playing.emergency)
            if heard and not busy:
                self._emergency.clear()
                return "back"
            return ""

        await self._watch(listen, end, back)

    async def _watch(self, listen: _Listen, end: datetime, verdict: Callable[[], str]) -> str:
        stop = asyncio.Event()
        task = asyncio.ensure_future(listen.run(stop))
        try:
            while True:
                if self._clock.now() >= end:
                    return "end"
                if self._emergency.is_set() and not listen.probe:
                    return "emergency"
                if self._live(listen.entry) and not listen.probe:
                    return "live"
                why = verdict()
                if why:
                    return why
                if task.done():
                    return "down"
                await asyncio.sleep(TICK_S)
        finally:
            stop.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), 8)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _live(self, e: RelayEntry) -> bool:
        """A live session holds the loudspeaker (it preempts the programme, relays included)."""
        return self._radio.held_by not in (None, e.relay_id)

    def _release(self, e: RelayEntry) -> None:
        if self._radio.held_by == e.relay_id:  # never a live session's hold
            self._radio.hold(None)

    def _out(self, e: RelayEntry) -> Path | None:
        if self._sim_dir is None:
            return None
        self._sim_dir.mkdir(parents=True, exist_ok=True)
        self._count += 1
        stamp = self._clock.now().strftime("%Y%m%dT%H%M%S")
        return self._sim_dir / f"{stamp}-{os.getpid()}-relay{self._count:04d}-{_safe(e.relay_id)}.wav"

    def _index(self, record: dict[str, Any]) -> None:
        assert self._sim_dir is not None
        import json  # noqa: PLC0415

        with (self._sim_dir / "index.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _report(self, e: RelayEntry, start: datetime, first: datetime | None, relayed: float,
                gaps: list[dict[str, Any]]) -> None:
        info = BulletinInfo(e.relay_id, e.title, Priority.PRIORITY, Origin.PROVINCE, "stream", 0)
        outcome = PlayOutcome.COMPLETED if relayed > 0 else PlayOutcome.FAILED
        detail = f"tiếp sóng {relayed / 60:.1f} phút, {len(gaps)} lần gián đoạn" if relayed > 0 else \
            "không nhận được luồng tiếp sóng"
        self._plays.record(info, outcome, start, first, self._clock.now(), 0, detail=detail,
                           event_id=f"{self._device}:{e.relay_id}:{start.isoformat()}:relay", relay=True,
                           relayed_s=round(relayed, 1), gaps=gaps[:50], source=e.url.split("?", 1)[0][:200])
        log.warning("tiếp sóng %s xong: %.0f s, %d lần gián đoạn", e.relay_id, relayed, len(gaps))


def _failed(listen: _Listen) -> str:
    if listen.silent:
        return "silent"
    if listen.down_for() > listen.down_s:
        return "down"
    return ""


def _safe(label: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]", "_", label)[:60]
