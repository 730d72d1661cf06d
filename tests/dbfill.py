"""Approved LED text bulletins written straight to the hub's database: the cheap way for a test to fill a
commune's programme near the devices' message limit (no speech, no workflow)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.models import Bulletin, BulletinTarget


def add_approved_led_bulletins(
    db: Any, ids: list[str], *, priority: str, target: str, text: str, duration_ms: int, now: datetime
) -> list[str]:
    """One approved province LED bulletin per id ("Thông báo dài N"), shown once a day; returns `ids`."""
    with db.session() as sess:
        for i, bid in enumerate(ids):
            sess.add(
                Bulletin(
                    id=bid,
                    title=f"Thông báo dài {i}",
                    priority=priority,
                    form="text",
                    origin="province",
                    status="approved",
                    kinds=["led"],
                    targets=[BulletinTarget(area_path=target)],
                    text=text,
                    duration_ms=duration_ms,
                    plays_per_day=1,
                    repeat={},
                    version=1,
                    created_at=now,
                    updated_at=now,
                    approved_at=now,
                )
            )
    return ids
