"""Nhật ký phát (proof of play by device, bulletin or day) and Nhật ký hệ thống (audit, administrators)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid
from hub.limits import check_date
from hub.roles import ROLE_NAMES_VI
from hub.services.base import require
from hub.services.languages import CATALOGUE, language_name
from hub.spreadsheet import csv_bytes
from hub.web.core import KIND_VI, PRIORITY_VI, Req, page
from hub.web.devices import COMMAND_VI
from hub.web.listing import Listing, read_query
from hub.web.words import AUDIT_ACTION_VI, action_vi, actions_matching, detail_vi

OUTCOME_VI = {"completed": "Phát trọn", "interrupted": "Bị ngắt", "skipped": "Bỏ qua", "failed": "Lỗi"}
AUDIT_OUTCOME_VI = {"ok": "Thành công", "denied": "Bị từ chối", "failed": "Thất bại"}


def _day(raw: str, name: str = "date") -> date | None:
    if not raw:
        return None
    try:
        return check_date(date.fromisoformat(raw))
    except ValueError:
        raise Invalid(f"'{raw[:20]}' không phải ngày dạng YYYY-MM-DD.", field=name) from None


PAGE_ROWS = 1000
CSV_ROWS = 100_000  # a month of a province's plays, for the report to the DIC


def _plays(req: Req, limit: int) -> tuple[list[dict[str, Any]], str, str, str, date | None]:
    """The play log for the query's filters: rows, error, device, bulletin, day (today if no filter)."""
    q = req.request.query
    device, bulletin = q.get("device", "").strip(), q.get("bulletin", "").strip()
    error = ""
    rows: list[dict[str, Any]] = []
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
    titles = {b.id: b.title for b in req.services.bulletins.list(req.actor, limit=CSV_ROWS)}
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
            language_name(data.get("language")),
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
        "Tiếng",
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
    """The play log, a page at a time: by bulletin (its id, or words of its title), device and day."""
    lq = read_query(req.request.query, ("started",), "started", filters=("bulletin", "device", "date"))
    f, tz = lq.filters, req.services.ctx.tz
    error, total = "", 0
    rows: list[dict[str, Any]] = []
    try:
        searching = lq.q or f.get("device") or f.get("bulletin")
        day = _day(f.get("date", "")) or (None if searching else req.services.ctx.local_now().date())
        ids: list[str] | None = None
        if lq.q:
            search = req.services.bulletins.search
            found, _ = search(req.actor, q=lq.q, limit=CSV_ROWS)
            ids = [b.id for b in found]
        if f.get("bulletin"):
            ids = [i for i in (ids or [f["bulletin"]]) if i == f["bulletin"]]
        since = datetime.combine(day, time(0), tz) if day else None
        rows, total = req.services.deliveries.plays_page(
            req.actor,
            bulletins=ids,
            device=f.get("device", ""),
            since=since,
            until=since + timedelta(days=1) if since else None,
            newest_first=lq.desc,
            limit=lq.per_page,
            offset=(lq.page - 1) * lq.per_page,
        )
    except Invalid as exc:
        error, day = exc.message, None
    titles = req.services.bulletins.titles(req.actor, {p["bulletin_id"] for p in rows})
    relays = {p["bulletin_id"] for p in rows if (p.get("data") or {}).get("relay")}
    titles |= req.services.relays.titles(relays)  # tiếp sóng reports: the relay's title
    exact = {k: v for k, v in (("device", f.get("device", "")), ("bulletin", f.get("bulletin", ""))) if v}
    return req.render(
        "plays.html",
        status=422 if error else 200,
        title="Nhật ký phát",
        L=Listing(rows, total, lq, "/plays"),
        error=error,
        device=f.get("device", ""),
        bulletin=f.get("bulletin", ""),
        day=day.isoformat() if day else f.get("date", ""),
        titles=titles,
        outcomes=OUTCOME_VI,
        languages=CATALOGUE,
        csv_query=urlencode({**exact, **({"date": day.isoformat()} if day else {})}),
    )


@page
def audit_page(req: Req) -> web.StreamResponse:
    require(req.actor, "audit.read", "audit-page")
    lq = read_query(
        req.request.query, ("at",), "at", default_desc=True, filters=("action", "outcome", "from", "to")
    )
    f, tz = lq.filters, req.services.ctx.tz
    if f.get("outcome", "") not in ("", *AUDIT_OUTCOME_VI):
        raise Invalid("Kết quả không có; hãy chọn lại trong ô Kết quả.", field="outcome")
    since, until = _day(f.get("from", ""), "from"), _day(f.get("to", ""), "to")
    rows, total = req.services.audit_search(
        req.actor,
        text=lq.q,
        text_actions=actions_matching(lq.q),
        action=f.get("action") or None,
        outcome=f.get("outcome") or None,
        since=datetime.combine(since, time(0), tz) if since else None,
        until=datetime.combine(until, time(0), tz) + timedelta(days=1) if until else None,
        limit=lq.per_page,
        offset=(lq.page - 1) * lq.per_page,
    )
    names = {p: a.name for p, a in req.services.areas.all().items()}
    labels = {**ROLE_NAMES_VI, **COMMAND_VI, **PRIORITY_VI, **KIND_VI}
    for r in rows:
        r["action_vi"] = action_vi(r["action"])
        r["detail_vi"] = detail_vi(r["detail"], names, labels)
        r["target_vi"] = names.get(r["target"], r["target"])
    return req.render(
        "audit.html",
        title="Nhật ký hệ thống",
        L=Listing(rows, total, lq, "/audit"),
        actions=AUDIT_ACTION_VI,
        outcomes=AUDIT_OUTCOME_VI,
    )


def install(app: web.Application) -> None:
    app.router.add_get("/plays", plays_page)
    app.router.add_get("/plays.csv", plays_csv)
    app.router.add_get("/audit", audit_page)
