"""Generated periodic reports (Art. 18), archived with who generated them: the DOCX and its XLSX annex."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from hub.errors import NotFound
from hub.roles import Actor
from hub.services.base import Context, new_id, require
from hub.services.periods import Period
from hub.stat_models import StatReport


@dataclass(frozen=True)
class ArchivedReport:
    id: str
    area: str
    period_from: str
    period_to: str
    number: str
    generated_by: str
    generated_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "area": self.area,
            "from": self.period_from,
            "to": self.period_to,
            "number": self.number,
            "generated_by": self.generated_by,
            "generated_at": self.generated_at.isoformat(),
        }


def _summary(r: StatReport) -> ArchivedReport:
    return ArchivedReport(
        r.id, r.area_path, r.period_from, r.period_to, r.number, r.generated_username, r.generated_at
    )


class ReportArchive:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def save(
        self, actor: Actor, *, area: str, period: Period, number: str, docx: bytes, xlsx: bytes
    ) -> ArchivedReport:
        require(actor, "report.generate", area, area=area)
        with self.ctx.tx(actor) as sess:
            r = StatReport(
                id=new_id("rp"),
                area_path=area,
                period_from=period.first.isoformat(),
                period_to=period.last.isoformat(),
                number=number,
                docx=docx,
                xlsx=xlsx,
                generated_by=actor.user_id,
                generated_username=actor.username,
                generated_at=self.ctx.now(),
            )
            sess.add(r)
            self.ctx.audit(
                sess,
                actor,
                "report.generate",
                r.id,
                detail={"area": area, "from": r.period_from, "to": r.period_to},
            )
            return _summary(r)

    def list(self, actor: Actor, *, limit: int = 50) -> list[ArchivedReport]:
        """The reports of the caller's area and the areas inside it, newest first."""
        require(actor, "read")
        with self.ctx.db.session() as sess:
            q = select(StatReport).order_by(StatReport.generated_at.desc(), StatReport.id).limit(2000)
            rows = [_summary(r) for r in sess.scalars(q) if actor.covers(r.area_path)]
        return rows[:limit]

    def file(self, actor: Actor, report_id: str, kind: str) -> tuple[ArchivedReport, bytes]:
        """One archived report's DOCX or XLSX (404 outside the caller's area, as for a report not there)."""
        require(actor, "read")
        with self.ctx.db.session() as sess:
            r = sess.get(StatReport, report_id[:40])
            if r is None or not actor.covers(r.area_path) or kind not in ("docx", "xlsx"):
                raise NotFound(f"Không có báo cáo '{report_id[:40]}'.", field="report")
            return _summary(r), r.docx if kind == "docx" else r.xlsx
