"""The statistics' tables (issue 17), beside hub/models.py (same Base): daily roll-ups, one local day
(YYYY-MM-DD) each, rebuilt from the raw events by hub/services/rollups.py, and the monthly sums of them the
Thống kê queries read for whole months; they keep the history after the raw events' retention
(docs/OPERATIONS.md). The archived periodic reports too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.models import Base


class StatRollupDay(Base):
    """A local day whose roll-ups are stored (the days after it are computed from the raw events)."""

    __tablename__ = "stat_rollup_days"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    computed_at: Mapped[datetime]


class StatPlayDay(Base):
    """Plays of one day in one commune: how many started that day, by what, and air time within the day."""

    __tablename__ = "stat_play_days"
    __table_args__ = (Index("ix_stat_play_days_day_area", "day", "area_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    area_path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(6))
    priority: Mapped[str] = mapped_column(String(10))
    origin: Mapped[str] = mapped_column(String(10))
    exercise: Mapped[bool] = mapped_column(Boolean)
    part: Mapped[str] = mapped_column(String(8))  # morning | evening (local start before/after noon)
    outcome: Mapped[str] = mapped_column(String(12))
    plays: Mapped[int] = mapped_column(Integer)  # plays that started (or were due) that day
    air_ms: Mapped[int] = mapped_column(BigInteger)  # on air within the day (a play across midnight splits)


class StatDeviceDay(Base):
    """One device's day: time observed and online, outages begun, outages ended and their length, LED time."""

    __tablename__ = "stat_device_days"
    __table_args__ = (
        UniqueConstraint("day", "device_id"),
        Index("ix_stat_device_days_day_area", "day", "area_path"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    device_id: Mapped[str] = mapped_column(String(64))
    area_path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(6))
    observed_s: Mapped[int] = mapped_column(Integer)  # seconds of the day the device was registered
    online_s: Mapped[int] = mapped_column(Integer)
    outages: Mapped[int] = mapped_column(Integer)  # went offline that day
    recovered: Mapped[int] = mapped_column(Integer)  # came back that day after an outage
    recover_s: Mapped[int] = mapped_column(Integer)  # total length of the outages that ended that day
    shown_s: Mapped[int] = mapped_column(Integer)  # an LED board's time showing bulletins that day


class StatPlayMonth(Base):
    """The plays of one month in one commune by device kind, part of the day and outcome: the sums of
    stat_play_days without priority, origin and exercise (the Thống kê page does not group plays by them),
    rebuilt from the days whenever one of its days is stored. The queries read it for whole months."""

    __tablename__ = "stat_play_months"
    __table_args__ = (Index("ix_stat_play_months_month_area", "month", "area_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    area_path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(6))
    part: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(12))
    plays: Mapped[int] = mapped_column(Integer)
    air_ms: Mapped[int] = mapped_column(BigInteger)


class StatDeviceMonth(Base):
    """One device's month: the sums of its stat_device_days rows (per commune it was in), rebuilt from the
    days like StatPlayMonth."""

    __tablename__ = "stat_device_months"
    __table_args__ = (Index("ix_stat_device_months_month_area", "month", "area_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    device_id: Mapped[str] = mapped_column(String(64))
    area_path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(6))
    observed_s: Mapped[int] = mapped_column(BigInteger)
    online_s: Mapped[int] = mapped_column(BigInteger)
    outages: Mapped[int] = mapped_column(BigInteger)
    recovered: Mapped[int] = mapped_column(BigInteger)
    recover_s: Mapped[int] = mapped_column(BigInteger)
    shown_s: Mapped[int] = mapped_column(BigInteger)


class StatProblemDay(Base):
    """Problems of one commune's devices in one day, by kind (offline, rejected, error, anomaly codes)."""

    __tablename__ = "stat_problem_days"
    __table_args__ = (Index("ix_stat_problem_days_day_area", "day", "area_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    area_path: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(20))
    count: Mapped[int] = mapped_column(Integer)


class StatEmergencyDelay(Base):
    """One target device of an emergency (approved that day): its time from sending to first play, or None
    when it never played."""

    __tablename__ = "stat_emergency_delays"
    __table_args__ = (
        UniqueConstraint("bulletin_id", "device_id"),
        Index("ix_stat_emergency_delays_day_area", "day", "area_path"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    bulletin_id: Mapped[str] = mapped_column(String(40))
    device_id: Mapped[str] = mapped_column(String(64))
    area_path: Mapped[str] = mapped_column(String(200))
    exercise: Mapped[bool] = mapped_column(Boolean)
    delay_ms: Mapped[int | None] = mapped_column(Integer)


class StatReport(Base):
    """A periodic report (Art. 18) as generated: the DOCX and its XLSX annex, kept with who generated it."""

    __tablename__ = "stat_reports"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    area_path: Mapped[str] = mapped_column(String(200), index=True)
    period_from: Mapped[str] = mapped_column(String(10))
    period_to: Mapped[str] = mapped_column(String(10))
    number: Mapped[str] = mapped_column(String(60))
    docx: Mapped[bytes] = mapped_column(LargeBinary)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    generated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    generated_username: Mapped[str] = mapped_column(String(64), default="")
    generated_at: Mapped[datetime]


class StatWindowDay(Base):
    """Air time of one day inside one broadcast window (khung giờ phát, as in force for the commune and
    device kind that day: hub/services/windows.py), per commune and kind; time outside every window is the
    rest of stat_play_days' air_ms."""

    __tablename__ = "stat_window_days"
    __table_args__ = (Index("ix_stat_window_days_day_area", "day", "area_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    area_path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(6))
    window_label: Mapped[str] = mapped_column(String(11))  # "05:00-06:30"
    air_ms: Mapped[int] = mapped_column(BigInteger)


class StatWindowMonth(Base):
    """The monthly sums of stat_window_days (rebuilt with them, like StatPlayMonth)."""

    __tablename__ = "stat_window_months"
    __table_args__ = (Index("ix_stat_window_months_month_area", "month", "area_path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    area_path: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(6))
    window_label: Mapped[str] = mapped_column(String(11))
    air_ms: Mapped[int] = mapped_column(BigInteger)
