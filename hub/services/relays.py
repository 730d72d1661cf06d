"""Tiếp sóng: a higher-level station's stream relayed at a fixed time (issue 20; docs/RULES.md, "Tiếp sóng").

A relay names a source (an http(s) URL of the provincial radio or VOV, or a mount /relay/NAME.mp3 of the
province's own stream server), a start time and length that lie whole inside a radio window, the days
(every day, weekdays, or listed dates) and the areas. Who may create one (hub/roles.py,
"programme.relay"): the province's editorial board (editor) for the areas it covers, an admin for any, a
commune chair for their own commune only. The engine (playlists) keeps relays at their time and packs the
bulletins around them; the programme message carries them (docs/PROTOCOL.md, "Relays").
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import Invalid, NotFound
from hub.models import RelayRow
from hub.roles import Actor
from hub.services.areas import AreaService
from hub.services.base import Context, deny, new_id, require
from hub.services.tokens import LiveTokens
from hub.services.windows import WindowService
from playlists import Relay
from playlists.window_sets import DAY_MIN, WindowTable, minutes
from protocol.messages import RELAY_URL_MAX, RelayEntry
from protocol.topics import covers

ACTION = "programme.relay"
TITLE_MAX = 200
MAX_MINUTES = 90  # a radio window's length by default
MAX_AREAS = 50
MAX_DATES = 62
MAX_RELAYS = 500
DAYS = ("daily", "weekdays", "dates")
DAYS_VI = {"daily": "Hằng ngày", "weekdays": "Thứ Hai đến thứ Sáu", "dates": "Các ngày"}
MOUNT = re.compile(r"^/relay/[A-Za-z0-9_-]{1,40}\.(mp3|ogg)$")
TOKEN_GRACE_S = 300  # a mount's listening token outlives the relay's end by this much
LEVEL_ORIGIN = {"province": "province", "district": "district", "commune": "commune"}


def check_source(raw: Any) -> str:
    """An http(s) URL or a mount of the province's stream server, or Invalid saying what to fix. A URL with
    a user name or password is refused: it would travel in every programme and in logs."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise Invalid("Ghi địa chỉ nguồn tiếp sóng: http(s)://... hoặc /relay/TEN.mp3 trên máy chủ phát "
                      "trực tuyến của tỉnh.", field="source")
    if len(text) > RELAY_URL_MAX:
        raise Invalid(f"Địa chỉ nguồn dài quá {RELAY_URL_MAX} ký tự.", field="source")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in text):
        raise Invalid("Địa chỉ nguồn không được chứa khoảng trắng hay ký tự điều khiển.", field="source")
    if text.startswith("/"):
        if not MOUNT.match(text):
            raise Invalid("Điểm phát trên máy chủ của tỉnh có dạng /relay/TEN.mp3 (chữ, số, - và _).",
                          field="source")
        return text
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise Invalid("Địa chỉ nguồn không hợp lệ.", field="source") from None
    if parts.scheme not in ("http", "https"):
        raise Invalid("Địa chỉ nguồn phải bắt đầu bằng http:// hoặc https://.", field="source")
    if not host:
        raise Invalid("Địa chỉ nguồn thiếu tên máy chủ, ví dụ https://radio.example.vn/live.mp3.",
                      field="source")
    if parts.username is not None or parts.password is not None:
        raise Invalid("Không ghi tên đăng nhập hay mật khẩu trong địa chỉ nguồn (nó sẽ đi tới mọi thiết bị "
                      "và vào nhật ký); dùng địa chỉ không cần đăng nhập hoặc điểm phát /relay/ của tỉnh.",
                      field="source")
    return text


def shown(url: str) -> str:
    """A source as logs and pages show it: no query string (it may hold a token)."""
    return url.split("?", 1)[0][:RELAY_URL_MAX]


