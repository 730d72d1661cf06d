"""The periodic report (Art. 18) as a DOCX draft in the Vietnamese administrative document layout (Decree
30/2020/ND-CP: A4, Times New Roman, margins 20/20/30/15 mm): issuing body and number on the left, national
title and motto on the right with place and date, the title, the body with the figures, tables and charts
of Thống kê, then "Nơi nhận" and the signature block. The editor completes the assessment and proposals
(marked with "…") and signs; the XLSX annex holds every table.

Deadlines: localities (commune, district) report to the Department before 20 June and 20 December, the
Department to the province and the ministry before 30 June and 30 December; the hub reminds each unit from
1 June and 1 December (`report_due`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph

from hub.errors import Invalid
from hub.roles import Actor
from hub.services.base import require
from hub.services.periods import Period, half_of
from hub.services.report_archive import ArchivedReport
from hub.services.stats import Stats
from hub.stats_charts import render
from hub.stats_tables import Table, pct, tables, workbook_bytes

FONT = "Times New Roman"
RANKED_ROWS = 15  # communes listed in the body (all are in the annex)


@dataclass(frozen=True)
class ReportHeader:
    """What the unit writes at the top and the bottom; empty fields become dotted lines to complete."""

    parent_body: str  # e.g. "UBND TỈNH LÂM ĐỒNG"
    body: str  # e.g. "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
    number: str  # e.g. "125/BC-STTTT"
    place: str  # e.g. "Đà Lạt"
    day: date
    recipients: tuple[str, ...]
    signer_title: str  # e.g. "GIÁM ĐỐC"
    signer: str  # the name, or "" to sign by hand


def default_header(st: Stats, level: str, parent_name: str, day: date) -> ReportHeader:
    """The usual issuing body, recipients and signer for a unit of this level (the editor may change them)."""
    if level == "province":
        return ReportHeader(
            f"UBND {st.area_name.upper()}",
            "SỞ THÔNG TIN VÀ TRUYỀN THÔNG",
            "",
            "",
            day,
            ("UBND tỉnh (để báo cáo)", "Bộ Thông tin và Truyền thông (để báo cáo)", "Lưu: VT."),
            "GIÁM ĐỐC",
            "",
        )
    return ReportHeader(
        f"UBND {parent_name.upper()}" if level == "commune" and parent_name else "",
        f"UBND {st.area_name.upper()}",
        "",
        "",
        day,
        ("Sở Thông tin và Truyền thông (để báo cáo)", "Lưu: VT."),
        "TM. ỦY BAN NHÂN DÂN\nCHỦ TỊCH",
        "",
    )


def _run(p: Paragraph, text: str, *, bold: bool = False, italic: bool = False, size: float = 13) -> None:
    r = p.add_run(text)
    r.bold, r.italic = bold, italic
    r.font.size = Pt(size)
    r.font.name = FONT


def _para(
    doc_or_cell: object,
    text: str = "",
    *,
    align: int | None = None,
    bold: bool = False,
    italic: bool = False,
    size: float = 13,
) -> Paragraph:
    p: Paragraph = doc_or_cell.add_paragraph()  # type: ignore[attr-defined]
    if align is not None:
        p.alignment = align  # type: ignore[assignment]
    p.paragraph_format.space_after = Pt(3)
    if text:
        _run(p, text, bold=bold, italic=italic, size=size)
    return p


def _header(doc: object, h: ReportHeader) -> None:
    t: DocxTable = doc.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    left, right = t.rows[0].cells
    for col, cell, width in ((t.columns[0], left, Mm(62)), (t.columns[1], right, Mm(103))):
        col.width = cell.width = width  # both: Word reads the cell's, LibreOffice the column's
    left.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(left.paragraphs[0], h.parent_body or "", size=12)
    _para(left, h.body, align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=12)
    _para(left, "———", align=WD_ALIGN_PARAGRAPH.CENTER, size=10)
    _para(left, f"Số: {h.number or '……/BC-……'}", align=WD_ALIGN_PARAGRAPH.CENTER, size=13)
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(right.paragraphs[0], "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True, size=12)
    _para(right, "Độc lập - Tự do - Hạnh phúc", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=13)
    _para(right, "———————————", align=WD_ALIGN_PARAGRAPH.CENTER, size=10)
    d = h.day
    when = f"{h.place or '……'}, ngày {d.day:02d} tháng {d.month:02d} năm {d.year}"
    _para(right, when, align=WD_ALIGN_PARAGRAPH.CENTER, italic=True, size=13)


def _table(doc: object, t: Table, *, limit: int | None = None) -> None:
    rows = t.rows[:limit] if limit else t.rows
    if not rows:
        _para(doc, "(Không có số liệu trong kỳ.)", italic=True)
        return
    dt: DocxTable = doc.add_table(rows=1 + len(rows), cols=len(t.header))  # type: ignore[attr-defined]
    dt.style = "Table Grid"
    for cell, h in zip(dt.rows[0].cells, t.header, strict=True):
        _run(cell.paragraphs[0], h, bold=True, size=10)
    for i, r in enumerate(rows, start=1):
        for cell, v in zip(dt.rows[i].cells, r, strict=True):
            _run(cell.paragraphs[0], _num(v), size=10)


def _num(v: object, digits: int = 1) -> str:
    """A cell or figure as Vietnamese writes it: a decimal comma, "—" for none."""
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}".replace(".", ",")
    return str(v)


def _share(x: float | None) -> str:
    v = pct(x)
    return "—" if v is None else f"{v:.1f}%".replace(".", ",")


def build_docx(st: Stats, h: ReportHeader) -> bytes:
    """The report as DOCX bytes."""
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin, sec.left_margin, sec.right_margin = Mm(20), Mm(20), Mm(30), Mm(15)
    style = doc.styles["Normal"]
    style.font.name = FONT
    style.font.size = Pt(13)
    _header(doc, h)
    _para(doc)
    _para(doc, "BÁO CÁO", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=14)
    _para(
        doc,
        "Kết quả hoạt động thông tin cơ sở qua Hệ thống thông tin nguồn",
        align=WD_ALIGN_PARAGRAPH.CENTER,
        bold=True,
        size=14,
    )
    _para(
        doc,
        f"{st.period.label[:1].upper()}{st.period.label[1:]} của {st.area_name}",
        align=WD_ALIGN_PARAGRAPH.CENTER,
        bold=True,
        size=14,
    )
    _para(doc, "———————", align=WD_ALIGN_PARAGRAPH.CENTER, size=10)
    _para(
        doc,
        f"Thực hiện quy định về báo cáo định kỳ (Điều 18), {st.area_name} báo cáo kết quả hoạt động "
        f"thông tin cơ sở qua Hệ thống thông tin nguồn {st.period.label} "
        f"(từ ngày {st.period.first:%d/%m/%Y} đến ngày {st.period.last:%d/%m/%Y}) như sau:",
    )
    ts = {t.key: t for t in tables(st)}
    t, b = st.total, st.bulletins
    n_bulletins = sum(b.get("priority", {}).values())
    kinds = b.get("kind", {})
    _para(doc, "I. KẾT QUẢ THỰC HIỆN", bold=True)
    _para(
        doc,
        f"1. Bản tin: {n_bulletins} bản tin được duyệt phát, trong đó {kinds.get('emergency', 0)} bản tin "
        f"khẩn cấp và {kinds.get('exercise', 0)} lần diễn tập.",
    )
    _table(doc, ts["bulletins"])
    by_subject = ", ".join(f"{r[0].lower()} {r[1]}" for r in ts["subjects"].rows) or "không có bản tin"
    _para(doc, f"Theo lĩnh vực: {by_subject}.")
    _table(doc, ts["subjects"])
    _para(
        doc,
        f"2. Phát bản tin: {t.planned} lượt phát theo kế hoạch; phát trọn {t.completed} lượt "
        f"({_share(t.share_as_planned)}), bị ngắt {t.interrupted}, bỏ qua {t.skipped}, lỗi {t.failed}. "
        f"Thời lượng phát {_num((t.air_morning_ms + t.air_evening_ms) / 3_600_000)} giờ.",
    )
    _table(doc, ts["plays"])
    doc.add_picture(io.BytesIO(render("share", st, "png")), width=Mm(150))
    r = st.reach["emergency"]
    median = "—" if r.median_ms is None else f"{round(r.median_ms / 1000)} giây"
    p95 = "—" if r.p95_ms is None else f"{round(r.p95_ms / 1000)} giây"
    _para(
        doc,
        f"3. Tin khẩn cấp: {r.bulletins} bản tin tới {r.targets} thiết bị; {r.within} thiết bị phát trong "
        f"60 giây ({_share(r.share_within)}); thời gian tới khi phát: trung vị {median}, P95 {p95}.",
    )
    _table(doc, ts["emergency"])
    _para(
        doc,
        f"4. Thiết bị đầu cuối: {t.devices} thiết bị ({t.radio} cụm loa, {t.led} bảng tin điện tử), "
        f"thời gian hoạt động {_share(t.availability)}; {t.outages} lần mất kết nối; "
        f"bảng tin điện tử hiển thị {_num(t.shown_s / 3600)} giờ.",
    )
    _table(doc, ts["devices"])
    _table(doc, ts["problems"])
    _para(
        doc,
        f"5. Các xã cần hỗ trợ (xếp theo tỉ lệ phát đúng kế hoạch, {RANKED_ROWS} xã đầu; "
        "danh sách đầy đủ ở phụ lục):",
    )
    _table(doc, ts["communes"], limit=RANKED_ROWS)
    _para(doc, "II. ĐÁNH GIÁ", bold=True)
    _para(doc, "1. Ưu điểm: …")
    _para(doc, "2. Hạn chế, nguyên nhân: …")
    _para(doc, "III. PHƯƠNG HƯỚNG, KIẾN NGHỊ", bold=True)
    _para(doc, "…")
    _para(
        doc,
        f"Phụ lục: số liệu chi tiết (tệp XLSX kèm theo). Số liệu lập ngày "
        f"{st.generated_at:%d/%m/%Y} từ Hệ thống thông tin nguồn.",
        italic=True,
        size=12,
    )
    _footer(doc, h)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _footer(doc: object, h: ReportHeader) -> None:
    t: DocxTable = doc.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    left, right = t.rows[0].cells
    _run(left.paragraphs[0], "Nơi nhận:", bold=True, italic=True, size=12)
    for rcp in h.recipients:
        _para(left, f"- {rcp}", size=11)
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for i, line in enumerate(h.signer_title.split("\n")):
        p = right.paragraphs[0] if i == 0 else _para(right, align=WD_ALIGN_PARAGRAPH.CENTER)
        _run(p, line, bold=True, size=13)
    _para(right, "(Ký, ghi rõ họ tên, đóng dấu)", align=WD_ALIGN_PARAGRAPH.CENTER, italic=True, size=12)
    for _ in range(3):
        _para(right)
    _para(right, h.signer or "……………………", align=WD_ALIGN_PARAGRAPH.CENTER, bold=True, size=13)


def report_period(today: date, anchor: date | None = None) -> Period:
    """The half-year to report on: the one holding `anchor`; by default the current one in June and
    December (the reporting months), else the last one finished."""
    if anchor is not None:
        return half_of(anchor)
    if today.month in (6, 12):
        return half_of(today)
    return half_of(half_of(today).first - timedelta(days=1))


_FIELD_VI = {"number": "Số văn bản", "place": "Nơi ban hành", "signer": "Người ký"}


def _single_lines(**fields: str) -> None:
    """A document's header lines hold printable text only: DOCX (XML) cannot carry control characters, and
    a line break inside the number or the signer's name would break the layout."""
    for name, value in fields.items():
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise Invalid(
                f"{_FIELD_VI[name]} chỉ gồm chữ và số trên một dòng (bỏ ký tự điều khiển, xuống dòng, tab).",
                field=name,
            )


def generate(
    services: Any,
    actor: Actor,
    *,
    area: str | None,
    anchor: date | None = None,
    number: str = "",
    place: str = "",
    signer: str = "",
) -> ArchivedReport:
    """Draft the half-year report of `area` (default the caller's), archive the DOCX and its XLSX annex."""
    require(actor, "report.generate")
    _single_lines(number=number, place=place, signer=signer)
    today = services.ctx.local_now().date()
    period = report_period(today, anchor)
    st: Stats = services.stats.compute(actor, area=area, level=None, period=period)
    areas = services.areas.all()
    unit = areas[st.area]
    parent = areas.get(unit.parent_path or "")
    header = default_header(st, unit.level, parent.name if parent else "", today)
    header = replace(header, number=number.strip(), place=place.strip(), signer=signer.strip())
    docx = build_docx(st, header)
    xlsx = workbook_bytes(tables(st), title=f"Phụ lục: số liệu {st.period.label} của {st.area_name}")
    saved: ArchivedReport = services.report_archive.save(
        actor, area=st.area, period=period, number=header.number, docx=docx, xlsx=xlsx
    )
    return saved
