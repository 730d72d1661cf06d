"""Builders for LED test programmes and alerts."""

from __future__ import annotations

from datetime import datetime, timedelta

from protocol.clock import LOCAL_TZ, to_iso
from protocol.messages import AlertBody, BulletinInfo, MediaRef, ProgrammeBody, ProgrammeDay, ProgrammeItem

DAY = "2026-11-23"
WINDOWS = ["05:00-07:00", "17:00-22:00"]


def local(hhmm: str, day: str = DAY) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=LOCAL_TZ)


def text_bulletin(
    bid: str, text: str = "Nội dung", *, title: str = "Tiêu đề", duration_ms: int = 12_000, **kw: object
) -> BulletinInfo:
    return BulletinInfo(
        id=bid,
        title=title,
        priority="normal",
        origin="commune",
        form="text",
        duration_ms=duration_ms,
        text=text,
        **kw,
    )  # type: ignore[arg-type]


def media_bulletin(
    bid: str,
    form: str,
    sha: str,
    mime: str,
    *,
    duration_ms: int = 8_000,
    subtitles: str | None = None,
    **kw: object,
) -> BulletinInfo:
    subs = (
        MediaRef(sha256=subtitles, size=1, url=f"/media/{subtitles}", mime="text/vtt") if subtitles else None
    )
    return BulletinInfo(
        id=bid,
        title=f"Bản tin {bid}",
        priority="normal",
        origin="district",
        form=form,
        duration_ms=duration_ms,
        media=MediaRef(sha256=sha, size=1, url=f"/media/{sha}", mime=mime),
        subtitles=subs,
        **kw,
    )  # type: ignore[arg-type]


def programme(
    bulletins: list[BulletinInfo],
    *,
    window: str = "17:00-22:00",
    day: str = DAY,
    version: int = 1,
    recalled: list[str] | None = None,
    emergencies: list[str] | None = None,
    extra: list[BulletinInfo] | None = None,
) -> ProgrammeBody:
    start = local(window[:5], day)
    items = [
        ProgrammeItem(
            b.id, to_iso(start + timedelta(minutes=i)), to_iso(start + timedelta(minutes=i + 1)), window
        )
        for i, b in enumerate(bulletins)
    ]
    return ProgrammeBody(
        area="67/660/24613",
        kind="led",
        version=version,
        timezone="Asia/Ho_Chi_Minh",
        days=[ProgrammeDay(day, WINDOWS, items)],
        bulletins=bulletins + (extra or []),
        emergencies=emergencies or [],
        recalled=recalled or [],
    )


def alert(
    eid: str,
    *,
    sent: datetime,
    minutes: int = 30,
    exercise: bool = False,
    msg_type: str = "Alert",
    text: str = "Lũ quét đang đến gần. Người dân khẩn trương di chuyển lên vùng cao.",
    title: str = "Cảnh báo lũ quét",
) -> AlertBody:
    info = BulletinInfo(
        id=eid,
        title=title,
        priority="emergency",
        origin="province",
        form="text",
        duration_ms=20_000,
        text=text,
        exercise=exercise,
    )
    return AlertBody(
        identifier=eid,
        msg_type=msg_type,
        status="Exercise" if exercise else "Actual",
        sent=to_iso(sent),
        expires=to_iso(sent + timedelta(minutes=minutes)),
        areas=["67/660/24613"],
        bulletin=None if msg_type == "Cancel" else info,
    )
