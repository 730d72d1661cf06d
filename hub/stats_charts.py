"""Charts of the statistics, drawn by the hub itself with matplotlib (no CDN, no browser script): SVG for the
Thống kê page (shown as an image, so the page's Content-Security-Policy needs no inline style), PNG for the
DOCX report. The Figure API is used directly (no pyplot global state: pages are drawn in worker threads).
"""

from __future__ import annotations

import io
from collections.abc import Callable

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hub.services.bulletin_checks import SUBJECT_VI
from hub.services.stats import Stats
from hub.stats_tables import PROBLEM_VI

CHARTS = ("share", "outcomes", "air", "subjects", "problems")
TITLES = {
    "subjects": "Bản tin theo lĩnh vực",
    "share": "Tỉ lệ phát đúng kế hoạch và thời gian hoạt động (%)",
    "outcomes": "Lượt phát theo kết quả",
    "air": "Giờ phát theo buổi",
    "problems": "Sự cố theo loại",
}
GREEN, BLUE, ORANGE, RED, GREY = "#2e7d32", "#1565c0", "#ef6c00", "#c62828", "#757575"


def _short(name: str, n: int = 22) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def _empty(ax: Axes) -> None:
    ax.text(0.5, 0.5, "Chưa có số liệu trong kỳ", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _share(ax: Axes, st: Stats) -> None:
    groups = st.groups
    if not groups:
        return _empty(ax)
    names = [_short(g.name) for g in groups]
    ys = range(len(groups))
    share = [100 * (g.share_as_planned or 0) for g in groups]
    avail = [100 * (g.availability or 0) for g in groups]
    ax.barh([y + 0.2 for y in ys], share, height=0.4, color=GREEN, label="Phát đúng kế hoạch")
    ax.barh([y - 0.2 for y in ys], avail, height=0.4, color=BLUE, label="Thời gian hoạt động")
    ax.set_yticks(list(ys), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.legend(loc="lower right", fontsize=8)
    return None


def _outcomes(ax: Axes, st: Stats) -> None:
    t = st.total
    values = [t.completed, t.interrupted, t.skipped, t.failed]
    if not any(values):
        return _empty(ax)
    bars = ax.bar(["Phát trọn", "Bị ngắt", "Bỏ qua", "Lỗi"], values, color=[GREEN, ORANGE, GREY, RED])
    ax.bar_label(bars)
    return None


def _air(ax: Axes, st: Stats) -> None:
    groups = [g for g in st.groups if g.air_morning_ms or g.air_evening_ms]
    if not groups:
        return _empty(ax)
    names = [_short(g.name) for g in groups]
    morning = [g.air_morning_ms / 3_600_000 for g in groups]
    evening = [g.air_evening_ms / 3_600_000 for g in groups]
    ax.barh(names, morning, color=BLUE, label="Buổi sáng")
    ax.barh(names, evening, left=morning, color=ORANGE, label="Buổi chiều, tối")
    ax.invert_yaxis()
    ax.set_xlabel("giờ")
    ax.legend(loc="lower right", fontsize=8)
    return None


def _problems(ax: Axes, st: Stats) -> None:
    if not st.problems:
        return _empty(ax)
    names = [_short(PROBLEM_VI.get(k, k), 30) for k in st.problems]
    bars = ax.barh(names, list(st.problems.values()), color=RED)
    ax.bar_label(bars)
    ax.invert_yaxis()
    return None


def _subjects(ax: Axes, st: Stats) -> None:
    counts = st.bulletins.get("subject", {})
    if not counts:
        return _empty(ax)
    order = sorted(counts, key=lambda v: (-counts[v], v))
    bars = ax.barh([_short(SUBJECT_VI.get(v, v), 30) for v in order], [counts[v] for v in order], color=BLUE)
    ax.bar_label(bars)
    ax.invert_yaxis()
    return None


DRAW: dict[str, Callable[[Axes, Stats], None]] = {
    "subjects": _subjects,
    "share": _share,
    "outcomes": _outcomes,
    "air": _air,
    "problems": _problems,
}


def figure(name: str, st: Stats) -> Figure:
    rows = {
        "share": len(st.groups),
        "air": len(st.groups),
        "problems": len(st.problems),
        "subjects": len(st.bulletins.get("subject", {})),
    }.get(name, 4)
    fig = Figure(figsize=(7, max(2.6, 0.9 + 0.42 * min(rows, 40))), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(TITLES[name], fontsize=11)
    DRAW[name](ax, st)
    return fig


def render(name: str, st: Stats, fmt: str) -> bytes:
    """One chart as SVG or PNG bytes."""
    out = io.BytesIO()
    figure(name, st).savefig(out, format=fmt, dpi=150 if fmt == "png" else 72, metadata={"Date": None})
    return out.getvalue()
