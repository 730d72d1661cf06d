"""`python -m edge_agent check --config FILE`: a technician's check of one device, on it, in Vietnamese.

Reads what the running agent leaves behind (status.json, its SQLite store opened read-only, the media
cache, plays.jsonl) and probes the broker and the hub with short timeouts. It changes nothing, so it is safe
to run next to the agent (or when the agent is stopped, to see why). Exit 0 when every check passes, 1 when
one fails: each failing line says what to look at.
"""

from __future__ import annotations

import json
import os
import sqlite3
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.config import Settings
from protocol.checklist import Line, probe_broker
from protocol.checklist import report as render_report
from protocol.clock import ShiftedClock, parse_time
from protocol.vocabulary import DeviceKind

KIND_VI = {"radio": "đài truyền thanh", "led": "bảng tin điện tử"}
CLOCK_VI = {
    "synced": "đã đồng bộ (NTP)",
    "hub": "đã đồng bộ (theo giờ máy chủ)",
    "always": "tin cậy theo cấu hình (clock_trust = always), không kiểm tra",
}
STALE_AFTER_S = 120  # status.json older than this while "connected": the agent is hung or stopped
OUTBOX_BACKLOG = 50
NET_TIMEOUT_S = 3.0


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} giây trước"
    if seconds < 5400:
        return f"{seconds / 60:.0f} phút trước"
    return f"{seconds / 3600:.1f} giờ trước"


def _status(s: Settings, now: datetime) -> tuple[list[Line], dict[str, Any]]:
    path = s.data_path / "status.json"
    try:
        st = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [
            Line(False, "Tiến trình agent", f"chưa từng chạy với thư mục dữ liệu này ({path} chưa có)")
        ], {}
    except (OSError, json.JSONDecodeError) as exc:
        return [Line(False, "Tiến trình agent", f"không đọc được {path}: {exc}")], {}
    pid = st.get("pid")
    alive = False
    if isinstance(pid, int) and pid > 0:
        try:
            os.kill(pid, 0)
            alive = True
        except PermissionError:  # runs as another user (nguon-agent): it exists
            alive = True
        except OSError:
            alive = False
    try:
        age = (now - parse_time(st["at"])).total_seconds()
    except (KeyError, TypeError, ValueError):
        age = float("inf")
    if not alive:
        line = Line(
            False, "Tiến trình agent", f"không chạy (pid {pid} đã dừng): xem journalctl -u nguon-agent"
        )
    elif not st.get("connected"):
        line = Line(False, "Tiến trình agent", f"đang chạy (pid {pid}) nhưng mất kết nối MQTT từ {_ago(age)}")
    elif age > STALE_AFTER_S:
        line = Line(
            False, "Tiến trình agent", f"pid {pid} không cập nhật trạng thái từ {_ago(age)}: có thể bị treo"
        )
    else:
        via = f" tới {str(st['broker'])[:80]}" if st.get("broker") else ""  # which of the brokers
        line = Line(
            True, "Tiến trình agent", f"đang chạy (pid {pid}), đã kết nối{via}, trạng thái gửi {_ago(age)}"
        )
    return [line], st


def _probe_brokers(s: Settings) -> list[Line]:
    """Each broker of the list (one line each: with two, one down is worth knowing before it matters)."""
    m, hint = s.mqtt, "kiểm tra mạng, địa chỉ, tường lửa"
    return [probe_broker(h, p, tls=m.tls, ca_file=m.ca_file, unreachable_hint=hint) for h, p in m.endpoints]


def _probe_hub(s: Settings) -> Line:
    url = s.hub_url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(url, timeout=NET_TIMEOUT_S) as resp:  # noqa: S310 - the configured hub
            return Line(True, "Máy chủ hub", f"{url} trả lời {resp.status}")
    except urllib.error.HTTPError as exc:  # it answered: reachable, even if it reports a problem
        return Line(True, "Máy chủ hub", f"{url} trả lời {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Line(False, "Máy chủ hub", f"{url} không tới được ({reason}): tệp âm thanh mới không tải được")


def _probe_board_page(s: Settings) -> Line:
    """An LED board: the player page the kiosk browser shows, served by the agent itself."""
    url = f"http://{s.led.http_host}:{s.led.http_port}/"
    try:
        with urllib.request.urlopen(url, timeout=NET_TIMEOUT_S) as resp:
            return Line(True, "Trang trình chiếu", f"{url} trả lời {resp.status}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Line(
            False, "Trang trình chiếu", f"{url} không mở được ({reason}): màn hình sẽ không có nội dung"
        )


def _store(s: Settings) -> sqlite3.Connection | None:
    path = s.data_path / "agent.db"
    if not path.exists():
        return None
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)


