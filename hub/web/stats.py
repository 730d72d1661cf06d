"""Thống kê (figures, charts, downloads) and Bản đồ (the terminals on a map drawn without tiles)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import math
import threading
from collections import OrderedDict
from datetime import date
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid
from hub.services.periods import PERIOD_VI, report_due
from hub.services.stats import Stats, compute_query
from hub.stats_charts import CHARTS, TITLES, render
from hub.stats_report import generate, report_period
from hub.stats_tables import tables
from hub.web.core import Req, page

QUERY_KEYS = ("area", "level", "period", "date", "from", "to")


def _areas(req: Req) -> list[dict[str, Any]]:
    """The areas the caller may choose, in tree order, with their depth below the caller's own."""
    out: list[dict[str, Any]] = []

    def walk(nodes: list[dict[str, Any]], depth: int) -> None:
        for n in nodes:
            if req.actor.covers(n["path"]):
                out.append({"path": n["path"], "name": n["name"], "level": n["level"], "depth": depth})
                walk(n["children"], depth + 1)
            else:
                walk(n["children"], depth)

    walk(req.services.areas.tree(), 0)
    return out


# Drawing the five charts is most of the Thống kê page's cost (matplotlib: ~70 ms each at a province's size,
# docs/PERFORMANCE.md). A chart is a pure function of the figures, so the page keeps the last drawings by a
# digest of the figures they were drawn from: the same figures (a period already rolled up, the page viewed
# again, another person of the same area) are not drawn twice; any changed figure changes the digest.
_DRAWN: OrderedDict[str, str] = OrderedDict()
_DRAWN_MAX = 128
_DRAWN_LOCK = threading.Lock()


def _chart_src(name: str, st: Stats, digest: str) -> str:
    key = f"{name} {digest}"
    with _DRAWN_LOCK:
        if key in _DRAWN:
            _DRAWN.move_to_end(key)
            return _DRAWN[key]
    src = "data:image/svg+xml;base64," + base64.b64encode(render(name, st, "svg")).decode()
    with _DRAWN_LOCK:
        _DRAWN[key] = src
        while len(_DRAWN) > _DRAWN_MAX:
            _DRAWN.popitem(last=False)
    return src


def _charts(st: Stats) -> list[dict[str, str]]:
    drawn_from = [getattr(st, f.name) for f in dataclasses.fields(st) if f.name != "generated_at"]
    digest = hashlib.sha256(repr(drawn_from).encode()).hexdigest()
    return [{"name": n, "title": TITLES[n], "src": _chart_src(n, st, digest)} for n in CHARTS]


@page
def stats_page(req: Req) -> web.StreamResponse:
    q = {k: v for k, v in req.request.query.items() if k in QUERY_KEYS and isinstance(v, str)}
    error, st, charts = "", None, []
    try:
        st = compute_query(req.services.stats, req.actor, q)
        charts = _charts(st)
    except Invalid as exc:
        error = exc.message
    query = urlencode({k: v for k, v in q.items() if v})
    return req.render(
        "stats.html",
        status=422 if error else 200,
        title="Thống kê",
        error=error,
        st=st,
        tables=tables(st) if st else [],
        charts=charts,
        q=q,
        query=query,
        areas=_areas(req),
        levels=req.services.stats.levels(st.area) if st else [],
        periods=PERIOD_VI,
        **_report_ctx(req),
    )


def _report_ctx(req: Req) -> dict[str, Any]:
    """The periodic report's part of the page: the reminder, the form, the archive."""
    today = req.services.ctx.local_now().date()
    own = req.actor.area_path
    level = req.services.areas.get(own).level if own else "province"
    period = report_period(today)
    saved = req.request.query.get("saved", "")
    return {
        "due": report_due(level, today),
        "report_period": period,
        "can_report": req.actor.may("report.generate"),
        "reports": req.services.report_archive.list(req.actor, limit=20),
        "flash": "Đã lập báo cáo; tải về bên dưới để hoàn thiện và ký." if saved else "",
    }


@page
def make_report(req: Req) -> web.StreamResponse:
    area = req.field("area") or None
    day = req.field("day")
    try:
        anchor = date.fromisoformat(day) if day else None
    except ValueError:
        raise Invalid(f"'{day[:20]}' không phải ngày dạng YYYY-MM-DD.", field="day") from None
    for name, most in (("number", 60), ("place", 100), ("signer", 100)):
        if len(req.field(name)) > most:
            raise Invalid(f"Trường '{name}' dài tối đa {most} ký tự.", field=name)
    rep = generate(
        req.services,
        req.actor,
        area=area,
        anchor=anchor,
        number=req.field("number"),
        place=req.field("place"),
        signer=req.field("signer"),
    )
    raise web.HTTPSeeOther(f"/stats?{urlencode({'area': rep.area, 'saved': rep.id})}#reports")


# --- Bản đồ
W, H, PAD = 900, 640, 40
STATE_VI = {"playing": "Đang phát", "idle": "Sẵn sàng", "offline": "Mất kết nối", "attention": "Cần chú ý"}


def project(devices: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """Device id -> (x, y) in the W x H drawing: an equirectangular projection of the devices' own box,
    same scale on both axes (longitude shrunk by the cosine of the latitude)."""
    pts = {d["id"]: (float(d["lon"]), float(d["lat"])) for d in devices}
    if not pts:
        return {}
    lons, lats = [p[0] for p in pts.values()], [p[1] for p in pts.values()]
    west, east, south, north = min(lons), max(lons), min(lats), max(lats)
    k = math.cos(math.radians(sum(lats) / len(lats)))
    span_x = max((east - west) * k, 1e-3)
    span_y = max(north - south, 1e-3)
    scale = min((W - 2 * PAD) / span_x, (H - 2 * PAD) / span_y)
    x0 = PAD + ((W - 2 * PAD) - span_x * scale) / 2
    y0 = PAD + ((H - 2 * PAD) - span_y * scale) / 2
    return {
        dev: (round(x0 + (lon - west) * k * scale, 1), round(y0 + (north - lat) * scale, 1))
        for dev, (lon, lat) in pts.items()
    }


@page
def map_page(req: Req) -> web.StreamResponse:
    area = req.request.query.get("area", "").strip()[:200]
    if area:
        req.services.areas.get(area)
    devices = req.services.devices.map_points(req.actor, area)
    names = {p: a.name for p, a in req.services.areas.all().items()}
    for d in devices:
        d["area_name"] = names.get(d["area"], d["area"])
    placed = [d for d in devices if d["lat"] is not None and d["lon"] is not None]
    xy = project(placed)
    labels: dict[str, list[tuple[float, float]]] = {}
    for d in placed:
        labels.setdefault(d["area"], []).append(xy[d["id"]])
    communes = [
        {"name": names.get(a, a), "x": sum(p[0] for p in pts) / len(pts), "y": min(p[1] for p in pts) - 12}
        for a, pts in sorted(labels.items())
    ]
    counts = {s: sum(1 for d in devices if d["map_state"] == s) for s in STATE_VI}
    return req.render(
        "map.html",
        title="Bản đồ thiết bị",
        devices=placed,
        unplaced=[d for d in devices if d["lat"] is None or d["lon"] is None],
        xy=xy,
        communes=communes,
        counts=counts,
        states=STATE_VI,
        area=area,
        areas=_areas(req),
        width=W,
        height=H,
    )


def install(app: web.Application) -> None:
    app.router.add_get("/stats", stats_page)
    app.router.add_post("/stats/report", make_report)
    app.router.add_get("/map", map_page)
