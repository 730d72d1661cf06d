"""Nhật ký phát (proof of play by device, bulletin or day) and Nhật ký hệ thống (audit, administrators)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid
from hub.limits import check_date
from hub.services.base import require
from hub.spreadsheet import csv_bytes
from hub.web.core import Req, page

OUTCOME_VI = {"completed": "Phát trọn", "interrupted": "Bị ngắt", "skipped": "Bỏ qua", "failed": "Lỗi"}
AUDIT_OUTCOME_VI = {"ok": "Thành công", "denied": "Bị từ chối", "failed": "Thất bại"}


def _day(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return check_date(date.fromisoformat(raw))
    except ValueError:
        raise Invalid(f"'{raw}' không phải ngày dạng YYYY-MM-DD.", field="date") from None


PAGE_ROWS = 1000
CSV_ROWS = 100_000  # a month of a province's plays, for the report to the DIC


def _plays(req: Req, limit: int) -> tuple[list[dict[str, Any]], str, str, str, date | None]:
    """The play log for the query's filters: rows, error, device, bulletin, day (today if no filter)."""
    q = req.request.query
    device, bulletin = q.get("device", "").strip(), q.get("bulletin", "").strip()
    error, rows = "", []
    tz = req.services.ctx.tz
    try:
        day = _day(q.get("date", "")) or (
            req.services.ctx.local_now().date() if not (device or bulletin) else None
        )
        since = datetime.combine(day, time(0), tz) if day else None
        rows = req.services.devices.plays(
            req.actor,
            device=device or None,
            bulletin=bulletin or None,
            since=since,
            until=since + timedelta(days=1) if since else None,
            limit=limit,
        )
    except Invalid as exc:
        error, day = exc.message, None
    return rows, error, device, bulletin, day


@page
def plays_csv(req: Req) -> web.StreamResponse:
    """The same play log as the page, as CSV for a spreadsheet (UTF-8 with BOM: Excel reads Vietnamese)."""
    rows, error, device, bulletin, day = _plays(req, CSV_ROWS)
    if error:
        raise Invalid(error, field="date")
    tz = req.services.ctx.tz
    titles = {b["id"]: b["title"] for b in req.services.bulletins.list(req.actor, limit=CSV_ROWS)}
    areas = {d["id"]: d["area"] for d in req.services.devices.list(req.actor)}

    def local(iso: str | None) -> str:
        return datetime.fromisoformat(iso).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if iso else ""

    def row(p: dict[str, Any]) -> list[Any]:
        data = p.get("data") or {}
        return [
            local(p["started_at"]),
            local(p["ended_at"]),
            local(p["scheduled_at"]),
            p["device_id"],
            areas.get(p["device_id"], ""),
            p["bulletin_id"],
            titles.get(p["bulletin_id"], ""),
            OUTCOME_VI.get(p["outcome"], p["outcome"]),
            "có" if p["emergency"] else "",
            "có" if p["exercise"] else "",
            data.get("detail") or "",
        ]

    header = [
        "Bắt đầu",
        "Kết thúc",
        "Lịch phát",
        "Thiết bị",
        "Địa bàn",
        "Mã bản tin",
        "Bản tin",
        "Kết quả",
        "Khẩn cấp",
        "Diễn tập",
        "Ghi chú",
    ]
    name = "-".join(x for x in ("nhat-ky-phat", day.isoformat() if day else "", device, bulletin) if x)
    return web.Response(
        body=csv_bytes(header, (row(p) for p in rows)),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{re.sub(r"[^A-Za-z0-9._-]", "_", name)}.csv"'
        },
    )


@page
def plays_page(req: Req) -> web.StreamResponse:
    q = req.request.query
    rows, error, device, bulletin, day = _plays(req, PAGE_ROWS)
    titles = {b["id"]: b["title"] for b in req.services.bulletins.list(req.actor, limit=1000)}
    devices = req.services.devices.list(req.actor)
    return req.render(
        "plays.html",
        status=422 if error else 200,
        title="Nhật ký phát",
        rows=rows,
        error=error,
        device=device,
        bulletin=bulletin,
        day=day.isoformat() if day else q.get("date", ""),
        titles=titles,
        devices=devices,
        outcomes=OUTCOME_VI,
        csv_query=urlencode(
            {
                k: v
                for k, v in (
                    ("device", device),
                    ("bulletin", bulletin),
                    ("date", day.isoformat() if day else ""),
                )
                if v
            }
        ),
    )


@page
def audit_page(req: Req) -> web.StreamResponse:
    require(req.actor, "audit.read", "audit-page")
    q = req.request.query
    action, username = q.get("action", "").strip(), q.get("username", "").strip()
    rows: list[dict[str, Any]] = req.services.audit(
        req.actor, action=action or None, username=username or None, limit=300
    )
    return req.render(
        "audit.html",
        title="Nhật ký hệ thống",
        rows=rows,
        action=action,
        username=username,
        outcomes=AUDIT_OUTCOME_VI,
    )


def install(app: web.Application) -> None:
    app.router.add_get("/plays", plays_page)
    app.router.add_get("/plays.csv", plays_csv)
    app.router.add_get("/audit", audit_page)
