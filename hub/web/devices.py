"""Thiết bị: the area tree with each loudspeaker cluster and LED board, their health, and commands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid, NotFound
from hub.services.devices import COMMAND_TTL
from hub.web.core import KIND_VI, Req, page
from hub.web.listing import ListQuery, paginate, read_query
from protocol.topics import covers

STATE_VI = {
    "idle": "Chờ",
    "window": "Trong khung giờ",
    "playing": "Đang phát",
    "emergency": "Khẩn cấp",
    "offline": "Mất kết nối",
    "unknown": "Chưa rõ",
}
CLOCK_VI = {
    "synced": "Đã đồng bộ",
    "hub": "Theo giờ máy chủ",
    "always": "Tin cậy theo cấu hình",
    "unsynced": "Chưa đồng bộ",
    "unknown": "Chưa rõ",
}
COMMAND_VI = {
    "volume": "Âm lượng",
    "test_tone": "Phát âm thử",
    "resync": "Đồng bộ lại",
    "stop": "Dừng phát",
    "report": "Gửi báo cáo",
}


COLLAPSE_ABOVE = 60  # devices on the page


REJECT_VI = {
    "bad_signature": "sai chữ ký",
    "unknown_key": "khóa lạ",
    "unsigned": "không có chữ ký",
    "expired": "quá hạn",
    "replayed": "tin lặp lại",
    "malformed": "sai định dạng",
    "oversized": "quá lớn",
    "misaddressed": "gửi sai nơi nhận",
}


# Reports the hub did not believe (hub/services/reports.py ANOMALY_CODES).
ANOMALY_VI = {
    "oversized": "báo cáo quá lớn",
    "malformed": "báo cáo sai định dạng",
    "too_many": "quá nhiều báo cáo trong một tin",
    "unknown_type": "loại báo cáo lạ",
    "not_sent": "báo đã phát bản tin không gửi cho thiết bị này",
    "not_recalled": "xác nhận thu hồi bản tin không bị thu hồi ở thiết bị này",
    "unknown_command": "trả lời lệnh không gửi cho thiết bị này",
    "status_not_sent": "báo đang phát tin khẩn cấp không gửi cho thiết bị này",
}


def _reasons_vi(reasons: list[str], labels: dict[str, str] = REJECT_VI) -> str:
    return ", ".join(labels.get(r, r) for r in reasons) or "không rõ lý do"


def _problem_vi(p: dict[str, Any], tz: Any) -> str:
    """One of device_problems' entries, as the operator reads it."""
    code: str = p["code"]
    value = p["value"]
    if code in ("offline", "silent"):
        if not value:
            return "Chưa từng kết nối"
        since = datetime.fromisoformat(value).astimezone(tz).strftime("%H:%M %d/%m")
        return f"Mất kết nối từ {since}" if code == "offline" else f"Không có tín hiệu từ {since}"
    texts = {
        "rejected": f"Đã từ chối {value} tin trong 24 giờ qua ({_reasons_vi(p.get('reasons') or [])})",
        "anomaly": f"{value} báo cáo bất thường trong 24 giờ qua, không được ghi nhận "
        f"({_reasons_vi(p.get('reasons') or [], ANOMALY_VI)}): kiểm tra thiết bị",
        "programme": f"Chưa nhận chương trình mới (đang có phiên bản {value}, mới nhất {p.get('latest')})",
        "clock": "Đồng hồ chưa đồng bộ: tạm dừng lịch phát (tin khẩn cấp vẫn phát)",
        "outbox": f"Còn {value} báo cáo chưa gửi về",
        "disk": f"Thẻ nhớ sắp đầy (còn {value} MB)",
        "hot": f"Nhiệt độ cao ({value} °C)",
    }
    return texts.get(code, code)


def _clock(st: Any) -> str:
    return CLOCK_VI.get(str(st or "unknown"), str(st))


def _now_playing(v: Any, titles: dict[str, str]) -> str:
    if not v:
        return ""
    if v == "test_tone":
        return "Âm thử"
    return titles.get(str(v), str(v))


