"""Live announcements on a loudspeaker: the hub's signed `live` messages start and stop a stream from the
province's stream server, played with ffmpeg (reconnecting on drops) while the radio runner holds its
programme (edge_agent/radio.py `hold`); the interrupted item comes back as its after_interrupt says.

Rules (docs/PROTOCOL.md, "Live announcements"): a `start` plays only with an unexpired listening token; a
live emergency plays at any hour and nothing interrupts it; a live priority item plays only inside the
broadcast windows and gives way to an emergency. A session ends on its `stop`, or when its last token expired
without a fresh one (the hub repeats `start` every few seconds while the speaker talks). Each session is one
`play` report (bulletin id = session id), like any play.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from edge_agent.player import NowPlaying, PlayerParts
from edge_agent.plays import PlayLog
from edge_agent.windows import Windows
from protocol.clock import parse_time
from protocol.envelope import EnvelopeError
from protocol.messages import BulletinInfo, LiveBody, ProgrammeBody
from protocol.vocabulary import Origin, PlayOutcome

log = logging.getLogger("edge_agent.stream")

RECONNECT_S = 0.2
RADIO_HANDOVER_S = 3.0  # how long the programme's play may take to stop before the stream starts anyway
ENDED_MEMORY = 64  # ended sessions remembered, so a late repeat of their start does not play them again


class Holder(Protocol):
    """What a live session needs of the radio runner: hold its programme, and show what plays."""

    now_playing: NowPlaying | None

    def hold(self, by: str | None) -> None: ...


def check_url(url: str) -> str:
    """`url` if it is an http(s) URL without credentials (the token goes in a header); else ValueError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"stream URL {url[:80]!r} is not an http(s) URL without credentials")
    return url


def auth_header(user: str, token: str) -> dict[str, str]:
    """HTTP basic auth as Icecast asks the hub: the device id (Icecast lets one connection per user name in)
    and the session's token."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()}


def decoder_command(out: Path | None) -> list[str]:
    """ffmpeg decoding the stream's MP3 from its stdin with as little buffering as it allows (the agent feeds
    it, reconnecting to the stream server itself: no new process per reconnect); into a WAV file written
    packet by packet (the simulated speaker's record) or the default ALSA device (a real amplifier)."""
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
        "-fflags", "+nobuffer", "-probesize", "4096", "-analyzeduration", "0",
        "-f", "mp3", "-i", "pipe:0", "-vn", "-ac", "1",
    ]
    if out is None:
        return [*cmd, "-f", "alsa", "default"]
    return [*cmd, "-ar", "16000", "-c:a", "pcm_s16le", "-flush_packets", "1", "-y", str(out)]


