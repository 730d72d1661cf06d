"""What language versions (bản tiếng dân tộc) cost the hub's republish of every programme.

    .venv/bin/python bench/languages.py [--communes 1000] [--bulletins 200] [--seed 7]

A hub on SQLite in a temp dir, a generated province of 10 districts, `--bulletins` approved priority
bulletins (from the province, a district or a commune); then the hub's snapshot and the signed-programme
bodies of every commune x 2 kinds x `programme.days_ahead` days, best of 3, for: no local languages;
every district with its languages set (Ê Đê, M'Nông, Cơ Ho, both or none) but no bulletin with a version;
and the same with a fifth of the bulletins carrying one or two versions (a bulletin lasts longer in the
communes that use them: the days are prepared once per set of languages in use). One JSON line: seconds
and how many days were prepared (`prepare_day` calls) in the last pass.
"""

from __future__ import annotations

import argparse
import hashlib
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
from hub.models import Area, Bulletin, BulletinTarget, Media
from hub.roles import SYSTEM
from hub.speech import NoSpeech
from protocol.clock import FrozenClock

DISTRICT_LANGUAGES: tuple[list[str], ...] = (["rad"], ["cmo"], ["kpm"], ["rad", "cmo"], [])


def main() -> None:
    p = argparse.ArgumentParser(prog="bench/languages.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--communes", type=int, default=1000)
    p.add_argument("--bulletins", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nguon-bench-languages-"))
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
    with s.ctx.db.session() as sess:
        for i in range(args.bulletins):
            level = rng.choice(["province", "district", "commune"])
            target = {"province": province, "district": rng.choice(districts)}.get(level) or rng.choice(
                communes
            )
            sess.add(
                Bulletin(
                    id=f"b-{i:04d}", title=f"Bản tin {i}", priority="priority", form="audio", origin=level,
                    status="approved", kinds=["radio", "led"], targets=[BulletinTarget(area_path=target)],
                    duration_ms=rng.randint(20, 300) * 1000, plays_per_day=1, repeat={}, version=1,
                    created_at=now, updated_at=now, approved_at=now - timedelta(minutes=i),
                )
            )  # fmt: skip

    def republish_all() -> tuple[float, int]:
        best, prepared = float("inf"), 0
        for _ in range(3):
            t0 = time.perf_counter()
            with s.ctx.db.session() as sess:
                snap = s.programmes.snapshot(sess)
                for leaf in communes:
                    for kind in ("radio", "led"):
                        s.programmes.body(snap, leaf, kind, 1)
            best = min(best, time.perf_counter() - t0)
            prepared = snap.days.prepared
        return round(best, 2), prepared

    out: dict[str, object] = {"communes": len(communes), "bulletins": args.bulletins,
                              "days": cfg.programme.days_ahead}  # fmt: skip
    out["no_languages_s"], out["no_languages_prepared"] = republish_all()
    with s.ctx.db.session() as sess:
        for i, d in enumerate(districts):
            row = sess.get(Area, d)
            assert row is not None
            row.languages = [{"code": c, "name": c} for c in DISTRICT_LANGUAGES[i % len(DISTRICT_LANGUAGES)]]
    s.areas.invalidate()
    out["languages_no_versions_s"], out["languages_no_versions_prepared"] = republish_all()
    with s.ctx.db.session() as sess:
        for i in range(0, args.bulletins, 5):  # a fifth of the bulletins: one or two versions
            versions = []
            for code in rng.sample(["rad", "cmo", "kpm"], rng.choice([1, 2])):
                sha = hashlib.sha256(f"{i}-{code}".encode()).hexdigest()
                ms = rng.randint(20, 300) * 1000
                sess.add(Media(sha256=sha, mime="audio/mpeg", kind="audio", size=1000, duration_ms=ms,
                               path=sha, created_at=now))  # fmt: skip
                versions.append({"language": code, "media": sha})
            b = sess.get(Bulletin, f"b-{i:04d}")
            assert b is not None
            b.language_versions = versions
    out["versions_s"], out["versions_prepared"] = republish_all()
    s.ctx.db.dispose()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
