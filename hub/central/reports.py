"""What the province reports to the central system (docs/CENTRAL.md, "Reports"): the one place where the
report's fields are named, so they can follow the ministry's official list once it is public.

Every report is one JSON document:

    {"schema": "nguon-central-report/1", "kind": "bulletins" | "terminals" | "plays", "key": "<kind>:<date>",
     "province": {"code", "name"}, "date": "YYYY-MM-DD" (local day), "generated_at": ISO 8601, "items": [...]}

- bulletins: the bulletins approved that day (metadata, not their text): id, title, priority, origin, form,
  status, exercise, kinds, targets [{code, path, name}], approved_at, valid_from, valid_until;
- terminals: every loudspeaker cluster and LED board as of that day: id, kind, area {code, path, name}, lat,
  lon (null when unknown), state, last_seen;
- plays: per commune, the plays its devices reported that day: commune {code, path, name}, completed,
  interrupted, skipped, failed, emergency, exercise, devices (how many reported).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from hub.models import Area, Bulletin, Device, Play
from hub.services.areas import AreaService
from hub.services.base import Context

SCHEMA = "nguon-central-report/1"
KINDS = ("bulletins", "terminals", "plays")
OUTCOMES = ("completed", "interrupted", "skipped", "failed")


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


class Reports:
    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx, self.areas = ctx, areas

    def _area(self, path: str) -> dict[str, Any]:
        a: Area | None = self.areas.all().get(path)
        return {"code": a.code if a else "", "path": path, "name": a.name if a else ""}

    def _province(self) -> dict[str, Any]:
        roots = [a for a in self.areas.all().values() if a.parent_path is None]
        return {"code": roots[0].code, "name": roots[0].name} if roots else {"code": "", "name": ""}

    def _bounds(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, time(0), tzinfo=self.ctx.tz)
        return start, start + timedelta(days=1)

    def build(self, kind: str, day: date) -> dict[str, Any]:
        items = {"bulletins": self._bulletins, "terminals": self._terminals, "plays": self._plays}[kind](day)
        return {
            "schema": SCHEMA,
            "kind": kind,
            "key": f"{kind}:{day.isoformat()}",
            "province": self._province(),
            "date": day.isoformat(),
            "generated_at": self.ctx.now().isoformat(),
            "items": items,
        }

    def _bulletins(self, day: date) -> list[dict[str, Any]]:
        start, end = self._bounds(day)
        with self.ctx.db.session() as sess:
            rows = sess.scalars(
                select(Bulletin)
                .where(Bulletin.approved_at >= start, Bulletin.approved_at < end)
                .order_by(Bulletin.approved_at)
            ).all()
            return [
                {
                    "id": b.id,
                    "title": b.title,
                    "priority": b.priority,
                    "origin": b.origin,
                    "form": b.form,
                    "status": b.status,
                    "exercise": b.exercise,
                    "kinds": list(b.kinds),
                    "targets": [self._area(p) for p in b.target_paths],
                    "approved_at": _iso(b.approved_at),
                    "valid_from": _iso(b.valid_from),
                    "valid_until": _iso(b.valid_until),
                }
                for b in rows
            ]

    def _terminals(self, day: date) -> list[dict[str, Any]]:
        del day  # the registry as it stands when the report is made
        with self.ctx.db.session() as sess:
            return [
                {
                    "id": d.id,
                    "kind": d.kind,
                    "area": self._area(d.area_path),
                    "lat": d.lat,
                    "lon": d.lon,
                    "state": d.state,
                    "last_seen": _iso(d.last_seen),
                }
                for d in sess.scalars(select(Device).order_by(Device.id))
            ]

    def _plays(self, day: date) -> list[dict[str, Any]]:
        start, end = self._bounds(day)
        counts: dict[str, Counter[str]] = {}
        devices: dict[str, set[str]] = {}
        with self.ctx.db.session() as sess:
            for p in sess.scalars(select(Play).where(Play.started_at >= start, Play.started_at < end)):
                c = counts.setdefault(p.area_path, Counter())
                c[p.outcome] += 1
                c["emergency"] += int(p.emergency)
                c["exercise"] += int(p.exercise)
                devices.setdefault(p.area_path, set()).add(p.device_id)
        return [
            {
                "commune": self._area(path),
                **{k: counts[path][k] for k in (*OUTCOMES, "emergency", "exercise")},
                "devices": len(devices[path]),
            }
            for path in sorted(counts)
        ]