def _programme(s: Settings, db: sqlite3.Connection | None, now: datetime) -> list[Line]:
    row = (
        db.execute("SELECT version, body FROM programme WHERE kind = ?", (s.kind,)).fetchone() if db else None
    )
    if row is None:
        return [Line(False, "Chương trình phát", "chưa nhận được chương trình nào từ máy chủ")]
    version, body = int(row[0]), json.loads(row[1])
    tz = ZoneInfo(body.get("timezone") or s.timezone)
    today = now.astimezone(tz).date().isoformat()
    infos = {b["id"]: b for b in body.get("bulletins", [])}
    items = [i for d in body.get("days", []) if d.get("date") == today for i in d.get("items", [])]
    upcoming = sorted((i for i in items if parse_time(i["end"]) > now), key=lambda i: i["start"])
    if upcoming:
        nxt = upcoming[0]
        title = infos.get(nxt["bulletin_id"], {}).get("title") or nxt["bulletin_id"]
        at = parse_time(nxt["start"]).astimezone(tz).strftime("%H:%M:%S")
        then = f"; kế tiếp {at} “{title}”"
    else:
        then = "; không còn bản tin nào hôm nay"
    last = max((d.get("date", "") for d in body.get("days", [])), default="")
    if last < today:
        return [
            Line(
                False,
                "Chương trình phát",
                f"phiên bản {version} đã hết (ngày cuối {last or '?'}): agent không nhận được "
                "chương trình mới, kiểm tra kết nối tới máy chủ MQTT",
            )
        ]
    until = f"; có lịch đến hết ngày {last[8:10]}/{last[5:7]}"
    day: dict[str, Any] = next((d for d in body.get("days", []) if d.get("date") == today), {})
    # the windows this device plays in today (the commune's own, from the hub), not its config's
    windows = [w.get("label", "?") for w in day.get("window_spans") or []] or day.get("windows") or []
    hours = f"; khung giờ hôm nay {', '.join(windows)}" if windows else ""
    lines = [
        Line(
            True,
            "Chương trình phát",
            f"phiên bản {version}, hôm nay {len(items)} lượt phát{then}{until}{hours}",
        )
    ]
    wanted = {
        ref["sha256"]
        for i in items
        for ref in (
            infos.get(i["bulletin_id"], {}).get("media"),
            infos.get(i["bulletin_id"], {}).get("subtitles"),
        )
        if isinstance(ref, dict) and ref.get("sha256")
    }
    missing = [h for h in wanted if not (s.data_path / "media" / h).is_file()]
    if not wanted:
        lines.append(Line(None, "Tệp âm thanh/hình ảnh", "chương trình hôm nay không cần tệp nào"))
    elif missing:
        lines.append(
            Line(
                False,
                "Tệp âm thanh/hình ảnh",
                f"thiếu {len(missing)}/{len(wanted)} tệp của chương trình hôm nay "
                "(agent tải lại khi tới được hub)",
            )
        )
    else:
        lines.append(Line(True, "Tệp âm thanh/hình ảnh", f"đủ {len(wanted)} tệp của chương trình hôm nay"))
    return lines


def _counters(st: dict[str, Any], db: sqlite3.Connection | None) -> list[Line]:
    lines = []
    clock = st.get("clock")
    if clock in CLOCK_VI:
        lines.append(Line(True, "Đồng hồ", CLOCK_VI[clock]))
    elif clock is not None:
        lines.append(
            Line(False, "Đồng hồ", "chưa đồng bộ: tạm dừng lịch phát (tin khẩn cấp vẫn phát); kiểm tra NTP")
        )
    waiting = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] if db else 0
    lines.append(
        Line(
            waiting <= OUTBOX_BACKLOG,
            "Báo cáo chờ gửi về hub",
            f"{waiting}" + ("" if waiting <= OUTBOX_BACKLOG else ": chưa gửi được, kiểm tra kết nối MQTT"),
        )
    )
    rejected = st.get("rejected") or 0
    lines.append(
        Line(
            rejected == 0,
            "Tin bị từ chối",
            f"{rejected}" + ("" if not rejected else ": sai chữ ký, quá hạn hoặc lặp lại; xem journalctl"),
        )
    )
    return lines


def _last_plays(s: Settings, tz: ZoneInfo, n: int = 3) -> list[Line]:
    path = s.data_path / "plays.jsonl"
    try:
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()[-n:] if x.strip()]
    except (OSError, json.JSONDecodeError):
        return []
    out = []
    for r in reversed(rows):
        try:
            at = parse_time(r["started_at"]).astimezone(tz).strftime("%H:%M:%S %d/%m")
        except (KeyError, TypeError, ValueError):
            at = "?"
        out.append(
            Line(None, "Lần phát gần đây", f"{at} {r.get('bulletin_id', '?')} → {r.get('outcome', '?')}")
        )
    return out


def check(settings: Settings, *, config: Path | None = None, network: bool = True) -> tuple[list[Line], bool]:
    """Every check, in the order a technician reads them; and whether all passed."""
    now = ShiftedClock(settings.clock_offset_s).now()
    tz = ZoneInfo(settings.timezone)
    lines = [Line(True, "Cấu hình", f"hợp lệ ({config})" if config else "hợp lệ")]
    status_lines, st = _status(settings, now)
    lines += status_lines
    if settings.kind == DeviceKind.LED:
        lines.append(_probe_board_page(settings))
    if network:
        lines += [*_probe_brokers(settings), _probe_hub(settings)]
    db = _store(settings)
    try:
        lines += _counters(st, db)
        lines += _programme(settings, db, now)
    except sqlite3.Error as exc:
        lines.append(Line(False, "Kho dữ liệu", f"không đọc được {settings.data_path / 'agent.db'}: {exc}"))
    finally:
        if db is not None:
            db.close()
    lines += _last_plays(settings, tz)
    return lines, all(line.ok is not False for line in lines)


def report(settings: Settings, *, config: Path | None = None, network: bool = True) -> tuple[str, bool]:
    lines, _ = check(settings, config=config, network=network)
    head = (
        f"nguon-agent: kiểm tra thiết bị {settings.device_id} "
        f"({KIND_VI.get(settings.kind, settings.kind)}, {settings.area})"
    )
    return render_report(head, lines)
