"""`python -m edge_agent run --config FILE`: build the concrete objects, wire them, run until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from pathlib import Path

from edge_agent.config import ConfigError, Settings, load_settings
from edge_agent.sdnotify import notify, watchdog_interval_s

log = logging.getLogger("edge_agent")


# PLR0915: the one place that wires the agent; split up, the start-up and shutdown order would be hidden.
async def run(settings: Settings, *, stop: asyncio.Event | None = None) -> None:  # noqa: PLR0915
    """Run one agent until SIGTERM/SIGINT, or until `stop` is set (many agents in one loop: bench)."""
    # Imported here: `--help` and config errors answer without loading MQTT, crypto and hardware.
    from edge_agent.agent import Agent  # noqa: PLC0415
    from edge_agent.clocktrust import ClockTrust  # noqa: PLC0415
    from edge_agent.store import Store  # noqa: PLC0415
    from edge_agent.transport import Connection  # noqa: PLC0415
    from hardware import build_hardware  # noqa: PLC0415
    from protocol.clock import ShiftedClock  # noqa: PLC0415

    started = time.monotonic()
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    clock = ShiftedClock(settings.clock_offset_s)
    hw_s = settings.hardware
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
    trust = ClockTrust(mode=settings.clock_trust, now=clock.now)
    await asyncio.to_thread(trust.refresh)
    agent = Agent(settings, clock=clock, hw=hw, store=store, trust=trust)
    if settings.kind == "led":
        from edge_agent.ledwiring import attach_led_board  # noqa: PLC0415

        await attach_led_board(agent)
    conn = Connection(agent)
    loop = asyncio.get_running_loop()
    if stop is None:  # a host running many agents owns the signals and gives each the same event
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

    tasks = [loop.create_task(conn.run(), name="mqtt"), loop.create_task(_watchdog(), name="watchdog")]
    runner = loop.create_task(agent.radio.run(), name="radio") if agent.led is None else None
    if agent.radio.programme is not None:
        agent._prefetch(agent.radio.programme)
    notify("READY=1")
    log.info(
        "agent %s (%s, %s) chạy; dữ liệu ở %s; đồng hồ: %s",
        settings.device_id,
        settings.kind,
        settings.area,
        data,
        trust.state,
    )

    async def announce_ready() -> None:
        await conn.ready.wait()
        log.info("READY after %.2f s", time.monotonic() - started)

    stop_wait = loop.create_task(stop.wait(), name="stop")
    watched = [stop_wait, *tasks] + ([runner] if runner else [])
    tasks.append(loop.create_task(announce_ready(), name="ready"))
    done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        if task is not stop_wait and not task.cancelled() and task.exception():
            log.error("tác vụ %s lỗi: %r", task.get_name(), task.exception())
    log.info("đang dừng…")
    notify("STOPPING=1")
    if runner is not None:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    if agent.led is not None:
        with contextlib.suppress(Exception):
            await agent.led.stop()
    await conn.shutdown()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, stop_wait, return_exceptions=True)
    await agent.aclose()
    hw.relay.close()
    await hw.audio.aclose()
    store.close()
    log.info("đã dừng")


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
