"""A bulletin's subject (lĩnh vực) through the front door: set and kept through the API, refused when unknown
(nothing written), counted by the statistics' "bulletins by subject" table, chart, XLSX and report."""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from openpyxl import load_workbook

from hub.models import Bulletin
from hub.roles import SYSTEM
from hub.services.periods import Period
from hub.stats_charts import render
from tests.hub.conftest import Hub
from tests.hub.test_api import TEXT

Q = "period=day&date=2026-11-23&level=commune"
DAY = Period("day", date(2026, 11, 23), date(2026, 11, 23))


async def test_subject_set_kept_and_counted(hub: Hub) -> None:
    post = "/api/v1/bulletins"
    status, health = await hub.call("POST", post, "editor67", json={**TEXT, "subject": "health"})
    assert status == 201 and health["subject"] == "health", health
    status, plain = await hub.call("POST", post, "editor67", json={**TEXT, "title": "Lịch họp"})
    assert status == 201 and plain["subject"] == "other"  # none given: "other", as old bulletins
    # an edit without a subject keeps it; with one, changes it
    status, _ = await hub.call("PUT", f"/api/v1/bulletins/{health['id']}", "editor67", json=TEXT)
    status, got = await hub.call("GET", f"/api/v1/bulletins/{health['id']}", "viewer")
    assert status == 200 and got["subject"] == "health"
    status, out = await hub.call(
        "PUT", f"/api/v1/bulletins/{plain['id']}", "editor67", json={**TEXT, "subject": "disaster"}
    )
    assert status == 200 and out["subject"] == "disaster", out
    for bid in (health["id"], plain["id"]):
        status, out = await hub.call("POST", f"/api/v1/bulletins/{bid}/approve", "editor67")
        assert status == 200, out
    status, body = await hub.call("GET", f"/api/v1/stats?{Q}", "viewer")
    assert status == 200 and body["bulletins"]["subject"] == {"disaster": 1, "health": 1}, body["bulletins"]
    headers = await hub.login("viewer")
    r = await hub.client.get(f"/api/v1/stats/tables/subjects.csv?{Q}", headers=headers)
    text = (await r.read()).decode("utf-8")
    assert r.status == 200 and '"Phòng, chống thiên tai","1"' in text and '"Y tế","1"' in text
    r = await hub.client.get(f"/api/v1/stats/tables.xlsx?{Q}", headers=headers)
    ws = load_workbook(io.BytesIO(await r.read()))["subjects"]
    rows = [tuple(row) for row in ws.iter_rows(values_only=True) if isinstance(row[1], int)]
    assert sorted(rows) == [
        ("Phòng, chống thiên tai", 1),
        ("Y tế", 1),
    ]
    chart = render("subjects", hub.s.stats.compute(SYSTEM, area="67", level=None, period=DAY), "svg")
    assert b"<svg" in chart[:400] and "Y tế".encode() in chart
    status, rep = await hub.call("POST", "/api/v1/stats/reports", "editor67", json={"day": "2026-11-23"})
    assert status == 201, rep
    r = await hub.client.get(f"/api/v1/stats/reports/{rep['id']}.docx", headers=await hub.login("editor67"))
    report = await r.read()
    doc = "\n".join(p.text for p in Document(io.BytesIO(report)).paragraphs)
    assert "Theo lĩnh vực: phòng, chống thiên tai 1, y tế 1." in doc


async def test_unknown_subject_is_refused_and_nothing_written(hub: Hub) -> None:
    for bad in ("weather", "x" * 5000, ["health"], 7, "Y tế", ""):
        status, out = await hub.call("POST", "/api/v1/bulletins", "editor67", json={**TEXT, "subject": bad})
        assert status == 422, (bad, out)
        assert "subject" in str(out), out
    assert hub.count(Bulletin) == 0
