"""Nhật ký phát (proof of play by device, bulletin or day) and Nhật ký hệ thống (audit, administrators)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web

from hub.errors import Invalid
from hub.services.base import require
from hub.web.core import Req, page

OUTCOME_VI = {"completed": "Phát trọn", "interrupted": "Bị ngắt", "skipped": "Bỏ qua", "failed": "Lỗi"}
AUDIT_OUTCOME_VI = {"ok": "Thành công", "denied": "Bị từ chối", "failed": "Thất bại"}


def _day(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"'{raw}' không phải ngày dạng YYYY-MM-DD.", field="date") from None


@page
async def plays_page(req: Req) -> web.StreamResponse:
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
            limit=1000,
        )
    except Invalid as exc:
        error, day = exc.message, None
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
    )


@page
async def audit_page(req: Req) -> web.StreamResponse:
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
    app.router.add_get("/audit", audit_page)
