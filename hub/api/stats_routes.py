"""The statistics API (docs/API.md, "Statistics"): figures as JSON, each table as CSV, all as XLSX, and a
device's coordinates for the map. Installed with the other routes (the same `api`)."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from hub.api.routes import A, S, api
from hub.api.schemas import LocationIn, ReportIn
from hub.errors import Invalid
from hub.services.stats import compute_query
from hub.stats_report import generate
from hub.stats_tables import table_csv, tables, workbook_bytes

STATS_QUERY = [
    ("area", "the area (default: yours)", False),
    ("level", "province | district | commune: how rows are grouped", False),
    ("period", "day | week | month | half | custom (default month)", False),
    ("date", "a day in the period, YYYY-MM-DD (default today)", False),
    ("from", "first day of a custom period", False),
    ("to", "last day of a custom period (at most 400 days)", False),
]


def download(body: bytes, name: str, content_type: str) -> web.Response:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return web.Response(
        body=body,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store"},
    )


def file_stem(st: Any) -> str:
    return f"thong-ke-{st.area.replace('/', '-')}-{st.period.first}-{st.period.last}"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@api.route(
    "GET", "/stats", "statistics of an area for a period (figures as JSON)", tag="stats", query=STATS_QUERY
)
def get_stats(request: web.Request, s: S, a: A) -> Any:
    return compute_query(s.stats, a, request.query).to_dict()


@api.route(
    "GET",
    "/stats/tables/{table}.csv",
    "one statistics table as CSV (bulletins, plays, emergency, devices, problems, communes)",
    tag="stats",
    query=STATS_QUERY,
    media="text/csv",
)
def get_stats_csv(request: web.Request, s: S, a: A) -> Any:
    key = request.match_info["table"]
    st = compute_query(s.stats, a, request.query)
    found = [t for t in tables(st) if t.key == key]
    if not found:
        names = ", ".join(t.key for t in tables(st))
        raise Invalid(f"Không có bảng '{key[:40]}'; chọn một trong: {names}.", field="table")
    resp = download(table_csv(found[0]), f"{file_stem(st)}-{key}.csv", "text/csv")
    resp.charset = "utf-8"
    return resp


@api.route(
    "GET",
    "/stats/tables.xlsx",
    "every statistics table as one XLSX workbook",
    tag="stats",
    query=STATS_QUERY,
    media=XLSX,
)
def get_stats_xlsx(request: web.Request, s: S, a: A) -> Any:
    st = compute_query(s.stats, a, request.query)
    title = f"Thống kê {st.area_name}, {st.period.label}"
    return download(workbook_bytes(tables(st), title=title), f"{file_stem(st)}.xlsx", XLSX)


@api.route(
    "PUT", "/devices/{id}/location", "set a device's coordinates (the map)", body=LocationIn, tag="devices"
)
def put_location(request: web.Request, s: S, a: A, *, body: LocationIn) -> Any:
    return s.devices.locate(a, request.match_info["id"], lat=body.lat, lon=body.lon)


# --- the periodic report (Art. 18)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@api.route(
    "POST",
    "/stats/reports",
    "draft and archive the half-year report (DOCX + XLSX annex)",
    body=ReportIn,
    status=201,
    tag="stats",
)
def post_report(request: web.Request, s: S, a: A, *, body: ReportIn) -> Any:
    saved = generate(
        s, a, area=body.area, anchor=body.day, number=body.number, place=body.place, signer=body.signer
    )
    return saved.to_dict()


@api.route("GET", "/stats/reports", "archived reports of your area, newest first", tag="stats")
def list_reports(request: web.Request, s: S, a: A) -> Any:
    return {"reports": [r.to_dict() for r in s.report_archive.list(a)]}


@api.route("GET", "/stats/reports/{id}.docx", "an archived report as DOCX", tag="stats")
def get_report_docx(request: web.Request, s: S, a: A) -> Any:
    r, body = s.report_archive.file(a, request.match_info["id"], "docx")
    return download(body, f"bao-cao-{r.area.replace('/', '-')}-{r.period_from}-{r.period_to}.docx", DOCX)


@api.route("GET", "/stats/reports/{id}.xlsx", "an archived report's XLSX annex", tag="stats")
def get_report_xlsx(request: web.Request, s: S, a: A) -> Any:
    r, body = s.report_archive.file(a, request.match_info["id"], "xlsx")
    return download(body, f"phu-luc-{r.area.replace('/', '-')}-{r.period_from}-{r.period_to}.xlsx", XLSX)
