"""Thiết bị: the area tree with each loudspeaker cluster and LED board, their health, and commands."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub.errors import Invalid, NotFound
from hub.services import device_list
from hub.services.device_list import DeviceFilter
from hub.services.devices import COMMAND_TTL
from hub.web.core import KIND_VI, Req, page
from hub.web.listing import Listing, ListQuery, read_query

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


def tree_with_devices(req: Req, counts: dict[str, tuple[int, int, int]]) -> list[dict[str, Any]]:
    """The caller's area tree, keeping only areas with devices, each with its counts (area path ->
    (devices, online, needing attention), from the database); the areas that need attention first."""

    def walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for n in nodes:
            kids = walk(n["children"])
            here, on, att = counts.get(n["path"], (0, 0, 0))
            count = here + sum(k["count"] for k in kids)
            if count:
                out.append(
                    {
                        **n,
                        "children": kids,
                        "here": here,
                        "count": count,
                        "online": on + sum(k["online"] for k in kids),
                        "attention": att + sum(k["attention"] for k in kids),
                    }
                )
        return sorted(out, key=lambda n: not n["attention"])

    return walk(req.services.areas.tree(req.actor.area_path))


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
DEVICE_SORTS = device_list.SORTS  # counted, sorted and cut in SQL (hub/services/device_list.py)


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
    f = DeviceFilter(lq.q, *(lq.filters.get(k, "") for k in ("state", "kind", "area")))
    counts = req.services.devices.count_by_area(req.actor)
    rows, total = req.services.devices.page(
        req.actor, f, sort=lq.sort, desc=lq.desc, page_no=lq.page, per_page=lq.per_page
    )
    everything = sum(n for n, _, _ in counts.values())
    return req.render(
        "devices.html",
        status=status,
        title="Thiết bị",
        L=Listing(_words(req, rows), total, lq, "/devices"),
        tree=tree_with_devices(req, counts),
        total=everything,
        online=sum(on for _, on, _ in counts.values()),
        attention=sum(att for _, _, att in counts.values()),
        show=lq.filters.get("state", ""),
        shows=SHOW_VI,
        # a province's thousand devices: communes start folded, except those that need attention
        collapse=everything > COLLAPSE_ABOVE,
        commands=COMMAND_VI,
        error=error,
        flash=flash,
        can_command=req.actor.may("device.command"),
    )


@page
def devices_page(req: Req) -> web.StreamResponse:
    q = req.request.query
    sent, device = q.get("sent", ""), q.get("device", "")[:64]
    flash = f"Đã lưu tọa độ của {device}." if q.get("located") == device and device else ""
    if q.get("removed"):
        flash = (
            f"Đã gỡ thiết bị {q['removed'][:64]} khỏi danh mục; việc gỡ đã được ghi vào nhật ký hệ thống."
        )
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


def _degrees(raw: str, name: str) -> float:
    """A coordinate as typed: decimal degrees, with a point or the Vietnamese decimal comma."""
    try:
        value = float(raw.strip().replace(",", ".")) if len(raw) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise Invalid(f"{name} phải là một số độ thập phân, ví dụ 12,0045 hoặc 107.6903.", field=name)
    return value


@page
async def locate(req: Req) -> web.StreamResponse:
    """Tọa độ: an operator sets where a device stands (the map, Bản đồ), within Vietnam."""
    device_id = req.request.match_info["id"]
    try:
        lat, lon = _degrees(req.field("lat"), "Vĩ độ"), _degrees(req.field("lon"), "Kinh độ")
        await req.run(req.services.devices.locate, req.actor, device_id, lat=lat, lon=lon)
    except (Invalid, NotFound) as exc:
        return await req.run(_page, req, status=exc.status, error=f"{device_id}: {exc.message}")
    params = {"located": device_id, "q": device_id}
    raise web.HTTPSeeOther("/devices?" + urlencode(params) + f"#dev-{device_id}")


def install(app: web.Application) -> None:
    app.router.add_get("/devices", devices_page)
    app.router.add_post("/devices/{id}/command", command)
    app.router.add_post("/devices/{id}/location", locate)
