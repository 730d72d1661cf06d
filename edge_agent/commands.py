"""Signed commands from the hub (volume, stop, resync, test_tone, report): checked, done, answered with one
"command_result" event each (command, command_id = the command envelope's id, ok, detail). Bad arguments
get ok=false and say what was expected."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from edge_agent.media import _sha256_file
from protocol.messages import COMMANDS, CommandBody
from protocol.topics import validate_area_path

if TYPE_CHECKING:
    from edge_agent.agent import Agent

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
    """Runs commands for one agent."""

    def __init__(self, agent: Agent) -> None:
        self._agent = agent

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
        self._agent.reporter.event(
            "command_result", {"command": command, "command_id": command_id, "ok": ok, "detail": detail}
        )

    def _volume(self, args: dict[str, Any], cid: str) -> None:
        try:
            self._agent.hw.mixer.set_level(args["level"])
        except (ValueError, RuntimeError) as exc:  # the mixer itself failed (amixer missing, no card)
            self.result("volume", False, f"không đặt được âm lượng: {exc}", cid)
            return
        self.result("volume", True, f"âm lượng {self._agent.hw.mixer.level}", cid)
        self._agent.status_changed.set()

    def _stop(self, _args: dict[str, Any], cid: str) -> None:
        if self._agent.led is not None:
            self.result("stop", True, self._agent.led.stop_display(), cid)
            self._agent.status_changed.set()
            return
        playing = self._agent.radio.now_playing
        self._agent.radio.interrupt(None, "stop")
        detail = f"đã dừng {playing.bulletin_id}" if playing else "không có gì đang phát"
        self.result("stop", True, detail, cid)

    def _resync(self, _args: dict[str, Any], cid: str) -> None:
        self._agent.resubscribe()
        self._agent._spawn(self._check_media(cid), "resync")

    def _test_tone(self, _args: dict[str, Any], cid: str) -> None:
        if self._agent.led is not None:
            self.result("test_tone", False, "bảng tin LED không có loa để phát âm thử", cid)
            return
        self._agent._spawn(self._play_tone(cid), "test_tone")

    def _set_area(self, args: dict[str, Any], cid: str) -> None:
        """The commune was reorganised: keep the new area (over the config file's) and restart the agent's
        connection in it (subscriptions, ACL and audience checks all follow the area)."""
        agent = self._agent
        area = str(args["area"])
        if area == agent.settings.area:
            self.result("set_area", True, f"đã ở khu vực {area}", cid)
            return
        agent.store.save_area(area, agent.config_area)
        self.result("set_area", True, f"chuyển từ {agent.settings.area} sang {area}", cid)
        log.warning("địa bàn được sắp xếp lại: chuyển từ %s sang %s", agent.settings.area, area)
        agent.move_to(area)

    def _report(self, _args: dict[str, Any], cid: str) -> None:
        self._agent.request_status()  # the status goes out now, not at the next heartbeat
        self.result("report", True, f"{self._agent.store.outbox_size()} sự kiện chờ gửi", cid)

    async def _check_media(self, cid: str) -> None:
        """Re-hash every cached file; drop the bad ones and fetch what the programme needs again."""
        agent = self._agent
        bad = 0
        agent.media.flush_touches()  # so the index lists what was just downloaded
        for sha, _, _ in agent.store.media_index():
            path = agent.media.path(sha)
            if not path.exists() or await asyncio.to_thread(_sha256_file, path) != sha:
                agent.media.remove(sha)
                bad += 1
        if agent.radio.programme is not None:
            agent._prefetch(agent.radio.programme)
        self.result("resync", True, f"đăng ký lại chương trình; {bad} tệp hỏng đã xoá và tải lại", cid)

    async def _play_tone(self, cid: str) -> None:
        tone = self._agent.settings.data_path / "test_tone.wav"
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
            err = await asyncio.wait_for(self._agent.radio.request_tone(tone), TONE_WAIT_S)
        except TimeoutError:
            err = f"âm thử không phát được trong {TONE_WAIT_S:.0f} s"
        self.result("test_tone", not err, err or f"đã phát âm thử 1 kHz, {TONE_S} s", cid)