def tree_with_devices(req: Req, devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The caller's area tree, keeping only areas with devices (of `devices`), each with its counts; the
    areas that need attention first."""
    by_area: dict[str, list[dict[str, Any]]] = {}
    for d in devices:
        by_area.setdefault(d["area"], []).append(d)

    def walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for n in nodes:
            kids = walk(n["children"])
            here = by_area.get(n["path"], [])
            count = len(here) + sum(k["count"] for k in kids)
            online = sum(1 for d in here if d["online"]) + sum(k["online"] for k in kids)
            attention = sum(1 for d in here if d["problems"]) + sum(k["attention"] for k in kids)
            if count:
                out.append(
                    {
                        **n,
                        "children": kids,
                        "devices": here,
                        "count": count,
                        "online": online,
                        "attention": attention,
                    }
                )
        return sorted(out, key=lambda n: not n["attention"])

    return walk(req.services.areas.tree(req.actor.area_path))


def _rows(req: Req) -> list[dict[str, Any]]:
    """Every device of the caller, with its area's name (what the search and the sorts need)."""
    names = {p: a.name for p, a in req.services.areas.all().items()}
    return [{**d, "area_vi": names.get(d["area"], d["area"])} for d in req.services.devices.list(req.actor)]


def _words(req: Req, devices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page's devices as the operator reads them (only the page's: a province has thousands)."""
    tz = req.services.ctx.tz
    # what plays may be approved, on air or already finished: look the titles up by id, whatever the status
    titles = req.services.bulletins.titles(req.actor, (d["now_playing"] for d in devices if d["now_playing"]))
    out = []
    for d in devices:
        seen = (
            datetime.fromisoformat(d["last_seen"]).astimezone(tz).strftime("%H:%M:%S %d/%m")
            if d["last_seen"]
            else "chưa bao giờ"
        )
        out.append(
            {
                **d,
                "state_vi": STATE_VI.get(d["state"], d["state"]),
                "seen_vi": seen,
                "clock_vi": _clock(d["clock"]),
                "playing_vi": _now_playing(d["now_playing"], titles),
                "problems_vi": [_problem_vi(p, tz) for p in d["problems"]],
            }
        )
    return out


# The device list's filters (Trạng thái) and sorts; problems first by default.
SHOW_VI = {"attention": "Cần chú ý", "offline": "Mất kết nối", "online": "Trực tuyến"}
DEVICE_SORTS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "attention": lambda d: (not d["problems"], d["online"], d["area_vi"], d["id"]),
    "id": lambda d: d["id"],
    "area": lambda d: (d["area_vi"], d["id"]),
    "seen": lambda d: (d["last_seen"] or "", d["id"]),
}


def _shown(rows: list[dict[str, Any]], lq: ListQuery) -> list[dict[str, Any]]:
    show, kind, area = (lq.filters.get(k, "") for k in ("state", "kind", "area"))
    return [
        d
        for d in rows
        if (not show or (show == "attention" and d["problems"]) or (show == "online") == d["online"])
        and (not kind or d["kind"] == kind)
        and (not area or covers(area, d["area"]))
        and lq.matches(d["id"], d["name"], d["area_vi"])
    ]


def _query(req: Req) -> ListQuery:
    q = dict(req.request.query)
    if q.pop("attention", "") == "1":  # the older link from the summary line
        q["state"] = "attention"
    lq = read_query(q, DEVICE_SORTS, "attention", filters=("state", "kind", "area"))
    if lq.filters.get("state", "") not in ("", *SHOW_VI):
        raise Invalid("Trạng thái không có; hãy chọn lại trong ô Trạng thái.", field="state")
    if lq.filters.get("kind", "") not in ("", *KIND_VI):
        raise Invalid("Loại thiết bị không có; hãy chọn lại trong ô Loại.", field="kind")
    if lq.filters.get("area") and lq.filters["area"] not in req.services.areas.all():
        raise Invalid("Địa bàn không có trong danh mục; hãy chọn lại.", field="area")
    return lq


def _page(req: Req, *, status: int = 200, error: str = "", flash: str = "") -> web.Response:
    lq = _query(req)
    rows = _rows(req)
    listing = paginate(_shown(rows, lq), lq, "/devices", DEVICE_SORTS)
    return req.render(
        "devices.html",
        status=status,
        title="Thiết bị",
        L=replace(listing, rows=_words(req, listing.rows)),
        tree=tree_with_devices(req, rows),
        total=len(rows),
        online=sum(1 for d in rows if d["online"]),
        attention=sum(1 for d in rows if d["problems"]),
        show=lq.filters.get("state", ""),
        shows=SHOW_VI,
        # a province's thousand devices: communes start folded, except those that need attention
        collapse=len(rows) > COLLAPSE_ABOVE,
        commands=COMMAND_VI,
        error=error,
        flash=flash,
        can_command=req.actor.may("device.command"),
    )


@page
def devices_page(req: Req) -> web.StreamResponse:
    q = req.request.query
    sent, device = q.get("sent", ""), q.get("device", "")[:64]
    flash = ""
    if sent in COMMAND_VI:
        flash = f"Đã gửi lệnh “{COMMAND_VI[sent]}” tới {device}; kết quả sẽ hiện khi thiết bị trả lời."
        if q.get("offline") == "1":
            flash = (
                f"Đã ghi lệnh “{COMMAND_VI[sent]}” cho {device}, nhưng thiết bị đang mất kết nối: "
                f"lệnh hết hạn sau {COMMAND_TTL.seconds} giây nếu thiết bị không kết nối lại."
            )
    return _page(req, flash=flash)


@page
async def command(req: Req) -> web.StreamResponse:
    device_id, cmd = req.request.match_info["id"], req.field("command")
    args: dict[str, Any] = {}
    if cmd == "volume":
        raw = req.field("level")
        try:
            args["level"] = int(raw)
        except ValueError:
            args["level"] = raw
    try:
        await req.services.command(req.actor, device_id, cmd, args)
    except (Invalid, NotFound) as exc:
        return await req.run(_page, req, status=exc.status, error=f"{device_id}: {exc.message}")
    device = await req.run(req.services.devices.get, req.actor, device_id)
    online = device.state not in ("offline", "unknown")
    params = {"sent": cmd, "device": device_id, "q": device_id, **({} if online else {"offline": "1"})}
    raise web.HTTPSeeOther("/devices?" + urlencode(params) + f"#dev-{device_id}")


def install(app: web.Application) -> None:
    app.router.add_get("/devices", devices_page)
    app.router.add_post("/devices/{id}/command", command)
