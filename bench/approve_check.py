"""Bench: what the size check before approval (PublishingService.check_sendable) costs, province-wide.

A hub in a temp dir (SQLite, no broker: a recording publisher), a generated province of N communes in 10
districts, 20 approved priority bulletins for the whole province, every programme built once (as the hub
does at start); then the check of a province-wide emergency and of a priority bulletin, and, for
comparison, the same check with the programme sizes forgotten (every commune and kind compiled).
Prints ONE JSON line.

    .venv/bin/python bench/approve_check.py [--communes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.app import build_services
from hub.config import build_config
from hub.models import Bulletin
from hub.roles import SYSTEM
from hub.services import BulletinInput, Services
from hub.services.publishing import RecordingPublisher
from protocol.clock import FrozenClock


def timed_check(s: Services, bulletin_id: str) -> float:
    """ms of check_sendable for `bulletin_id` marked approved, rolled back after."""
    with s.ctx.db.session() as sess:
        row = sess.get(Bulletin, bulletin_id)
        assert row is not None
        row.status = "approved"
        t = time.perf_counter()
        s.publishing.check_sendable(sess, bulletin_id)
        ms = (time.perf_counter() - t) * 1000
        sess.rollback()
    return round(ms, 1)


async def main(communes: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="nguon-approve-check-"))
    cfg = build_config(
        {"data_dir": str(tmp), "mqtt": {"enabled": False}, "programme": {"scheduler": False}}, environ={}
    )
    s = build_services(
        cfg, clock=FrozenClock(datetime(2026, 11, 22, 21, 0, tzinfo=UTC)), publisher=RecordingPublisher()
    )
    per = max(1, communes // 10)
    tree = {
        "code": "67",
        "name": "Tỉnh",
        "level": "province",
        "children": [
            {
                "code": str(660 + d),
                "name": f"Huyện {d}",
                "level": "district",
                "children": [
                    {"code": str(24000 + d * 1000 + c), "name": f"Xã {d}-{c}", "level": "commune"}
                    for c in range(per)
                ],
            }
            for d in range(10)
        ],
    }
    s.areas.import_tree(tree, SYSTEM)

    def bulletin(title: str, priority: str) -> BulletinInput:
        return BulletinInput(
            title=title,
            priority=priority,
            form="text",
            targets=["67"],
            kinds=["radio", "led"],
            text=f"{title}: thông báo của tỉnh về lịch tiêm chủng và phòng chống lũ.",
        )

    for i in range(20):
        b = await s.bulletins.create(SYSTEM, bulletin(f"Tin {i}", "priority"))
        await s.approve(SYSTEM, b.id)
    s.publishing.republish_soon(None)
    t = time.perf_counter()
    await s.publishing.flush(1200)
    republish_s = time.perf_counter() - t
    out: dict[str, object] = {"communes": per * 10, "kinds": 2, "republish_all_s": round(republish_s, 2)}
    for priority in ("emergency", "priority"):
        b = await s.bulletins.create(SYSTEM, bulletin("Kiểm tra", priority))
        out[f"{priority}_check_ms"] = timed_check(s, b.id)
        s.publishing._forget_sizes(s.areas.leaves(), ("radio", "led"))  # the comparison: all compiled
        out[f"{priority}_check_compiling_all_ms"] = timed_check(s, b.id)
        s.publishing.republish_soon(None)
        await s.publishing.flush(1200)
    s.ctx.db.dispose()
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--communes", type=int, default=100)
    args = p.parse_args()
    if not 10 <= args.communes <= 5000:
        p.error("--communes must be from 10 to 5000")
    logging.disable(logging.WARNING)
    print(json.dumps(asyncio.run(main(args.communes))))
