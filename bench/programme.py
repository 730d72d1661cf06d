"""Compile 1,000 communes x 2 device kinds with 200 active bulletins; print one JSON line of timings.

    .venv/bin/python bench/programme.py [--communes 1000] [--bulletins 200] [--seed 7]

The mix is random but fixed by the seed: a province of 10 districts, a few emergencies, priority and
normal bulletins from every level targeting the province, a district or a few communes, some valid for
part of the day, and each commune chair's own selection and order.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import TypedDict
from zoneinfo import ZoneInfo

# Run as a script from anywhere: the repository root must win over the editable install's finder.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playlists import Bulletin, Day, ProgrammeResult, Relay, compile_day, compile_for_area, prepare_day
from playlists.window_sets import Occasion, WindowRule, WindowTable

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 23)


def make_world(rng: random.Random, communes: int, count: int) -> tuple[list[str], list[Bulletin]]:
    districts = [f"67/{660 + d}" for d in range(10)]
    areas = [f"{districts[i % 10]}/{24600 + i}" for i in range(communes)]
    midnight = datetime(DAY.year, DAY.month, DAY.day, tzinfo=TZ)
    bulletins = []
    for i in range(count):
        priority = rng.choices(("emergency", "priority", "normal"), (2, 60, 138))[0]
        origin = rng.choices(("central", "province", "district", "commune"), (1, 3, 4, 4))[0]
        if origin in ("central", "province"):
            targets: tuple[str, ...] = ("67",)
        elif origin == "district":
            targets = (rng.choice(districts),)
        else:
            targets = tuple(rng.sample(areas, rng.randint(1, 3)))
        kinds = rng.choices((("radio",), ("led",), ("radio", "led")), (5, 2, 3))[0]
        # Most are valid all day; some end or start during the day; a few ended yesterday.
        shape = rng.choices(("day", "ends", "starts", "gone"), (80, 8, 8, 4))[0]
        valid_from = midnight - timedelta(days=rng.randint(0, 5))
        valid_until = midnight + timedelta(days=rng.randint(1, 10))
        if shape == "ends":
            valid_until = midnight + timedelta(hours=rng.uniform(5, 19))
        elif shape == "starts":
            valid_from = midnight + timedelta(hours=rng.uniform(4, 19))
        elif shape == "gone":
            valid_until = midnight - timedelta(hours=rng.uniform(1, 30))
            valid_from = valid_until - timedelta(days=3)
        bulletins.append(Bulletin(
            id=f"b{i:03d}", priority=priority, origin=origin, kinds=frozenset(kinds), targets=targets,
            duration_s=rng.choice((30, 45, 60, 90, 120, 180, 240, 300, 420, 600)),
            plays_per_day=rng.choices((1, 2), (3, 1))[0], valid_from=valid_from, valid_until=valid_until,
            approved_at=valid_from - timedelta(minutes=rng.randint(1, 600)),
        ))
    return areas, bulletins


class Chair(TypedDict):
    """A chair's choices for one commune, as compile_day takes them."""

    selection: list[str]
    order: list[str]
    auto_normal: bool
    gap_s: int


def choices_for(rng: random.Random, area: str, bulletins: list[Bulletin]) -> Chair:
    """A chair's selection (some of the normal bulletins that reach the commune) and order."""
    anc = {"/".join(area.split("/")[: i + 1]) for i in range(3)}
    reach = [b for b in bulletins if anc.intersection(b.targets)]
    normal = [b.id for b in reach if b.priority == "normal"]
    prio = [b.id for b in reach if b.priority == "priority"]
    return {
        "selection": rng.sample(normal, min(len(normal), rng.randint(0, 12))),
        "order": rng.sample(prio, min(len(prio), rng.randint(0, 3))),
        "auto_normal": rng.random() < 0.2,
        "gap_s": rng.choice((0, 0, 2, 5)),
    }


