"""What the chair's choices of normal bulletins (Art. 8.3) cost the hub's republish of every programme.

    .venv/bin/python bench/choices.py [--communes 1000] [--bulletins 200] [--seed 7]

A hub on SQLite in a temp dir, a generated province of 10 districts, `--bulletins` approved bulletins
(half priority, half normal, from the province, a district or a commune); then the hub's snapshot and the
signed-programme bodies of every commune x 2 kinds x `programme.days_ahead` days, best of 3, for: no
choice anywhere (no normal bulletin airs), every commune with a standing rule for the province plus 10
whole-validity choices, and every commune taking every level's normal bulletins by standing rule. One
JSON line of seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.fanout_parts import province_tree
from hub.app import build_services
from hub.config import build_config
from hub.models import VALIDITY, Bulletin, BulletinTarget, NormalChoice, StandingChoice
from hub.roles import SYSTEM
from hub.speech import NoSpeech
from protocol.clock import FrozenClock


def main() -> None:
    p = argparse.ArgumentParser(prog="bench/choices.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--communes", type=int, default=1000)
    p.add_argument("--bulletins", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nguon-bench-choices-"))
    cfg = build_config(
        {"data_dir": str(tmp), "mqtt": {"enabled": False}, "programme": {"scheduler": False}}, environ={}
    )
    clock = FrozenClock(datetime(2026, 11, 22, 21, 0, tzinfo=UTC))
    s = build_services(cfg, clock=clock, speech=NoSpeech())
    tree, communes = province_tree(10, args.communes)
    s.areas.import_tree(tree, SYSTEM)
    rng = random.Random(args.seed)  # noqa: S311 - a repeatable test mix, not a secret
    now = clock.now()
    districts = sorted({c.rsplit("/", 1)[0] for c in communes})
    province = communes[0].split("/", 1)[0]
    normal_ids = []
    with s.ctx.db.session() as sess:
        for i in range(args.bulletins):
            level = rng.choice(["province", "district", "commune"])
            target = {"province": province, "district": rng.choice(districts)}.get(level) or rng.choice(
                communes
            )
            bid = f"b-{i:04d}"
            if i % 2:
                normal_ids.append(bid)
            sess.add(
                Bulletin(
                    id=bid,
                    title=f"Bản tin {i}",
                    priority="normal" if i % 2 else "priority",
                    form="text",
                    origin=level,
                    status="approved",
                    kinds=["radio", "led"],
                    targets=[BulletinTarget(area_path=target)],
                    duration_ms=rng.randint(20, 300) * 1000,
                    plays_per_day=1,
                    repeat={},
                    version=1,
                    created_at=now,
                    updated_at=now,
                    approved_at=now - timedelta(minutes=i),
                )
            )

    def republish_all() -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            with s.ctx.db.session() as sess:
                snap = s.programmes.snapshot(sess)
                for leaf in communes:
                    for kind in ("radio", "led"):
                        s.programmes.body(snap, leaf, kind, 1)
            best = min(best, time.perf_counter() - t0)
        return round(best, 2)

    out = {"communes": len(communes), "bulletins": args.bulletins, "days": cfg.programme.days_ahead}
    out["no_choice_s"] = republish_all()
    with s.ctx.db.session() as sess:
        for c in communes:
            for k in ("radio", "led"):
                sess.add(StandingChoice(area_path=c, origin="province", kind=k, set_by=None, set_at=now))
            for bid in rng.sample(normal_ids, min(10, len(normal_ids))):
                for k in ("radio", "led"):
                    sess.add(
                        NormalChoice(
                            area_path=c,
                            bulletin_id=bid,
                            kind=k,
                            date=VALIDITY,
                            chosen=True,
                            decided_by=None,
                            decided_at=now,
                        )
                    )
    out["province_rule_and_10_choices_s"] = republish_all()
    with s.ctx.db.session() as sess:
        for c in communes:
            for o in ("district", "commune"):
                for k in ("radio", "led"):
                    sess.add(StandingChoice(area_path=c, origin=o, kind=k, set_by=None, set_at=now))
    out["every_level_by_rule_s"] = republish_all()
    s.ctx.db.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
