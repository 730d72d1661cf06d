"""Signed commands from the hub (volume, stop, resync, test_tone, report, set_area): checked, done,
answered with one "command_result" event each (command, command_id = the command envelope's id, ok,
detail). Bad arguments get ok=false and say what was expected. `Commands` is given what the commands
act on (the player, the mixer, the media cache, the store, the reporter, and a few of the agent's
actions as plain callables), never the agent itself."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from edge_agent.media import MediaCache
from edge_agent.player import Player
from edge_agent.reporter import Reporter
from edge_agent.store import Store
from hardware.mixer import Mixer
from protocol.messages import COMMANDS, CommandBody
from protocol.topics import validate_area_path

log = logging.getLogger("edge_agent.commands")

# the arguments each command takes (all required)
ARGS: dict[str, tuple[str, ...]] = {"volume": ("level",), "set_area": ("area",)}
TONE_S = 3
TONE_WAIT_S = 60.0


class CommandError(ValueError):
    """The command cannot be done as sent; the message says why (Vietnamese, shown to the operator)."""


def check(cmd: CommandBody) -> None:
    """Raise CommandError unless the command is known and its arguments are exactly what it takes."""
    if cmd.command not in COMMANDS:
        raise CommandError(f"lệnh không biết: {cmd.command!r} (các lệnh: {', '.join(COMMANDS)})")
    wanted = ARGS.get(cmd.command, ())
    extra = sorted(set(cmd.args) - set(wanted))
    if extra:
        takes = f"chỉ nhận {', '.join(wanted)}" if wanted else "không nhận tham số"
        raise CommandError(f"lệnh {cmd.command} {takes}; thừa: {', '.join(extra)}")
    missing = [a for a in wanted if a not in cmd.args]
    if missing:
        raise CommandError(f"lệnh {cmd.command} thiếu tham số: {', '.join(missing)}")
    if cmd.command == "set_area":
        area = cmd.args["area"]
        try:
            validate_area_path(area if isinstance(area, str) else "")
        except ValueError as exc:
            raise CommandError(f"khu vực mới không hợp lệ: {exc}") from None
    if cmd.command == "volume":
        level = cmd.args["level"]
        if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level <= 100:
            raise CommandError(f"âm lượng phải là số nguyên từ 0 đến 100, nhận được {level!r}")


class Commands:
    """Runs the hub's commands on one device."""

    def __init__(
        self,
        *,
        player: Player,
        reporter: Reporter,
        mixer: Mixer,
        media: MediaCache,
        store: Store,
        data_dir: Path,
        spawn: Callable[[Coroutine[Any, Any, object], str], None],
        changed: Callable[[], None],
        request_status: Callable[[], None],
        resubscribe: Callable[[], None],
        refetch: Callable[[], None],
        move_to: Callable[[str], str],
    ) -> None:
        self._player = player
        self._reporter = reporter
        self._mixer = mixer
        self._media = media
        self._store = store
        self._tone = data_dir / "test_tone.wav"
        self._spawn = spawn  # a background job the agent owns (cancelled when it stops)
        self._changed = changed  # the status may have changed
        self._request_status = request_status  # send the status now
        self._resubscribe = resubscribe  # ask the broker for the retained programme again
        self._refetch = refetch  # download what the programme needs and the cache lacks
        self._move_to = move_to  # set_area: keep the new area, run again there; says what it did

    def handle(self, cmd: CommandBody, *, command_id: str = "") -> None:
        """Do `cmd`; `command_id` (the envelope's id) goes back in the answer so the hub can match it."""
        try:
            check(cmd)
        except CommandError as exc:
            log.warning("lệnh từ trung tâm bị từ chối: %s", exc)
            self.result(cmd.command, False, str(exc), command_id)
            return
        log.info("lệnh từ trung tâm: %s %s", cmd.command, cmd.args or "")
        getattr(self, f"_{cmd.command}")(cmd.args, command_id)

    def result(self, command: str, ok: bool, detail: str, command_id: str = "") -> None:
        self._reporter.event(
            "command_result", {"command": command, "command_id": command_id, "ok": ok, "detail": detail}
        )

    def _volume(self, args: dict[str, Any], cid: str) -> None:
        try:
            self._mixer.set_level(args["level"])
        except (ValueError, RuntimeError) as exc:  # the mixer itself failed (amixer missing, no card)
            self.result("volume", False, f"không đặt được âm lượng: {exc}", cid)
            return
        self.result("volume", True, f"âm lượng {self._mixer.level}", cid)
        self._changed()

    def _stop(self, _args: dict[str, Any], cid: str) -> None:
        self.result("stop", True, self._player.stop_playing(), cid)  # the player reports the cut-off play

    def _resync(self, _args: dict[str, Any], cid: str) -> None:
        self._resubscribe()
        self._spawn(self._check_media(cid), "resync")

    def _test_tone(self, _args: dict[str, Any], cid: str) -> None:
        if not self._player.has_speaker:
            self.result("test_tone", False, "bảng tin LED không có loa để phát âm thử", cid)
            return
        self._spawn(self._play_tone(cid), "test_tone")

    def _set_area(self, args: dict[str, Any], cid: str) -> None:
        """The commune was reorganised: the agent keeps the new area (over the config file's) and runs again
        in it (subscriptions, audience checks and status all follow the area)."""
        self.result("set_area", True, self._move_to(str(args["area"])), cid)

    def _report(self, _args: dict[str, Any], cid: str) -> None:
        self._request_status()  # the status goes out now, not at the next heartbeat
        self.result("report", True, f"{self._store.outbox_size()} sự kiện chờ gửi", cid)

    async def _check_media(self, cid: str) -> None:
        """Re-hash every cached file; drop the bad ones and fetch what the programme needs again."""
        bad = await self._media.drop_damaged()
        self._refetch()
        self.result("resync", True, f"đăng ký lại chương trình; {bad} tệp hỏng đã xoá và tải lại", cid)

    async def _play_tone(self, cid: str) -> None:
        tone = self._tone
        if not tone.exists():
            proc = await asyncio.create_subprocess_exec(
                "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
                "-i", f"sine=frequency=1000:duration={TONE_S}", "-ac", "1", "-ar", "16000", str(tone),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            if await asyncio.wait_for(proc.wait(), 30) != 0:
                self.result("test_tone", False, "không tạo được âm thử (ffmpeg)", cid)
                return
        try:
            err = await asyncio.wait_for(self._player.request_tone(tone), TONE_WAIT_S)
        except TimeoutError:
            err = f"âm thử không phát được trong {TONE_WAIT_S:.0f} s"
        self.result("test_tone", not err, err or f"đã phát âm thử 1 kHz, {TONE_S} s", cid)
