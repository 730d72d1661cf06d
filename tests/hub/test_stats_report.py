"""The half-year report (Art. 18) through the API, opened with python-docx: layout, period, unit, figures;
its XLSX annex; the archive (who generated it, scope); the reminder dates."""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from openpyxl import load_workbook

from hub.roles import SYSTEM
from hub.services.periods import report_due
from hub.stats_report import report_period
from tests.hub.conftest import Hub
from tests.hub.statsdata import seed


def _text(docx: bytes) -> tuple[str, list[list[str]]]:
    doc = Document(io.BytesIO(docx))
    paras = [p.text for p in doc.paragraphs]
    cells: list[list[str]] = []
    for t in doc.tables:
        for row in t.rows:
            cells.append([c.text for c in row.cells])
    return "\n".join(paras), cells


async def test_half_year_report(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    body = {"day": "2026-11-23", "number": "125/BC-STTTT", "place": "Gia Nghĩa", "signer": "Nguyễn Văn A"}
    status, rep = await hub.call("POST", "/api/v1/stats/reports", "editor67", json=body)
    assert status == 201, rep
    assert (rep["area"], rep["from"], rep["to"], rep["generated_by"]) == (
        "67",
        "2026-07-01",
        "2026-12-31",
        "editor67",
    )
    headers = await hub.login("editor67")
    r = await hub.client.get(f"/api/v1/stats/reports/{rep['id']}.docx", headers=headers)
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    text, cells = _text(await r.read())
    top = " ".join(" ".join(row) for row in cells[:1])
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in top and "Độc lập - Tự do - Hạnh phúc" in top
    assert "Số: 125/BC-STTTT" in top and "Gia Nghĩa, ngày 25 tháng 11 năm 2026" in top
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in top
    unit = hub.s.areas.get("67").name
    assert "BÁO CÁO" in text
    assert f"6 tháng cuối năm 2026 của {unit}" in text
    assert "từ ngày 01/07/2026 đến ngày 31/12/2026" in text
    # the figures worked out by hand in tests/hub/statsdata.py, over the half-year: P6 (22 November) counts
    assert "8 lượt phát theo kế hoạch; phát trọn 6 lượt (75,0%), bị ngắt 0, bỏ qua 1, lỗi 1" in text
    assert "1 bản tin tới 2 thiết bị; 1 thiết bị phát trong 60 giây (50,0%)" in text
    assert "trung vị 55 giây, P95 90 giây" in text
    assert "3 thiết bị (2 cụm loa, 1 bảng tin điện tử)" in text
    assert "4 bản tin được duyệt phát, trong đó 1 bản tin khẩn cấp và 1 lần diễn tập" in text  # N1, N2 too
    ranked = [row for row in cells if row and row[0] == "1"]
    assert ranked and ranked[0][1] == "Phường Nghĩa Đức" and ranked[0][8] == "66,7"
    bottom = " ".join(" ".join(row) for row in cells[-1:])
    assert "Nơi nhận:" in bottom and "Bộ Thông tin và Truyền thông" in bottom
    assert "GIÁM ĐỐC" in bottom and "Nguyễn Văn A" in bottom
    assert (
        len(
            Document(
                io.BytesIO(
                    await (
                        await hub.client.get(f"/api/v1/stats/reports/{rep['id']}.docx", headers=headers)
                    ).read()
                )
            ).inline_shapes
        )
        == 1
    )  # the chart
    r = await hub.client.get(f"/api/v1/stats/reports/{rep['id']}.xlsx", headers=headers)
    wb = load_workbook(io.BytesIO(await r.read()))
    assert wb["communes"]["A1"].value == f"Phụ lục: số liệu 6 tháng cuối năm 2026 của {unit}"
    # archived with who generated it, audited
    status, listed = await hub.call("GET", "/api/v1/stats/reports", "viewer")
    assert [x["id"] for x in listed["reports"]] == [rep["id"]]
    (entry,) = hub.s.audit(SYSTEM, action="report.generate")
    assert (entry["username"], entry["target"]) == ("editor67", rep["id"])


async def test_report_scope_and_hostile_input(hub: Hub) -> None:
    seed(hub.s, hub.clock)
    status, rep = await hub.call("POST", "/api/v1/stats/reports", "editor67", json={"day": "2026-11-23"})
    assert status == 201
    status, _ = await hub.call("POST", "/api/v1/stats/reports", "viewer", json={})
    assert status == 403  # a reader cannot archive a report
    status, _ = await hub.call("POST", "/api/v1/stats/reports", "chair24613", json={"area": "67"})
    assert status == 403  # not their area
    status, mine = await hub.call("POST", "/api/v1/stats/reports", "chair24613", json={"day": "2026-11-23"})
    assert status == 201 and mine["area"] == "67/660/24613"
    status, listed = await hub.call("GET", "/api/v1/stats/reports", "chair24613")
    assert [x["id"] for x in listed["reports"]] == [mine["id"]]
    status, _ = await hub.call("GET", f"/api/v1/stats/reports/{rep['id']}.docx", "chair24613")
    assert status == 404  # the province's report is not theirs to read
    for bad in ({"number": "x" * 61}, {"area": "99"}, {"day": "2026-02-30"}, {"extra": 1}, {"place": 5}):
        status, body = await hub.call("POST", "/api/v1/stats/reports", "editor67", json=bad)
        assert status == 422, (bad, body)
    # control characters cannot go into a DOCX: a clear 422 naming the field, and nothing archived
    before = len((await hub.call("GET", "/api/v1/stats/reports", "editor67"))[1]["reports"])
    for field, value in (("signer", "Nguyễn\x00Văn A"), ("number", "12/BC\n"), ("place", "Đà\x1bLạt")):
        status, body = await hub.call("POST", "/api/v1/stats/reports", "editor67", json={field: value})
        err = body["error"]
        assert status == 422 and err["field"] == field and "một dòng" in err["message"], (field, body)
    assert len((await hub.call("GET", "/api/v1/stats/reports", "editor67"))[1]["reports"]) == before


def test_reminder_and_default_period() -> None:
    assert report_due("commune", date(2026, 5, 31)) is None
    assert report_due("commune", date(2026, 6, 1)) == date(2026, 6, 20)
    assert report_due("commune", date(2026, 6, 21)) is None
    assert report_due("province", date(2026, 6, 25)) == date(2026, 6, 30)
    assert report_due("district", date(2026, 12, 20)) == date(2026, 12, 20)
    assert report_period(date(2026, 6, 10)).first == date(2026, 1, 1)
    assert report_period(date(2026, 12, 1)).first == date(2026, 7, 1)
    assert report_period(date(2027, 2, 1)).first == date(2026, 7, 1)
    assert report_period(date(2026, 9, 1)).first == date(2026, 1, 1)
