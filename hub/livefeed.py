"""Feeding a live session to the stream server: the speaker's audio (the browser's WebM/Opus or Ogg chunks,
or any format ffmpeg reads) -> ffmpeg -> MP3, which the hub sends to its Icecast mount (an HTTP PUT source,
so the source password never shows on a command line) and appends to the session's recording, byte for byte
what the loudspeakers hear.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

READ_CHUNK = 4096
SOURCE_TIMEOUT_S = 5.0


class FeedError(Exception):
    """The stream server refused the source, or could not be reached (the message says which)."""


def encoder_command(bitrate: str) -> list[str]:
    """ffmpeg reading the speaker's audio on stdin, writing MP3 on stdout with as little buffering as it
    allows (no probing beyond the container header, a packet out as soon as it is encoded)."""
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
        "-fflags", "+nobuffer", "-probesize", "32768", "-analyzeduration", "0", "-i", "pipe:0",
        "-vn", "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", bitrate,
        "-flush_packets", "1", "-f", "mp3", "pipe:1",
    ]


async def open_source(base_url: str, mount: str, password: str) -> asyncio.StreamWriter:
    """Connect to Icecast as the source of `mount` (HTTP PUT, Icecast 2.4); raises FeedError if refused."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 8000
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), SOURCE_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise FeedError(f"không kết nối được máy chủ phát luồng {host}:{port} ({exc})") from exc
    auth = base64.b64encode(f"source:{password}".encode()).decode()
    writer.write(
        (
            f"PUT {mount} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Basic {auth}\r\n"
            "User-Agent: nguon-hub\r\nContent-Type: audio/mpeg\r\nIce-Public: 0\r\n"
            "Ice-Name: nguon live\r\nExpect: 100-continue\r\n\r\n"
        ).encode()
    )
    try:
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), SOURCE_TIMEOUT_S)
        while (await asyncio.wait_for(reader.readline(), SOURCE_TIMEOUT_S)).strip():
            pass  # the rest of the answer's headers
    except (OSError, TimeoutError) as exc:
        writer.close()
        raise FeedError(f"máy chủ phát luồng không trả lời ({exc})") from exc
    code = status.split(b" ")[1:2]
    if code not in ([b"100"], [b"200"]):
        writer.close()
        answer = status.decode(errors="replace").strip()
        raise FeedError(f"máy chủ phát luồng từ chối nguồn {mount}: {answer}")
    return writer


class Feeder:
    """One ffmpeg encoder for one connection of the speaker; its MP3 goes to Icecast and to `recording`
    (appended: a speaker who reconnects within the grace period continues the same recording)."""

    def __init__(
        self, *, stream_url: str, mount: str, password: str, recording: Path, bitrate: str,
        on_audio: Callable[[], None] | None = None,
    ) -> None:
        self.stream_url, self.mount, self._password = stream_url, mount, password
        self.recording, self.bitrate, self._on_audio = recording, bitrate, on_audio
        self.proc: asyncio.subprocess.Process | None = None
        self._source: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None
        self.bytes_out = 0
        self.first_audio = asyncio.Event()  # set when the first MP3 bytes reached the stream server

    async def start(self) -> None:
        self._source = await open_source(self.stream_url, self.mount, self._password)
        self.proc = await asyncio.create_subprocess_exec(
            *encoder_command(self.bitrate),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        self._pump = asyncio.create_task(self._run_pump(), name=f"live-pump:{self.mount}")

    async def _run_pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None and self._source is not None
        with self.recording.open("ab") as rec:
            while True:
                data = await self.proc.stdout.read(READ_CHUNK)
                if not data:
                    return
                rec.write(data)
                rec.flush()
                self.bytes_out += len(data)
                try:
                    self._source.write(data)
                    await self._source.drain()
                except (OSError, RuntimeError) as exc:  # the stream server went away: keep recording
                    log.warning("live %s: stream server connection lost (%s)", self.mount, exc)
                if not self.first_audio.is_set():
                    self.first_audio.set()
                    if self._on_audio is not None:
                        self._on_audio()

    async def write(self, chunk: bytes) -> None:
        if self.proc is None or self.proc.stdin is None or self.proc.returncode is not None:
            raise FeedError("bộ mã hoá đã dừng")
        try:
            self.proc.stdin.write(chunk)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise FeedError(f"bộ mã hoá đã dừng ({exc})") from exc

    async def close(self, timeout_s: float = 10.0) -> str:
        """Let ffmpeg finish what it has, then disconnect the source; returns ffmpeg's error text if any."""
        err = b""
        if self.proc is not None:
            if self.proc.stdin is not None:
                with contextlib.suppress(OSError, RuntimeError):
                    self.proc.stdin.close()
            try:
                if self._pump is not None:
                    await asyncio.wait_for(asyncio.shield(self._pump), timeout_s)
                await asyncio.wait_for(self.proc.wait(), timeout_s)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
            if self.proc.stderr is not None:
                err = await self.proc.stderr.read()
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
        if self._pump is not None:
            await asyncio.gather(self._pump, return_exceptions=True)
        if self._source is not None:
            self._source.close()
            with contextlib.suppress(OSError):
                await self._source.wait_closed()
        return err.decode(errors="replace").strip()[-300:]
