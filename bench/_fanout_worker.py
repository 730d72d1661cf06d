"""Fan-out bench worker: hosts many REAL agents (edge_agent.__main__.run) in one asyncio loop.

Started by bench/fanout.py as `python bench/_fanout_worker.py SPEC.json`; SPEC holds the agents' settings
(raw dicts, validated by edge_agent.config.load_settings like a TOML file). Each agent keeps its own Store,
MQTT connection, verifier, media cache and simulated hardware; only the process and the loop are shared,
because 1,000 separate processes do not fit on the bench machine. Stops on SIGTERM/SIGINT or after
`max_s` seconds, whichever comes first. Prints "STARTED <n>" once every agent task is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edge_agent.__main__ import run
from edge_agent.config import load_settings

# A connection storm of hundreds of CONNECTs at once is not what the bench measures: start in small groups.
START_GROUP = 25
START_PAUSE_S = 0.05
STOP_GRACE_S = 20.0


async def host(spec: dict[str, Any]) -> int:
    settings = [load_settings(None, env={}, raw=raw) for raw in spec["agents"]]
    # The agent imports aiohttp on its first download (keeps an idle agent small). A real device pays that
    # once for itself; here one import would stall every agent of this process, so pay it up front.
    import aiohttp  # noqa: F401, PLC0415

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = []
    for i, s in enumerate(settings):
        tasks.append(loop.create_task(run(s, stop=stop), name=f"agent:{s.device_id}"))
        if (i + 1) % START_GROUP == 0:
            await asyncio.sleep(START_PAUSE_S)
    print(f"STARTED {len(tasks)}", flush=True)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=float(spec["max_s"]))
    stop.set()
    done, pending = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
    if pending:  # say what did not stop, so a hang can be found
        names = sorted(t.get_name() for t in pending)
        print(f"{len(pending)} agents still running after {STOP_GRACE_S:.0f} s: {names[:5]}", file=sys.stderr)
        inner = [t for t in asyncio.all_tasks() if t not in pending and t is not asyncio.current_task()]
        for t in inner[:6]:
            t.print_stack(limit=12, file=sys.stderr)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    failed = [t for t in done if not t.cancelled() and t.exception() is not None]
    for t in failed[:5]:
        print(f"agent task {t.get_name()} failed: {t.exception()!r}", file=sys.stderr, flush=True)
    return 1 if failed or pending else 0


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    logging.basicConfig(
        level=spec.get("log_level", "WARNING"),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiomqtt warns about queued publishes in bursts; an emergency is a burst by design.
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    return asyncio.run(host(spec))


if __name__ == "__main__":
    sys.exit(main())