def local_windows(rng: random.Random, areas: list[str]) -> tuple[list[WindowRule], list[Occasion]]:
    """Art. 10 as data: ~10% of communes with their own radio hours (one of four sets), one district with its
    own LED hours, a province default for radio from today, and an election-day occasion in a district."""
    sets = (("05:30-06:30", "17:30-18:30"), ("05:00-06:00", "18:00-19:30"), ("06:00-07:00",),
            ("05:00-06:30", "16:30-17:30", "19:00-20:00"))
    rules = [WindowRule("67", "radio", DAY, ("05:00-06:30", "17:00-18:30"))]
    rules += [WindowRule(a, "radio", DAY, rng.choice(sets)) for a in rng.sample(areas, len(areas) // 10)]
    rules.append(WindowRule("67/661", "led", DAY, ("05:00-07:00", "17:00-21:00")))
    occasions = [Occasion("67/662", "Bầu cử", DAY, DAY, ("20:00-23:30",))]
    return rules, occasions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--communes", type=int, default=1000)
    parser.add_argument("--bulletins", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311  (a reproducible test mix, not secrets)
    areas, bulletins = make_world(rng, args.communes, args.bulletins)
    chairs = {a: choices_for(rng, a, bulletins) for a in areas}

    # The hub's path: prepare each (date, kind) once, compile every commune from it.
    t0, c0 = time.perf_counter(), time.process_time()
    results: list[ProgrammeResult] = []
    for kind in ("radio", "led"):
        day = prepare_day(kind, DAY, bulletins)
        results.extend(compile_day(day, a, **chairs[a]) for a in areas)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0

    t1 = time.perf_counter()
    for r in results:
        r.to_dict()
    to_dict_s = time.perf_counter() - t1

    t2 = time.perf_counter()
    prepare_day("radio", DAY, bulletins)
    prepare_s = time.perf_counter() - t2

    # The convenience path: compile_for_area per commune (it reuses the prepared day for the same objects).
    t3 = time.perf_counter()
    for kind in ("radio", "led"):
        for a in areas:
            compile_for_area(a, kind, DAY, bulletins, **chairs[a])
    for_area_s = time.perf_counter() - t3

    # The hub's path with windows as data (Art. 10): each commune gets the windows in force for it, and
    # communes with the same windows share one prepared day (hub/engine.py DayCache does the same).
    rules, occasions = local_windows(rng, areas)
    t4, c4 = time.perf_counter(), time.process_time()
    table = WindowTable(rules, occasions)
    prepared: dict[tuple[str, tuple[str, ...]], Day] = {}
    with_windows = []
    for kind in ("radio", "led"):
        for a in areas:
            windows = table.resolve(a, kind, DAY).windows
            shared = prepared.get((kind, windows))
            if shared is None:
                shared = prepared[kind, windows] = prepare_day(kind, DAY, bulletins, windows)
            with_windows.append(compile_day(shared, a, **chairs[a]))
    windows_s, windows_cpu = time.perf_counter() - t4, time.process_time() - c4

    # Tiếp sóng (issue 20): the province relays 06:00-06:15 and 17:30-17:45 every day, and 50 communes
    # their own 10 minutes at 05:30; bulletins are packed around them (radio only: LED boards relay nothing).
    province = areas[0].split("/")[0]
    relays = [Relay("vov-sang", clock(6), 900, (province,), "province", "Thời sự VOV"),
              Relay("vov-chieu", clock(17, 30), 900, (province,), "province", "Thời sự tỉnh")]
    relays += [Relay(f"xa-{i}", clock(5, 30), 600, (a,), "commune", "Đài xã")
               for i, a in enumerate(areas[:50])]
    t5, c5 = time.perf_counter(), time.process_time()
    with_relays: list[ProgrammeResult] = []
    for kind in ("radio", "led"):
        day = prepare_day(kind, DAY, bulletins, relays=relays)
        with_relays.extend(compile_day(day, a, **chairs[a]) for a in areas)
    relays_s, relays_cpu = time.perf_counter() - t5, time.process_time() - c5

    compiles = len(results)
    print(json.dumps({
        "bench": "programme",
        "communes": args.communes, "kinds": 2, "bulletins": args.bulletins, "seed": args.seed,
        "compiles": compiles,
        "total_s": round(total, 4),
        "total_cpu_s": round(cpu, 4),  # the process's own CPU time: steadier than wall time on a busy machine
        "mean_ms_per_compile": round(1000 * total / compiles, 4),
        "to_dict_total_s": round(to_dict_s, 4),
        "prepare_day_ms": round(1000 * prepare_s, 3),
        "compile_for_area_total_s": round(for_area_s, 4),
        "with_windows_total_s": round(windows_s, 4),
        "with_windows_cpu_s": round(windows_cpu, 4),
        "window_sets": len(prepared),
        "communes_with_own_windows": len(rules) - 2,
        "plays": sum(len(r.programme) for r in results),
        "emergencies": sum(len(r.emergencies) for r in results),
        "unscheduled": sum(len(r.unscheduled) for r in results),
        "window_full": sum(u.reason == "window_full" for r in results for u in r.unscheduled),
        "not_exact": sum(not r.exact for r in results),  # compiles whose search ran out of budget
        "with_relays_total_s": round(relays_s, 4),
        "with_relays_cpu_s": round(relays_cpu, 4),
        "relays_on_air": sum(len(r.relays) for r in with_relays),
        "with_relays_plays": sum(len(r.programme) for r in with_relays),
        "with_relays_window_full": sum(u.reason == "window_full" for r in with_relays for u in r.unscheduled),
        "with_relays_not_exact": sum(not r.exact for r in with_relays),
        "python": sys.version.split()[0],
    }))


if __name__ == "__main__":
    main()
