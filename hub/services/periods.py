"""Reporting periods (Thống kê): a day, an ISO week, a month, a half-year (Art. 18) or custom dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from hub.errors import Invalid

PERIOD_KINDS = ("day", "week", "month", "half", "custom")
MAX_DAYS = 400  # a custom period: a year and a reporting period at most
PERIOD_VI = {"day": "Ngày", "week": "Tuần", "month": "Tháng", "half": "6 tháng", "custom": "Tùy chọn"}


@dataclass(frozen=True)
class Period:
    kind: str
    first: date
    last: date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """The period as a Vietnamese report names it."""
        f, la = self.first, self.last
        if self.kind == "day":
            return f"ngày {f:%d/%m/%Y}"
        if self.kind == "month":
            return f"tháng {f.month:02d}/{f.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if f.month == 1 else 'cuối'} năm {f.year}"
        return f"từ ngày {f:%d/%m/%Y} đến ngày {la:%d/%m/%Y}"

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "label": self.label,
        }


def _date(raw: str | None, field: str) -> date | None:
    if not raw:
        return None
    try:
        d = date.fromisoformat(raw.strip()[:10]) if len(raw) <= 10 else None
    except ValueError:
        d = None
    if d is None or not 2000 <= d.year <= 2100:
        raise Invalid(f"'{raw[:20]}' không phải ngày dạng YYYY-MM-DD (năm 2000-2100).", field=field)
    return d


def half_of(day: date) -> Period:
    """The half-year that holds `day` (1 January - 30 June, or 1 July - 31 December)."""
    if day.month <= 6:
        return Period("half", date(day.year, 1, 1), date(day.year, 6, 30))
    return Period("half", date(day.year, 7, 1), date(day.year, 12, 31))


def parse_period(
    kind: str | None, *, anchor: str | None, first: str | None, last: str | None, today: date
) -> Period:
    """The period asked for: `kind` around the `anchor` date (default today), or custom `first`..`last`."""
    kind = (kind or "month").strip()
    if kind not in PERIOD_KINDS:
        raise Invalid(f"period phải là một trong {', '.join(PERIOD_KINDS)}.", field="period")
    if kind == "custom":
        f, la = _date(first, "from"), _date(last, "to")
        if f is None or la is None:
            raise Invalid("Khoảng tùy chọn cần from và to (YYYY-MM-DD).", field="from" if f is None else "to")
        if la < f:
            raise Invalid("Ngày kết thúc (to) phải sau ngày bắt đầu (from).", field="to")
        if (la - f).days + 1 > MAX_DAYS:
            raise Invalid(f"Khoảng tùy chọn dài nhất {MAX_DAYS} ngày.", field="to")
        return Period(kind, f, la)
    d = _date(anchor, "date") or today
    if kind == "day":
        return Period(kind, d, d)
    if kind == "week":
        monday = d - timedelta(days=d.weekday())
        return Period(kind, monday, monday + timedelta(days=6))
    if kind == "month":
        nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return Period(kind, date(d.year, d.month, 1), nxt - timedelta(days=1))
    return half_of(d)


def report_due(level: str, today: date) -> date | None:
    """The deadline the unit at `level` is reminded of today (from 1 June / 1 December), else None."""
    if today.month not in (6, 12):
        return None
    deadline = date(today.year, today.month, 30 if level == "province" else 20)
    return deadline if today <= deadline else None