def _start(raw: Any) -> tuple[str, int]:
    text = raw.strip() if isinstance(raw, str) else ""
    try:
        if len(text) != 5:
            raise ValueError(text)
        t = time.fromisoformat(text)
    except ValueError:
        raise Invalid(f"Giờ bắt đầu '{str(raw)[:10]}' không đúng dạng GG:PP, ví dụ 06:00.",
                      field="start") from None
    return text, t.hour * 60 + t.minute


def _min(hhmm: str) -> int:
    return int(hhmm[:2]) * 60 + int(hhmm[3:5])


def _hm(total: int) -> str:
    return f"{total // 60 % 24:02d}:{total % 60:02d}"


def inside(windows: Iterable[str], start_min: int, end_min: int) -> bool:
    """Does [start, end] lie whole inside one of `windows` (labels, crossing midnight allowed)?"""
    for w in windows:
        ws, we = minutes(w)
        for shift in (0, DAY_MIN):
            if ws <= start_min + shift and end_min + shift <= we:
                return True
    return False


@dataclass(frozen=True)
class RelayInfo:
    """A relay as read from the database (detached: snapshots outlive their session)."""

    id: str
    title: str
    source: str
    start: str
    duration_s: int
    days: str
    dates: tuple[str, ...]
    areas: tuple[str, ...]
    origin: str

    @classmethod
    def of(cls, r: RelayRow) -> RelayInfo:
        return cls(r.id, r.title, r.source, r.start, r.duration_s, r.days, tuple(r.dates or ()),
                   tuple(r.areas or ()), r.origin)


def runs_on(row: RelayInfo, day: date) -> bool:
    if row.days == "daily":
        return True
    if row.days == "weekdays":
        return day.weekday() < 5
    return day.isoformat() in (row.dates or [])


def _days_meet(a: RelayInfo, b: RelayInfo, today: date) -> bool:
    """Can two relays fall on the same day (from today on)?"""
    if a.days == "dates" or b.days == "dates":
        dated, other = (a, b) if a.days == "dates" else (b, a)
        return any(runs_on(other, date.fromisoformat(d)) for d in dated.dates if d >= today.isoformat())
    return True


def relay_tokens(key_file: Path) -> LiveTokens:
    """Listening tokens for the province's own relay mounts (the live ones' format, subject `relay|MOUNT`)
    under a key kept in the data directory (mode 0600), so the tokens in retained programmes survive a hub
    restart."""
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
    return LiveTokens(key_file.read_bytes())