async def close_decoder(proc: asyncio.subprocess.Process) -> None:
    """End of input, then ffmpeg gets 3 s to finish its file, then SIGINT, then SIGKILL."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError, RuntimeError):
            proc.stdin.close()
    try:
        await asyncio.wait_for(proc.wait(), 3)
    except TimeoutError:
        proc.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(proc.wait(), 3)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class LivePlayer:
    """The radio runner's live part (edge_agent/radio.py builds it and hands it the `live` messages)."""

    def __init__(self, parts: PlayerParts, radio: Holder) -> None:
        s = parts.settings
        self._device, self._kind, self._hw = s.device_id, s.kind, parts.hw
        self._sim_dir = s.data_path / "played" if s.hardware.mode == "sim" else None
        self._clock, self._radio, self._plays = parts.clock, radio, PlayLog(parts.reporter, parts.hw)
        self._windows = Windows(s.windows, s.timezone)  # the programme's, once one arrived
        self._lead, self._on_change = s.hardware.relay_lead_s, parts.changed
        self.current: LiveBody | None = None
        self._ended: list[str] = []
        self._stop = asyncio.Event()
        self._why = ""
        self._task: asyncio.Task[None] | None = None
        self._count = 0

    # --- messages (called by the agent, inside its store transaction: no awaiting here)
    def set_programme(self, programme: ProgrammeBody) -> None:
        self._windows.set_programme(programme)

    def handle(self, body: LiveBody) -> None:
        now = self._clock.now()
        if self._kind != "radio":
            log.info("bỏ qua phát trực tiếp %s: thiết bị không phải loa", body.session_id)
            return
        if body.action == "stop":
            if self.current is not None and self.current.session_id == body.session_id:
                self._end("người nói kết thúc")
            self._forget(body.session_id)
            return
        if body.session_id in self._ended:
            return  # a repeat of a session that ended here
        if parse_time(body.token_expires) <= now:
            raise EnvelopeError("expired", f"live {body.session_id}: token expired at {body.token_expires}")
        check_url(body.stream_url)  # a bad URL is refused (and reported) before anything plays
        cur = self.current
        if cur is not None and cur.session_id == body.session_id:
            self.current = body  # a fresh token for the same session
            return
        if cur is not None:
            if cur.priority == "emergency" and body.priority != "emergency":
                self._skip(body, now, f"đang phát trực tiếp khẩn cấp {cur.session_id}")
                return
            self._end(f"nhường phát trực tiếp {body.session_id}")
        if body.priority != "emergency" and self._windows.open(now) is None:
            self._skip(body, now, "ngoài khung giờ phát (phát trực tiếp ưu tiên chỉ phát trong khung giờ)")
            return
        self._begin(body)

    def emergency_arrived(self) -> None:
        """An emergency bulletin: a live priority item gives way to it (a live emergency does not)."""
        if self.current is not None and self.current.priority != "emergency":
            self._end("nhường tin khẩn cấp")

    # --- playing
    def _begin(self, body: LiveBody) -> None:
        self.current = body
        self._stop = asyncio.Event()
        self._why = ""
        self._task = asyncio.get_running_loop().create_task(self._run(body), name=f"live:{body.session_id}")

    def _end(self, why: str) -> None:
        self._why = self._why or why
        self._stop.set()

    def _forget(self, session_id: str) -> None:
        if session_id not in self._ended:
            self._ended.append(session_id)
            del self._ended[:-ENDED_MEMORY]

    def _skip(self, body: LiveBody, now: datetime, why: str) -> None:
        self._forget(body.session_id)
        self._record(body, PlayOutcome.SKIPPED, None, None, why, f"{self._device}:{body.session_id}:skipped")

    def _token_alive(self) -> bool:
        cur = self.current
        return cur is not None and parse_time(cur.token_expires) > self._clock.now()

    async def _run(self, body: LiveBody) -> None:
        sid = body.session_id
        self._radio.hold(sid)
        started: datetime | None = None
        try:
            deadline = time.monotonic() + RADIO_HANDOVER_S
            # the programme's play stops and reports itself (the runner has no event for it)
            while self._radio.now_playing is not None and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            self._hw.relay.set(True, reason=f"phát trực tiếp {sid}")
            self._on_change()
            if self._lead > 0:
                await asyncio.sleep(self._lead)
            started = self._clock.now()
            self._radio.now_playing = NowPlaying(sid, body.priority == "emergency", since=started)
            self._on_change()
            log.warning("bắt đầu phát trực tiếp %s (%s)", sid, body.priority)
            await self._listen(sid)
        finally:
            ended = self._clock.now()
            self._radio.now_playing = None
            self.current = None
            self._forget(sid)
            self._radio.hold(None)
            self._on_change()
            outcome = PlayOutcome.COMPLETED if started is not None else PlayOutcome.INTERRUPTED
            why = self._why or "agent dừng"
            self._record(body, outcome, started, ended, why, f"{self._device}:{sid}:live")
            log.warning("kết thúc phát trực tiếp %s: %s", sid, self._why)

    async def _listen(self, sid: str) -> None:
        """One decoder for the session, fed from the stream server until the session ends; a dropped or
        refused connection (404 until the speaker's sound arrives) is tried again after RECONNECT_S."""
        out = None
        if self._sim_dir is not None:
            self._count += 1
            stamp = self._clock.now().strftime("%Y%m%dT%H%M%S")
            out = self._sim_dir / f"{stamp}-{os.getpid()}-live{self._count:04d}-{_safe(sid)}.wav"
        at = self._clock.now()
        proc = await asyncio.create_subprocess_exec(
            *decoder_command(out), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        feeding = asyncio.ensure_future(self._feed(sid, proc))
        waiter = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({feeding, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (feeding, waiter):
                t.cancel()
            await asyncio.gather(feeding, waiter, return_exceptions=True)
            await close_decoder(proc)
            err = (await proc.stderr.read()).decode(errors="replace").strip()[-300:] if proc.stderr else ""
            if out is not None:
                self._index({"file": out.name, "source": "live", "label": sid, "started_at": at.isoformat(),
                             "stopped_at": self._clock.now().isoformat(), "live": True, "error": err or None})

    async def _feed(self, sid: str, proc: asyncio.subprocess.Process) -> None:
        import aiohttp  # noqa: PLC0415 - as edge_agent/media.py: an idle agent does not load it

        assert proc.stdin is not None
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                cur = self.current
                if cur is None or not self._token_alive():
                    self._why = self._why or "hết hạn mã nghe, không nhận được mã mới từ trung tâm"
                    return
                try:
                    async with http.get(cur.stream_url, headers=auth_header(self._device, cur.token)) as r:
                        if r.status == 200:
                            async for chunk in r.content.iter_any():
                                proc.stdin.write(chunk)
                                await proc.stdin.drain()
                            log.warning("luồng %s ngắt: kết nối lại", sid)
                        elif r.status != 404:  # 404: the speaker's sound has not reached it yet
                            log.warning("máy chủ phát luồng trả lời %d cho %s: thử lại", r.status, sid)
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    log.warning("luồng %s: %s; kết nối lại", sid, exc)
                await asyncio.sleep(RECONNECT_S)

    def _index(self, record: dict[str, Any]) -> None:
        assert self._sim_dir is not None
        with (self._sim_dir / "index.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def _record(  # noqa: PLR0917 - the play record's fields
        self, body: LiveBody, outcome: str, started: datetime | None, ended: datetime | None, detail: str,
        event_id: str,
    ) -> None:
        info = BulletinInfo(body.session_id, body.title, body.priority, Origin.PROVINCE, "audio", 0)
        self._plays.record(info, outcome, None, started, ended, 0, event_id=event_id,
                           emergency=body.priority == "emergency", detail=detail, live=True)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._end("agent dừng")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def _safe(label: str) -> str:
    return re.sub(r"[^0-9A-Za-z_.-]", "_", label)[:60]
