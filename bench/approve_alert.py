"""Bench: an emergency's approval until its alert is in the publisher's hands, in-process (hub roles).

What the publish intents (hub/services/intents.py) add to an emergency on the leader: the intent's insert in
the approval's transaction and the signed alert stored before it is sent. A hub in a temp dir (SQLite, or
PostgreSQL with --pg URL), a recording publisher (no broker: the broker's share is bench/fanout.py's), a
province of 100 communes; N emergencies for the whole province are written (espeak-ng speech, outside the
measure), then each is approved through Services.approve (what the API calls) and timed until the
recording publisher holds its alert. Prints ONE JSON line. Copied into an older tree it measures that one
(before/after).

    .venv/bin/python bench/approve_alert.py [--n 15] [--pg postgresql+psycopg://postgres@127.0.0.1/DB]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.app import build_services
from hub.config import build_config
from hub.roles import SYSTEM
from hub.services import BulletinInput, Services
from hub.services.publishing import RecordingPublisher


async def main(n: int, pg: str) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="nguon-approve-alert-"))
    data: dict[str, object] = {
        "data_dir": str(tmp), "mqtt": {"enabled": False}, "programme": {"scheduler": False}
    }
    if pg:
        data["database"] = {"url": pg}
    cfg = build_config(data, environ={})
    publisher = RecordingPublisher()
    s = build_services(cfg, publisher=publisher)
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
                    for c in range(10)
                ],
            }
            for d in range(10)
        ],
    }
    s.areas.import_tree(tree, SYSTEM)
    ids = []
    for i in range(n):
        b = await s.bulletins.create(SYSTEM, BulletinInput(
            title=f"Khẩn {i}", priority="emergency", form="text", targets=["67"], kinds=["radio"],
            text=f"Khẩn cấp số {i}: lũ quét, người dân di chuyển lên vùng cao ngay.",
        ))
        ids.append(b.id)
    s.publishing.republish_soon(None)
    await s.publishing.flush(600)
    times = []
    for bid in ids:
        before = len(publisher.messages)
        t = time.perf_counter()
        await s.approve(SYSTEM, bid)
        assert any("/alert" in topic for topic, _, _ in publisher.messages[before:])
        times.append((time.perf_counter() - t) * 1000)
        await asyncio.sleep(0.05)  # let the intent's PUBACK be written down (leader's loop) in between
    out: dict[str, object] = {
        "database": "postgresql" if pg else "sqlite",
        "n": n,
        "p50_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
    }
    out.update(intent_cost(s, publisher))
    s.ctx.db.dispose()
    return out


def intent_cost(s: Services, publisher: RecordingPublisher) -> dict[str, object]:
    """What the intents add, alone (a tree with hub/services/intents.py): the insert (+ NOTIFY) in a
    transaction of its own, and keeping a signed alert (the last one sent) in it, each timed 30 times."""
    try:
        from hub.services.intents import record  # noqa: PLC0415 - absent from older trees
    except ImportError:
        return {}
    wire = [p for topic, p, _ in publisher.messages if "/alert" in topic][-1]
    insert, keep = [], []
    for _ in range(30):
        t = time.perf_counter()
        with s.ctx.db.session() as sess:
            record(sess, "alert", {"bulletin": "bench", "msg_type": "Alert"}, s.ctx.now())
        insert.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        s.publishing._keep(1, wire, ["bench/alert"])
        keep.append((time.perf_counter() - t) * 1000)
    return {
        "intent_insert_p50_ms": round(statistics.median(insert), 2),
        "keep_signed_alert_p50_ms": round(statistics.median(keep), 2),
        "alert_bytes": len(wire),
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=15)
    p.add_argument("--pg", default="", help="a PostgreSQL URL (an empty database) instead of SQLite")
    args = p.parse_args()
    logging.disable(logging.WARNING)
    print(json.dumps(asyncio.run(main(args.n, args.pg))))