class RelayService:
    def __init__(self, ctx: Context, areas: AreaService, windows: WindowService) -> None:
        self.ctx, self.areas, self.windows = ctx, areas, windows
        self._tokens: LiveTokens | None = None
        # the province's stream server as agents reach it (Services sets LiveService.public_stream_url)
        self.stream_base: Callable[[], str] = lambda: ""

    # --- reading
    def rows(self, sess: Session) -> list[RelayInfo]:
        return [RelayInfo.of(r) for r in sess.scalars(select(RelayRow).order_by(RelayRow.start, RelayRow.id))]

    @staticmethod
    def engine_relays(rows: Iterable[RelayInfo], day: date) -> list[Relay]:
        """The relays on `day` as the engine takes them."""
        return [
            Relay(id=r.id, start=time.fromisoformat(r.start), duration_s=r.duration_s, targets=tuple(r.areas),
                  origin=r.origin, title=r.title)
            for r in rows if runs_on(r, day)
        ]

    def listen(self, row: RelayInfo, end: datetime) -> tuple[str, str, str]:
        """The URL an agent plays, and for a mount of the province's server its token and expiry."""
        if not row.source.startswith("/"):
            return row.source, "", ""
        expires = end + timedelta(seconds=TOKEN_GRACE_S)
        token = self.tokens.make(f"relay|{row.source}", expires)
        return self.stream_base() + row.source, token, expires.isoformat()

    def entries(self, infos: Iterable[RelayInfo], placed: Iterable[dict[str, Any]]) -> list[RelayEntry]:
        """The relays the engine placed for a commune's day, as the programme message carries them."""
        by_id = {r.id: r for r in infos}
        out = []
        for p in placed:
            r = by_id[p["relay_id"]]
            url, token, expires = self.listen(r, datetime.fromisoformat(p["end"]))
            out.append(RelayEntry(relay_id=r.id, title=r.title, url=url, start=p["start"], end=p["end"],
                                  window=p["window"], token=token, token_expires=expires))
        return out

    @staticmethod
    def view(infos: Iterable[RelayInfo], placed: Iterable[dict[str, Any]],
             off: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """The programme view's `relays` (on air) and `relays_off` (for the commune, not on air, and why)."""
        by_id = {r.id: {"title": r.title, "source": shown(r.source)} for r in infos}
        return {
            "relays": [{**p, **by_id[p["relay_id"]]} for p in placed],
            "relays_off": [{**u, **by_id[u["relay_id"]]} for u in off if u["reason"] != "not_targeted"],
        }

    @property
    def tokens(self) -> LiveTokens:
        """Made on first use (a relay of a /relay/ mount, or a listener of one): the key file is created
        then, not by every CLI command that builds the services."""
        if self._tokens is None:
            self._tokens = relay_tokens(self.ctx.config.data_dir / "relay-token.key")
        return self._tokens

    def listener_allowed(self, mount: str, token: str) -> str:
        """Why the stream server must refuse a listener of a /relay/ mount ("" to let it in)."""
        if not MOUNT.match(mount):
            return "unknown mount"
        return self.tokens.check(f"relay|{mount}", token, self.ctx.now())

    def to_dict(self, r: RelayInfo, actor: Actor | None = None) -> dict[str, Any]:
        names = self.areas.all()
        end = _hm(_min(r.start) + r.duration_s // 60)
        return {
            "id": r.id, "title": r.title, "source": shown(r.source), "start": r.start, "end": end,
            "minutes": r.duration_s // 60, "days": r.days, "days_vi": DAYS_VI[r.days], "dates": list(r.dates),
            "areas": list(r.areas), "area_names": [names[a].name if a in names else a for a in r.areas],
            "origin": r.origin, "can_edit": actor is not None and self.may_edit(actor, r),
        }

    def listing(self, actor: Actor, area: str | None = None) -> list[dict[str, Any]]:
        require(actor, "read")
        with self.ctx.db.session() as sess:
            rows = self.rows(sess)
            out = [self.to_dict(r, actor) for r in rows
                   if any(actor.sees(a) for a in r.areas)
                   and (area is None or any(covers(a, area) or covers(area, a) for a in r.areas))]
        return out

    def get(self, actor: Actor, relay_id: str) -> dict[str, Any]:
        require(actor, "read")
        with self.ctx.db.session() as sess:
            row = sess.get(RelayRow, relay_id)
            if row is None or not any(actor.sees(a) for a in row.areas):
                raise NotFound(f"Không có lịch tiếp sóng '{relay_id[:40]}'.", field="id")
            return self.to_dict(RelayInfo.of(row), actor)

    def titles(self, ids: set[str]) -> dict[str, str]:
        """Relay titles by id (the play log names a relay's reports with them)."""
        if not ids:
            return {}
        with self.ctx.db.session() as sess:
            q = select(RelayRow.id, RelayRow.title).where(RelayRow.id.in_(ids))
            return {rid: title for rid, title in sess.execute(q)}

    def may_edit(self, actor: Actor, row: RelayInfo) -> bool:
        return actor.may(ACTION) and all(
            actor.covers(a) and (actor.role != "commune_chair" or self.areas.is_leaf(a)) for a in row.areas)

    # --- checking
    def _areas(self, actor: Actor, raw: Any) -> list[str]:
        if not isinstance(raw, list | tuple) or not raw:
            raise Invalid("Chọn ít nhất một địa bàn nhận tiếp sóng.", field="areas")
        if len(raw) > MAX_AREAS:
            raise Invalid(f"Tối đa {MAX_AREAS} địa bàn (đã chọn {len(raw)}).", field="areas")
        out: list[str] = []
        for a in raw:
            path = a.strip("/") if isinstance(a, str) else ""
            self.areas.get(path, field="areas")
            require(actor, ACTION, path, area=path)
            if actor.role == "commune_chair" and not self.areas.is_leaf(path):
                raise deny(ACTION, path, "Chủ tịch UBND xã chỉ đặt lịch tiếp sóng cho xã của mình.")
            if path not in out:
                out.append(path)
        return out

    def _dates(self, days: Any, raw: Any) -> list[str]:
        if days not in DAYS:
            raise Invalid("Ngày phát là 'daily' (hằng ngày), 'weekdays' (thứ Hai–thứ Sáu) hoặc 'dates' "
                          "(các ngày chọn).", field="days")
        if days != "dates":
            return []
        if not isinstance(raw, list | tuple) or not raw:
            raise Invalid("Chọn ít nhất một ngày (YYYY-MM-DD).", field="dates")
        if len(raw) > MAX_DATES:
            raise Invalid(f"Tối đa {MAX_DATES} ngày.", field="dates")
        today = self.ctx.local_now().date()
        out = set()
        for d in raw:
            try:
                day = date.fromisoformat(str(d)) if len(str(d)) == 10 else None
            except ValueError:
                day = None
            if day is None:
                raise Invalid(f"'{str(d)[:20]}' không phải ngày dạng YYYY-MM-DD.", field="dates")
            if day < today or day > today + timedelta(days=366):
                raise Invalid(f"Ngày {day:%d/%m/%Y} phải từ hôm nay đến một năm tới.", field="dates")
            out.add(day.isoformat())
        return sorted(out)

    def _check_windows(self, sess: Session, areas: list[str], span: tuple[int, int], days: str,
                       dates: list[str]) -> None:
        """The relay must lie whole inside a radio window of each area, on each day it runs."""
        start, end = span
        table: WindowTable = self.windows.table(sess)
        today = self.ctx.local_now().date()
        check_days = [date.fromisoformat(d) for d in dates] if days == "dates" else [today]
        names = self.areas.all()
        for area in areas:
            for day in check_days:
                wins = table.resolve(area, "radio", day).windows
                if not inside(wins, start, end):
                    raise Invalid(
                        f"Giờ tiếp sóng {_hm(start)}–{_hm(end)} không nằm trọn trong một khung giờ phát của "
                        f"{names[area].name if area in names else area} ngày {day:%d/%m/%Y} "
                        f"({', '.join(wins)}); hãy chọn giờ và thời lượng nằm trong một khung giờ.",
                        field="start")

    def _check_overlap(self, sess: Session, me: RelayInfo) -> None:
        today = self.ctx.local_now().date()
        s = _min(me.start)
        e = s + me.duration_s // 60
        for other in self.rows(sess):
            if other.id == me.id:
                continue
            os_ = _min(other.start)
            oe = os_ + other.duration_s // 60
            related = any(covers(a, b) or covers(b, a) for a in me.areas for b in other.areas)
            if related and s < oe and os_ < e and _days_meet(me, other, today):
                raise Invalid(f"Trùng giờ với lịch tiếp sóng «{other.title}» {other.start}–{_hm(oe)} "
                              "trên cùng địa bàn; hãy chọn giờ khác.", field="start")

    def _fill(self, actor: Actor, row: RelayRow, data: dict[str, Any]) -> None:
        title = data.get("title")
        title = title.strip() if isinstance(title, str) else ""
        if not title:
            raise Invalid("Ghi tên chương trình tiếp sóng, ví dụ 'Thời sự VOV'.", field="title")
        if len(title) > TITLE_MAX:
            raise Invalid(f"Tên dài quá {TITLE_MAX} ký tự.", field="title")
        if any(ord(c) < 32 or ord(c) == 127 for c in title):
            raise Invalid("Tên không được chứa ký tự điều khiển.", field="title")
        source = check_source(data.get("source"))
        start_text, _ = _start(data.get("start"))
        mins = data.get("minutes")
        if isinstance(mins, bool) or not isinstance(mins, int) or not 1 <= mins <= MAX_MINUTES:
            raise Invalid(f"Thời lượng là số phút từ 1 đến {MAX_MINUTES}.", field="minutes")
        areas = self._areas(actor, data.get("areas"))
        days = data.get("days", "daily")
        dates = self._dates(days, data.get("dates"))
        levels = [self.areas.get(a).level for a in areas]
        origin = next((LEVEL_ORIGIN[lv] for lv in ("province", "district", "commune") if lv in levels),
                      "commune")
        row.title, row.source, row.start, row.duration_s = title, source, start_text, mins * 60
        row.days, row.dates, row.areas, row.origin = days, dates, areas, origin
        row.updated_at = self.ctx.now()

    # --- writing (the caller republishes the communes under the areas)
    def create(self, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        require(actor, ACTION)
        row = RelayRow(id=new_id("relay"), created_by=actor.user_id, created_at=self.ctx.now())
        self._fill(actor, row, data)
        with self.ctx.tx(actor) as sess:
            if len(self.rows(sess)) >= MAX_RELAYS:
                raise Invalid(f"Đã có {MAX_RELAYS} lịch tiếp sóng; hãy xóa lịch cũ.", field="id")
            self._validate(sess, row)
            sess.add(row)
            sess.flush()
            out = self.to_dict(RelayInfo.of(row), actor)
            self.ctx.audit(sess, actor, "relay.create", row.id, detail=_audit(out))
            self.ctx.intend(sess, "republish", {"areas": list(row.areas), "kinds": ["radio"]})
        return out

    def _validate(self, sess: Session, row: RelayRow) -> None:
        start = _min(row.start)
        self._check_windows(sess, list(row.areas), (start, start + row.duration_s // 60), row.days,
                            list(row.dates))
        self._check_overlap(sess, RelayInfo.of(row))

    def _editable(self, sess: Session, actor: Actor, relay_id: str) -> RelayRow:
        row = sess.get(RelayRow, relay_id)
        if row is None or not any(actor.sees(a) for a in row.areas):
            raise NotFound(f"Không có lịch tiếp sóng '{relay_id[:40]}'.", field="id")
        if not self.may_edit(actor, RelayInfo.of(row)):
            raise deny(ACTION, relay_id, "Lịch tiếp sóng này thuộc địa bàn ngoài phạm vi được giao.")
        return row

    def update(self, actor: Actor, relay_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """The relay changed; the communes under its areas before and after get their programme again."""
        require(actor, ACTION)
        with self.ctx.tx(actor) as sess:
            row = self._editable(sess, actor, relay_id)
            before = list(row.areas)
            self._fill(actor, row, data)
            self._validate(sess, row)
            out = self.to_dict(RelayInfo.of(row), actor)
            self.ctx.audit(sess, actor, "relay.update", row.id, detail=_audit(out))
            areas = list(dict.fromkeys([*before, *row.areas]))
            self.ctx.intend(sess, "republish", {"areas": areas, "kinds": ["radio"]})
        return out

    def delete(self, actor: Actor, relay_id: str) -> dict[str, Any]:
        require(actor, ACTION)
        with self.ctx.tx(actor) as sess:
            row = self._editable(sess, actor, relay_id)
            out = self.to_dict(RelayInfo.of(row), actor)
            sess.delete(row)
            self.ctx.audit(sess, actor, "relay.delete", relay_id, detail=_audit(out))
            self.ctx.intend(sess, "republish", {"areas": list(out["areas"]), "kinds": ["radio"]})
        return out


def _audit(d: dict[str, Any]) -> dict[str, Any]:
    return {k: d[k] for k in ("title", "source", "start", "minutes", "days", "dates", "areas")}
