"""The statistics as Vietnamese tables: one shape for the page, the CSV and XLSX downloads and the report.

Every cell a spreadsheet could run as a formula is neutralised (hub/spreadsheet.safe_cell), in CSV and in
XLSX alike; numbers stay numbers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from hub.services.bulletin_checks import SUBJECT_VI
from hub.services.stats import AreaFigures, Stats
from hub.spreadsheet import csv_bytes, safe_cell
from hub.web.core import FORM_VI, LEVEL_VI, PRIORITY_VI
from hub.web.core import KIND_VI as DEVICE_KIND_VI
from hub.web.devices import ANOMALY_VI
from hub.web.programme import ORIGIN_VI as PROGRAMME_ORIGIN_VI

ORIGIN_VI = {k: v[:1].upper() + v[1:] for k, v in PROGRAMME_ORIGIN_VI.items()}
KIND_VI = {"emergency": "Khẩn cấp (thật)", "exercise": "Diễn tập", "other": "Ưu tiên và thông thường"}
DIM_VI = {
    "priority": "Mức ưu tiên",
    "form": "Hình thức",
    "origin": "Nguồn",
    "kind": "Loại",
    "subject": "Lĩnh vực",
}
PROBLEM_VI = {
    "offline": "Mất kết nối",
    "rejected": "Từ chối tin không hợp lệ",
    "error": "Lỗi thiết bị",
    **{k: v[:1].upper() + v[1:] for k, v in ANOMALY_VI.items()},
}


@dataclass(frozen=True)
class Table:
    key: str  # for the download URL (?table=KEY) and the XLSX sheet
    title: str
    header: list[str]
    rows: list[list[Any]]


def pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def hours(ms_or_s: int, *, ms: bool = False) -> float:
    return round(ms_or_s / (3_600_000 if ms else 3600), 2)


def seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 1)


def _area_row(f: AreaFigures) -> list[Any]:
    return [
        f.name,
        f.devices,
        f.planned,
        f.completed,
        f.interrupted,
        f.skipped,
        f.failed,
        pct(f.share_as_planned),
        hours(f.air_morning_ms, ms=True),
        hours(f.air_evening_ms, ms=True),
    ]


def _device_row(f: AreaFigures) -> list[Any]:
    rec = f.mean_recover_s
    return [
        f.name,
        f.radio,
        f.led,
        pct(f.availability),
        f.outages,
        f.recovered,
        None if rec is None else round(rec / 60, 1),
        hours(f.shown_s),
        f.problems,
    ]


PLAYS_HEADER = [
    "Địa bàn",
    "Thiết bị",
    "Lượt theo kế hoạch",
    "Phát trọn",
    "Bị ngắt",
    "Bỏ qua",
    "Lỗi",
    "Tỉ lệ phát đúng kế hoạch (%)",
    "Giờ phát buổi sáng",
    "Giờ phát buổi chiều, tối",
]
DEVICES_HEADER = [
    "Địa bàn",
    "Cụm loa",
    "Bảng tin điện tử",
    "Thời gian hoạt động (%)",
    "Số lần mất kết nối",
    "Số lần khôi phục",
    "Thời gian khôi phục TB (phút)",
    "Giờ hiển thị bảng tin",
    "Sự cố",
]


def tables(st: Stats) -> list[Table]:
    """The tables of the Thống kê page, in the order shown."""
    level = LEVEL_VI.get(st.level, st.level)
    labels = {"priority": PRIORITY_VI, "form": FORM_VI, "origin": ORIGIN_VI, "kind": KIND_VI}
    bulletins = [
        [DIM_VI[dim], labels[dim].get(v, v), n]
        for dim in ("priority", "form", "origin", "kind")
        for v, n in sorted(st.bulletins.get(dim, {}).items())
    ]
    reach = [
        [
            "Khẩn cấp (thật)" if key == "emergency" else "Diễn tập",
            r.bulletins,
            r.targets,
            r.played,
            r.within,
            pct(r.share_within),
            seconds(r.median_ms),
            seconds(r.p95_ms),
        ]
        for key, r in st.reach.items()
    ]
    subjects = [
        [SUBJECT_VI.get(v, v), st.bulletins.get("subject", {}).get(v, 0)]
        for v in sorted(st.bulletins.get("subject", {}), key=lambda v: (-st.bulletins["subject"][v], v))
    ]
    windows: list[list[Any]] = []
    for g in st.groups:
        mine = sorted((k, w, ms) for (gp, k, w), ms in st.windows.items() if gp == g.path)
        windows += [[g.name, DEVICE_KIND_VI.get(k, k), w, hours(ms, ms=True)] for k, w, ms in mine]
        outside = g.air_morning_ms + g.air_evening_ms - sum(ms for _, _, ms in mine)
        if outside > 0:
            windows.append([g.name, "—", "Ngoài khung giờ (tin khẩn cấp...)", hours(outside, ms=True)])
    ranked = [
        [i + 1, *_area_row(c), pct(c.availability), c.outages, c.problems] for i, c in enumerate(st.communes)
    ]
    return [
        Table("bulletins", "Bản tin đã duyệt trong kỳ", ["Theo", "Nhóm", "Số bản tin"], bulletins),
        Table("subjects", "Bản tin đã duyệt theo lĩnh vực", ["Lĩnh vực", "Số bản tin"], subjects),
        Table(
            "plays",
            f"Lượt phát và thời lượng theo {level.lower()}",
            PLAYS_HEADER,
            [_area_row(g) for g in st.groups] + [["Tổng", *_area_row(st.total)[1:]]],
        ),
        Table(
            "windows",
            f"Giờ phát theo khung giờ phát (Điều 10) và {level.lower()}",
            [level, "Loại thiết bị", "Khung giờ", "Giờ phát"],
            windows,
        ),
        Table(
            "emergency",
            "Tin khẩn cấp: mức độ tiếp nhận",
            [
                "Loại",
                "Số bản tin",
                "Thiết bị đích",
                "Đã phát",
                "Phát trong 60 giây",
                "Tỉ lệ trong 60 giây (%)",
                "Trung vị (giây)",
                "P95 (giây)",
            ],
            reach,
        ),
        Table(
            "devices",
            f"Thiết bị đầu cuối theo {level.lower()}",
            DEVICES_HEADER,
            [_device_row(g) for g in st.groups] + [["Tổng", *_device_row(st.total)[1:]]],
        ),
        Table(
            "problems",
            "Sự cố theo loại",
            ["Loại sự cố", "Số lần"],
            [[PROBLEM_VI.get(k, k), n] for k, n in st.problems.items()],
        ),
        Table(
            "communes",
            "Xếp hạng xã (cần hỗ trợ trước)",
            ["Hạng", *PLAYS_HEADER, "Thời gian hoạt động (%)", "Mất kết nối", "Sự cố"],
            ranked,
        ),
    ]


def table_csv(t: Table) -> bytes:
    return csv_bytes(t.header, ([("" if c is None else c) for c in r] for r in t.rows))


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        return value
    return safe_cell(value)  # openpyxl would store "=..." as a formula


def workbook_bytes(ts: list[Table], *, title: str) -> bytes:
    """All tables as one XLSX workbook, one sheet each (titled), the report's annex."""
    wb = Workbook()
    first = wb.active
    if first is not None:
        wb.remove(first)
    for t in ts:
        ws = wb.create_sheet(t.key[:31])
        ws.append([_cell(title)])
        ws.append([_cell(t.title)])
        ws["A1"].font = ws["A2"].font = Font(bold=True)
        ws.append([_cell(h) for h in t.header])
        for c in ws[3]:
            c.font = Font(bold=True)
        for r in t.rows:
            ws.append([_cell(x) for x in r])
        for col in ws.columns:
            letter = col[0].column_letter
            ws.column_dimensions[letter].width = min(45, max(10, *(len(str(c.value or "")) for c in col[2:])))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
