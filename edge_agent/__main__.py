"""`python -m edge_agent run --config FILE`: build the concrete objects, wire them, run until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from edge_agent.config import ConfigError, Settings, load_settings
from edge_agent.sdnotify import notify, watchdog_interval_s
from protocol.vocabulary import DeviceKind

log = logging.getLogger("edge_agent")


# PLR0915: the one place that wires the agent; split up, the start-up and shutdown order would be hidden.
async def run(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run one agent until SIGTERM/SIGINT, or until `stop` is set (many agents in one loop: bench). When the
    hub moves the device to another commune (set_area, after a reorganisation) it runs again there."""
    config_area = settings.area
    while True:
        moved = await _run_in_area(settings, config_area, stop=stop)
        if moved is None or (stop is not None and stop.is_set()):
            return
        settings = dataclasses.replace(settings, area=moved)


async def _run_in_area(  # noqa: PLR0915
    settings: Settings, config_area: str, *, stop: asyncio.Event | None
) -> str | None:
    """One run of the agent in one area; returns the area the hub moved it to, or None when it stopped."""
    # Imported here: `--help` and config errors answer without loading MQTT, crypto and hardware.
    from edge_agent.agent import Agent  # noqa: PLC0415
    from edge_agent.clocktrust import ClockTrust  # noqa: PLC0415
    from edge_agent.player import PlayerFactory  # noqa: PLC0415
    from edge_agent.players import led_player, radio_player  # noqa: PLC0415
    from edge_agent.store import Store  # noqa: PLC0415
    from edge_agent.transport import Connection  # noqa: PLC0415
    from hardware import build_hardware  # noqa: PLC0415
    from protocol.clock import ShiftedClock  # noqa: PLC0415

    started = time.monotonic()
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    clock = ShiftedClock(settings.clock_offset_s)
    hw_s = settings.hardware
    async with contextlib.AsyncExitStack() as closing:  # every close runs, in reverse order, even on error
        hw = build_hardware(
            mode=hw_s.mode,
            data_dir=data,
            now=clock.now,
            sim_speed=hw_s.sim_speed,
            relay_pin=hw_s.relay_pin,
            player=hw_s.player,
            mixer_control=hw_s.mixer_control,
            volume=hw_s.volume,
            sim_record=hw_s.sim_record,
        )
        store = Store(data / "agent.db")
        closing.callback(store.close)
        moved_here = store.area_for(config_area)
        if moved_here and moved_here != settings.area:
            settings = dataclasses.replace(settings, area=moved_here)
        closing.push_async_callback(hw.audio.aclose)
        closing.callback(hw.relay.close)
        trust = ClockTrust(mode=settings.clock_trust, now=clock.now)
        await asyncio.to_thread(trust.refresh)
        # The device kind picks the player (edge_agent/player.py); a third kind is one more entry here.
        players: dict[str, PlayerFactory] = {DeviceKind.RADIO: radio_player, DeviceKind.LED: led_player}
        agent = Agent(settings, clock=clock, hw=hw, store=store, trust=trust, player=players[settings.kind],
                      config_area=config_area)
        closing.push_async_callback(agent.aclose)
        player = agent.player
        await player.start()  # e.g. the LED page cannot listen: the agent does not start
        closing.push_async_callback(player.stop)  # also stopped below, in order; the second stop is a no-op
        conn = Connection(agent)
        loop = asyncio.get_running_loop()
        if stop is None:  # a host running many agents owns the signals and gives each the same event
            stop = asyncio.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)

        async def announce_ready() -> None:
            await conn.ready.wait()
            log.info("READY after %.2f s", time.monotonic() - started)

        # The first of these to end (the stop event, or a task that failed or returned) stops the agent.
        ending = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tasks = [
                tg.create_task(_until_ended(stop.wait(), "stop", ending), name="stop"),
                tg.create_task(_until_ended(agent.moved.wait(), "moved", ending), name="moved"),
                tg.create_task(_until_ended(conn.run(), "mqtt", ending), name="mqtt"),
                tg.create_task(_until_ended(_watchdog(), "watchdog", ending), name="watchdog"),
                tg.create_task(announce_ready(), name="ready"),
            ]
            playing = tg.create_task(_until_ended(player.run(), "player", ending), name="player")
            agent.prefetch()  # what the saved programme needs and the cache lacks
            notify("READY=1")
            log.info(
                "agent %s (%s, %s) chạy; dữ liệu ở %s; đồng hồ: %s",
                settings.device_id,
                settings.kind,
                settings.area,
                data,
                trust.state,
            )
            await ending.wait()
            log.info("đang dừng…")
            notify("STOPPING=1")
            playing.cancel()  # what it cut off is reported before the task ends
            await asyncio.wait([playing])
            with contextlib.suppress(Exception):
                await player.stop()
            await conn.shutdown()  # while the MQTT task still runs: the explicit offline status
            for task in tasks:
                task.cancel()
    log.info("đã dừng" if agent.moved_to is None else f"chạy lại ở khu vực {agent.moved_to}")
    return agent.moved_to


async def _until_ended(coro: Coroutine[Any, Any, object], name: str, ending: asyncio.Event) -> None:
    """Run one of the agent's tasks; when it ends (an error is logged, not raised into the group) the agent
    stops cleanly, as after SIGTERM."""
    try:
        await coro
    except Exception as exc:
        log.error("tác vụ %s lỗi: %r", name, exc)
    finally:
        ending.set()


async def _watchdog() -> None:
    interval = watchdog_interval_s()
    if interval is None:
        await asyncio.Event().wait()  # not under a systemd watchdog: nothing to ping, never finishes
        return
    while True:  # the ping comes from the event loop itself, so a hung loop gets the agent restarted
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edge_agent", description="nguon loudspeaker / LED agent")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run_p = sub.add_parser("run", help="run the agent")
    run_p.add_argument("--config", required=True, type=Path, help="TOML config file")
    run_p.add_argument("--log-level", default="INFO")
    check_p = sub.add_parser("check", help="check this device (for a technician on site; changes nothing)")
    check_p.add_argument("--config", required=True, type=Path, help="TOML config file")
    check_p.add_argument("--no-network", action="store_true", help="do not probe the broker and the hub")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(args, "log_level", "WARNING").upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"cấu hình sai / config error: {exc}", file=sys.stderr)
        return 2
    if args.cmd == "check":
        from edge_agent.check import report  # noqa: PLC0415

        text, ok = report(settings, config=args.config, network=not args.no_network)
        print(text)
        return 0 if ok else 1
    asyncio.run(run(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
