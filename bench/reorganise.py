"""A reorganisation of a whole province, timed: the dry run, the transaction, and the republish after it.

    .venv/bin/python bench/reorganise.py [--province 68] [--devices-per-commune 2] [--group 3]

Builds a hub in a temp dir (SQLite WAL, publishing recorded, no broker) with a province of the official
map (Lâm Đồng: 124 communes), N radios per commune, one chair account per commune, one approved bulletin
per commune and a chair's order per commune; then a plan that merges the communes by groups of `--group`
(the 2025 reorganisation's shape), applied through `Services.reorganise`. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.app import build_services
from hub.config import build_config
from hub.models import Bulletin, BulletinTarget, ProgrammeChoice, User
from hub.roles import SYSTEM
from hub.security import hash_password
from hub.services import official
from hub.services.publishing import RecordingPublisher
from hub.speech import NoSpeech


def seed(s: Any, province: str, per_commune: int) -> list[str]:
    tree = official.official_tree(province)
    s.areas.import_tree(tree, SYSTEM)
    communes = [f"{tree['code']}/{c['code']}" for c in tree["children"]]
    now = datetime.now(UTC)
    pw = hash_password("Thu-nghiem-Mat-khau-2026")  # one hash: argon2 per account is not what is measured
    for i, c in enumerate(communes):
        for k in range(per_commune):
            s.devices.register(SYSTEM, device_id=f"loa-{c.rsplit('/', 1)[1]}-{k}", kind="radio", area=c)
        with s.ctx.db.session() as sess:
            sess.add(User(username=f"chutich{i}", password_hash=pw, role="commune_chair", area_path=c,
                          created_at=now, password_changed_at=now))
            sess.add(Bulletin(id=f"b{i}", title=f"Tin {i}", priority="priority", form="text",
                              origin="commune", status="approved", kinds=["radio"],
                              targets=[BulletinTarget(area_path=c)],
                              text="Thông báo.", duration_ms=10_000, plays_per_day=1, repeat={}, version=1,
                              created_at=now, updated_at=now, approved_at=now))
            sess.flush()
            sess.add(ProgrammeChoice(area_path=c, date="2026-12-01", kind="*", order=[f"b{i}"],
                                     updated_at=now))
    return communes


def plan(province: str, communes: list[str], group: int) -> dict[str, Any]:
    merges = []
    for i in range(0, len(communes) - group + 1, group):
        part = communes[i : i + group]
        code = part[0].rsplit("/", 1)[1]
        merges.append({"from": [p.rsplit("/", 1)[1] for p in part],
                       "into": {"code": code, "name": f"Xã mới {code}", "parent": province, "type": "xã"}})
    return {"name": "bench", "effective": "2026-12-01", "merge": merges}


async def main(province: str, per_commune: int, group: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build_config({"data_dir": tmp, "mqtt": {"enabled": False}, "programme": {"scheduler": False}},
                           environ={})
        s = build_services(cfg, publisher=RecordingPublisher(), speech=NoSpeech())
        communes = seed(s, province, per_commune)
        p = plan(province, communes, group)
        t0 = time.perf_counter()
        dry = await s.reorganise(SYSTEM, p, dry_run=True)
        t1 = time.perf_counter()
        out = await s.reorganise(SYSTEM, p)
        t2 = time.perf_counter()
        await s.publishing.flush(timeout=600)
        t3 = time.perf_counter()
        s.ctx.db.dispose()
        return {
            "bench": "reorganise",
            "province": province,
            "communes_before": len(communes),
            "merges": len(p["merge"]),
            "devices_moved": len(out.devices),
            "accounts_moved": len(out.accounts),
            "bulletins_retargeted": len(out.bulletins),
            "dry_run_s": round(t1 - t0, 3),
            "apply_s": round(t2 - t1, 3),
            "republish_s": round(t3 - t2, 3),
            "same_as_dry_run": dry.devices == out.devices and dry.changes == out.changes,
        }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--province", default="68")
    ap.add_argument("--devices-per-commune", type=int, default=2)
    ap.add_argument("--group", type=int, default=3)
    a = ap.parse_args()
    print(json.dumps(asyncio.run(main(a.province, a.devices_per_commune, a.group))))
