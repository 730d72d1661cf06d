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


class Holder(Protocol):
    """What a live session needs of the radio runner: hold its programme, and show what plays."""

    now_playing: NowPlaying | None

    def hold(self, by: str | None) -> None: ...

log = logging.getLogger("edge_agent.stream")

RECONNECT_S = 0.2
RADIO_HANDOVER_S = 3.0  # how long the programme's play may take to stop before the stream starts anyway
ENDED_MEMORY = 64  # ended sessions remembered, so a late repeat of their start does not play them again


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise ValueError(f"stream URL {url[:80]!r} is not an http(s) URL without credentials")
    return url


def stream_command(url: str, user: str, token: str, out: Path | None) -> list[str]:
    """ffmpeg reading the stream with as little buffering as it allows, logged in from the first request
    on as `user` (the device id: Icecast lets one connection per user name in) with the token as password;
    into a WAV file (the simulated speaker's record) or the default ALSA device (a real amplifier)."""
    auth = base64.b64encode(f"{user}:{token}".encode()).decode()
    cmd = [
        "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
        "-fflags", "+nobuffer", "-probesize", "4096", "-analyzeduration", "0",
        # a mount not fed yet (the speaker's microphone is still connecting) answers 404: wait in ffmpeg,
        # which retries at once and after 1 s, rather than start a new process
        "-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_on_http_error", "404",
        "-reconnect_delay_max", "2",
        "-headers", f"Authorization: Basic {auth}\r\n",
        "-f", "mp3", "-i", check_url(url), "-vn", "-ac", "1",
    ]
    if out is None:
        return [*cmd, "-f", "alsa", "default"]
    return [*cmd, "-ar", "16000", "-c:a", "pcm_s16le", "-y", str(out)]


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
            while not self._stop.is_set():
                if not self._token_alive():
                    self._why = self._why or "hết hạn mã nghe, không nhận được mã mới từ trung tâm"
                    break
                await self._listen_once(sid)
                if not self._stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), RECONNECT_S)
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

    async def _listen_once(self, sid: str) -> None:
        """One ffmpeg run, until the stream drops or the session ends."""
        assert self.current is not None
        out = None
        if self._sim_dir is not None:
            self._count += 1
            stamp = self._clock.now().strftime("%Y%m%dT%H%M%S")
            out = self._sim_dir / f"{stamp}-{os.getpid()}-live{self._count:04d}-{_safe(sid)}.wav"
        cmd = stream_command(self.current.stream_url, self._device, self.current.token, out)
        at = self._clock.now()
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        waiter = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({asyncio.ensure_future(proc.wait()), waiter},
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)  # ffmpeg finishes the file it writes
                try:
                    await asyncio.wait_for(proc.wait(), 3)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            err = (await proc.stderr.read()).decode(errors="replace").strip()[-300:] if proc.stderr else ""
            if out is not None:
                self._index({"file": out.name, "source": "live", "label": sid, "started_at": at.isoformat(),
                             "stopped_at": self._clock.now().isoformat(), "live": True, "error": err or None})
            if err and not self._stop.is_set():
                log.warning("luồng %s ngắt (%s): kết nối lại", sid, err)

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
