"""Thống kê through the front door: the API's figures, CSV and XLSX downloads, scope, hostile queries, and
device coordinates for the map."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from hub.models import Device
from hub.roles import SYSTEM
from hub.stats_tables import Table, workbook_bytes
from tests.hub.conftest import Hub
from tests.hub.statsdata import seed

Q = "period=custom&from=2026-11-23&to=2026-11-24"
DEVICES = "/api/v1/devices"


async def test_figures_csv_and_xlsx(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    status, body = await hub.call("GET", f"/api/v1/stats?{Q}&level=commune", "viewer")
    assert status == 200, body
    assert body["period"] == {
        "kind": "custom",
        "from": "2026-11-23",
        "to": "2026-11-24",
        "label": "từ ngày 23/11/2026 đến ngày 24/11/2026",
    }
    assert body["total"]["planned"] == 7 and body["total"]["completed"] == 5
    assert body["reach"]["emergency"]["share_within"] == 0.5
    assert body["communes"][0]["path"] == "67/660/24611"
    headers = await hub.login("viewer")
    r = await hub.client.get(f"/api/v1/stats/tables/communes.csv?{Q}", headers=headers)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    text = (await r.read()).decode("utf-8")
    assert text.startswith('\ufeff"Hạng"')
    assert '"1","Phường Nghĩa Đức","2","5","3","0","1","1","60.0"' in text
    r = await hub.client.get(f"/api/v1/stats/tables.xlsx?{Q}", headers=headers)
    assert r.status == 200
    wb = load_workbook(io.BytesIO(await r.read()))
    assert wb.sheetnames == [
        "bulletins", "subjects", "plays", "windows", "emergency", "devices", "problems", "communes"
    ]  # fmt: skip
    ws = wb["plays"]
    assert ws["A1"].value.startswith("Thống kê ")
    assert [c.value for c in ws[4]][:4] == ["Thành phố Gia Nghĩa", 3, 7, 5]  # by district (the default)


async def test_scope_and_hostile_queries(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    status, body = await hub.call("GET", f"/api/v1/stats?{Q}", "chair24613")
    assert status == 200 and body["area"] == "67/660/24613" and body["total"]["planned"] == 2
    status, body = await hub.call("GET", f"/api/v1/stats?{Q}&area=67", "chair24613")
    assert status == 403, body  # someone else's area
    for query, field in (
        ("period=year", "period"),
        ("period=custom&from=2020-01-01&to=2026-01-01", "to"),
        ("period=day&date=2026-02-30", "date"),
        ("period=day&date=" + "9" * 5000, "date"),
        ("area=99", "area"),
        ("area=67/660&level=province", "level"),
        ("level=" + "x" * 300, "level"),
    ):
        status, body = await hub.call("GET", f"/api/v1/stats?{query}", "viewer")
        assert status == 422, (query, body)
        assert body["error"]["field"] == field, (query, body)
    status, body = await hub.call("GET", f"/api/v1/stats/tables/nope.csv?{Q}", "viewer")
    assert status == 422 and "communes" in body["error"]["message"]
    r = await hub.client.get(f"/api/v1/stats?{Q}")
    assert r.status == 401


def test_xlsx_cells_are_never_formulas() -> None:
    t = Table("x", "T", ["Tên", "Số"], [['=HYPERLINK("http://x")', 3], ["+1", None], ["a;=1", 2.5]])
    ws = load_workbook(io.BytesIO(workbook_bytes([t], title="@SUM(A1)"))).active
    assert ws is not None
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "'@SUM(A1)"
    assert values[3] == ['\'=HYPERLINK("http://x")', 3]
    assert values[4] == ["'+1", None]
    assert values[5] == ["a;'=1", 2.5]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


async def test_device_coordinates(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    status, body = await hub.call(
        "PUT", "/api/v1/devices/loa-a/location", "oper", json={"lat": 12.0, "lon": 107.7}
    )
    assert status == 200 and (body["lat"], body["lon"]) == (12.0, 107.7)
    status, listed = await hub.call("GET", "/api/v1/devices", "viewer")
    assert {d["id"]: d["lat"] for d in listed["devices"]}["loa-a"] == 12.0
    for bad in (
        {"lat": 91, "lon": 0},
        {"lat": 0},
        {"lat": "x", "lon": 1},
        {"lat": 1, "lon": 2, "x": 3},
        {"lat": float("nan"), "lon": 1},
    ):
        status, body = await hub.call(
            "PUT",
            "/api/v1/devices/loa-a/location",
            "oper",
            data=str(bad).replace("'", '"').replace("nan", "NaN"),
            headers={"Content-Type": "application/json"},
        )
        assert status == 422, (bad, body)
    status, _ = await hub.call("PUT", "/api/v1/devices/loa-a/location", "viewer", json={"lat": 1, "lon": 1})
    assert status == 403
    status, _ = await hub.call("PUT", "/api/v1/devices/nope/location", "oper", json={"lat": 1, "lon": 1})
    assert status == 404


async def test_a_device_may_report_where_it_stands_once(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    for bad in (
        {"lat": "12", "lon": 107},
        {"lat": 12, "lon": 1000},
        {"lat": True, "lon": 1},
        {"lat": float("nan"), "lon": 1},
    ):
        hub.s.devices.ingest_status("loa-c", {"state": "idle", **bad})
    status, listed = await hub.call("GET", "/api/v1/devices", "viewer")
    assert {d["id"]: d["lat"] for d in listed["devices"]}["loa-c"] is None
    hub.s.devices.ingest_status("loa-c", {"state": "idle", "lat": 11.99, "lon": 107.7})
    hub.s.devices.ingest_status("loa-c", {"state": "idle", "lat": 10.0, "lon": 106.0})  # the first one stays
    status, _ = await hub.call(
        "PUT", "/api/v1/devices/loa-a/location", "oper", json={"lat": 12.0, "lon": 107.7}
    )
    assert status == 200
    hub.s.devices.ingest_status("loa-a", {"state": "idle", "lat": 1.0, "lon": 1.0})  # staff's stay
    _, listed = await hub.call("GET", "/api/v1/devices", "viewer")
    where = {d["id"]: (d["lat"], d["lon"]) for d in listed["devices"]}
    assert where["loa-c"] == (11.99, 107.7) and where["loa-a"] == (12.0, 107.7)


async def test_registering_with_coordinates_only_within_vietnam(hub: Hub) -> None:
    body = {"id": "loa-y", "kind": "radio", "area": "67/660/24613", "lat": 11.99, "lon": 107.7}
    for lat, lon in ((48.85, 2.35), (0.0, 0.0), (107.7, 11.99)):  # Paris, no GPS fix, swapped
        status, out = await hub.call("POST", DEVICES, "admin1", json={**body, "lat": lat, "lon": lon})
        assert status == 422, (lat, lon, out)
    status, out = await hub.call("POST", DEVICES, "admin1", json={**body, "lat": 48.85, "lon": 2.35})
    assert "nằm ngoài Việt Nam" in str(out) and hub.count(Device) == 0
    status, out = await hub.call("POST", "/api/v1/devices", "admin1", json=body)
    assert status == 201, out
    status, listed = await hub.call("GET", "/api/v1/devices", "viewer")
    assert {d["id"]: (d["lat"], d["lon"]) for d in listed["devices"]}["loa-y"] == (11.99, 107.7)
    swapped = {"lat": 2.35, "lon": 48.85}
    status, out = await hub.call("PUT", "/api/v1/devices/loa-y/location", "oper", json=swapped)
    assert status == 422 and "đổi chỗ" in str(out)
    hub.s.devices.register(SYSTEM, device_id="loa-z", kind="radio", area="67/660/24613")
    hub.s.devices.ingest_status("loa-z", {"state": "idle", "lat": 0.0, "lon": 0.0})  # no GPS fix: ignored
    _, listed = await hub.call("GET", "/api/v1/devices", "viewer")
    assert {d["id"]: d["lat"] for d in listed["devices"]}["loa-z"] is None
