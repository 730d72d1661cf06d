"""Khung giờ phát (Art. 10): windows as the area tree's data, set by an admin or a commune's chair, audited.

The province's defaults are the rules set on the province; a district or commune may have its own hours
from a date on (Art. 10.1); LED boards get extra hours for an occasion (Art. 10.2). Resolution (commune >
district > province > the regulation's defaults, occasions added for LED) is playlists.window_sets.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.errors import Invalid, NotFound
from hub.models import OccasionWindowRow, WindowRuleRow
from hub.roles import Actor
from hub.services.areas import AreaService
from hub.services.base import Context, deny, require
from playlists.window_sets import DAY_MIN, InForce, Occasion, WindowRule, WindowTable, minutes, overlap
from protocol.vocabulary import DEVICE_KINDS

KINDS = DEVICE_KINDS
MAX_WINDOWS = 6  # a day's windows; the regulation's days have two
MIN_WINDOW_MIN = 5  # shorter cannot hold a bulletin
MAX_WINDOW_MIN = 18 * 60  # longer is a typo (an end before its start read as crossing midnight)
MAX_DAY_MIN = 20 * 60
MAX_AHEAD_DAYS = 366
MAX_OCCASION_DAYS = 31
ACTION = "programme.windows"


class SizeCheck(Protocol):
    """The publisher's size check (PublishingService.check_windows): raises Invalid to refuse the change."""

    def __call__(
        self, sess: Session, area: str, kinds: tuple[str, ...], before: WindowTable, *, removal: bool = False
    ) -> None: ...


def _hm(total: int) -> str:
    h, m = divmod(total, 60)
    return f"{h} giờ {m} phút" if m else f"{h} giờ"


def check_windows(specs: Any, field: str = "windows") -> tuple[str, ...]:
    """A day's windows as typed by a person, checked; sorted labels, or Invalid saying what to fix."""
    if isinstance(specs, str):
        specs = [p for p in (s.strip() for s in specs.replace(";", ",").replace("\n", ",").split(",")) if p]
    if not isinstance(specs, list | tuple) or not specs:
        raise Invalid("Cần ít nhất một khung giờ, ví dụ 05:00-06:30, 17:00-18:30.", field=field)
    if len(specs) > MAX_WINDOWS:
        raise Invalid(f"Tối đa {MAX_WINDOWS} khung giờ một ngày (đã nhập {len(specs)}).", field=field)
    out = [_check_one(raw, field) for raw in specs]
    clash = overlap(out)
    if clash is not None:
        a, b = clash
        what = f"Khung giờ {a} và {b} chồng lên nhau" if a != b else f"Khung giờ {a} bị nhập hai lần"
        if a != b and minutes(a)[1] > DAY_MIN and minutes(b)[0] < minutes(a)[0]:
            what += " (khung qua nửa đêm chạm vào khung sáng hôm sau)"
        raise Invalid(f"{what}; hãy tách rời chúng.", field=field)
    total = sum(e - s for s, e in map(minutes, out))
    if total > MAX_DAY_MIN:
        raise Invalid(
            f"Các khung giờ cộng lại dài {_hm(total)} một ngày, quá {_hm(MAX_DAY_MIN)}.", field=field
        )
    return tuple(sorted(out, key=minutes))


def _check_one(raw: Any, field: str) -> str:
    w = raw.replace(" ", "").replace("–", "-") if isinstance(raw, str) else raw
    if not isinstance(w, str) or len(w) > 20:
        raise Invalid(
            f"Khung giờ {str(raw)[:20]!r} không đúng dạng GG:PP-GG:PP, ví dụ 05:00-06:30.", field=field
        )
    try:
        start, end = minutes(w)
    except ValueError:
        if w.count("-") == 1 and w.split("-")[0] == w.split("-")[1]:
            raise Invalid(f"Khung giờ {w} rỗng: giờ kết thúc trùng giờ bắt đầu.", field=field) from None
        raise Invalid(
            f"Khung giờ '{w}' không đúng dạng GG:PP-GG:PP (giờ 00-23, phút 00-59), ví dụ 05:00-06:30.",
            field=field,
        ) from None
    length = end - start
    if length < MIN_WINDOW_MIN:
        raise Invalid(
            f"Khung giờ {w} chỉ dài {length} phút; mỗi khung giờ cần ít nhất {MIN_WINDOW_MIN} phút.",
            field=field,
        )
    if length > MAX_WINDOW_MIN and end > DAY_MIN:
        raise Invalid(
            f"Khung giờ {w} kết thúc trước khi bắt đầu. Nếu đó là khung giờ qua nửa đêm thì nó dài "
            f"{_hm(length)}, quá {_hm(MAX_WINDOW_MIN)}; hãy kiểm tra giờ bắt đầu và giờ kết thúc.",
            field=field,
        )
    if length > MAX_WINDOW_MIN:
        raise Invalid(f"Khung giờ {w} dài {_hm(length)}, quá {_hm(MAX_WINDOW_MIN)}.", field=field)
    return w


def source_vi(res: InForce, names: dict[str, tuple[str, str]]) -> str:
    """Where a commune's windows come from, as the chair's screen says it."""
    rule = res.rule
    if rule is None:
        text = "Mặc định theo quy định"
    else:
        level, name = names.get(rule.area, ("", rule.area))
        since = rule.effective_from.strftime("%d/%m/%Y")
        text = (
            f"Mặc định của tỉnh {name} (từ {since})"
            if level == "province"
            else f"Khung giờ riêng của {name} (từ {since})"
        )
    if res.occasions:
        text += "; thêm giờ dịp " + ", ".join(f"{o.name} ({', '.join(o.windows)})" for o in res.occasions)
    return text


class WindowService:
    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx = ctx
        self.areas = areas

    # --- reading
    def table(self, sess: Session) -> WindowTable:
        """Every rule and occasion, for compiling many communes from one read."""
        return window_table(sess)

    def _names(self) -> dict[str, tuple[str, str]]:
        return {p: (a.level, a.name) for p, a in self.areas.all().items()}

    def in_force(self, table: WindowTable, area: str, kind: str, day: date) -> dict[str, Any]:
        res = table.resolve(area, kind, day)
        return {
            "windows": list(res.windows),
            "base": list(res.base),
            "source": source_vi(res, self._names()),
            "rule": _rule_dict(res.rule) if res.rule else None,
            "occasions": [_occasion_dict(o) for o in res.occasions],
        }

    def overview(self, actor: Actor, area: str, day: date | None = None) -> dict[str, Any]:
        """What applies to `area` on `day` per kind, and the rules and occasions on it, its ancestors and
        (those the actor covers) its descendants."""
        require(actor, "read")
        self.areas.get(area)
        if not actor.sees(area):
            raise deny("read", area, f"Khu vực {area} nằm ngoài phạm vi được giao ({actor.area_path}).")
        day = day or self.ctx.local_now().date()
        parts = area.split("/")
        ancestors = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        with self.ctx.db.session() as sess:
            table = self.table(sess)
            near = or_(WindowRuleRow.area_path.in_(ancestors), WindowRuleRow.area_path.startswith(area + "/"))
            rules = sess.scalars(
                select(WindowRuleRow)
                .where(near)
                .order_by(WindowRuleRow.area_path, WindowRuleRow.kind, WindowRuleRow.effective_from)
            ).all()
            near_o = or_(
                OccasionWindowRow.area_path.in_(ancestors), OccasionWindowRow.area_path.startswith(area + "/")
            )
            occ = sess.scalars(
                select(OccasionWindowRow)
                .where(near_o)
                .order_by(OccasionWindowRow.date_from, OccasionWindowRow.id)
            ).all()
            rule_list = [_rule_dict(_rule(r)) for r in rules if actor.sees(r.area_path)]
            occ_list = [_occasion_dict(_occasion(o)) for o in occ if actor.sees(o.area_path)]
        names = self._names()
        for item in (*rule_list, *occ_list):
            item["area_name"] = names.get(item["area"], ("", item["area"]))[1]
        return {
            "area": area,
            "date": day.isoformat(),
            "in_force": {k: self.in_force(table, area, k, day) for k in KINDS},
            "rules": rule_list,
            "occasions": occ_list,
            "can_edit": self.may_edit(actor, area),
        }

    def may_edit(self, actor: Actor, area: str) -> bool:
        if not actor.may(ACTION) or not actor.covers(area):
            return False
        return actor.role == "admin" or self.areas.is_leaf(area)

    def _require_edit(self, actor: Actor, area: str) -> None:
        self.areas.get(area)
        require(actor, ACTION, area, area=area)
        if actor.role != "admin" and not self.areas.is_leaf(area):
            raise deny(ACTION, area, "Chủ tịch UBND xã chỉ đặt khung giờ phát cho xã của mình.")

    def _date(self, value: Any, field: str) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise Invalid(f"'{str(value)[:40]}' không phải ngày dạng YYYY-MM-DD.", field=field) from None

    def _future(self, day: date, field: str, what: str) -> None:
        today = self.ctx.local_now().date()
        if day < today:
            raise Invalid(
                f"{what} {day:%d/%m/%Y} đã qua; chọn hôm nay ({today:%d/%m/%Y}) hoặc một ngày sau.",
                field=field,
            )
        if day > today + timedelta(days=MAX_AHEAD_DAYS):
            raise Invalid(f"{what} {day:%d/%m/%Y} xa quá một năm; hãy đặt gần hơn.", field=field)

    # --- writing (the caller republishes the communes under the area)
    def set_rule(
        self,
        actor: Actor,
        *,
        area: str,
        kind: str,
        effective_from: Any,
        windows: Any,
        check: SizeCheck | None = None,
    ) -> dict[str, Any]:
        """The windows of `area` for `kind` from `effective_from` on (replaces a rule of the same date).
        `check` (the publisher's size check) may refuse the result before it is committed."""
        self._require_edit(actor, area)
        if kind not in KINDS:
            raise Invalid("Loại thiết bị là 'radio' (đài truyền thanh) hoặc 'led' (bảng tin).", field="kind")
        day = self._date(effective_from, "effective_from")
        self._future(day, "effective_from", "Ngày áp dụng")
        labels = check_windows(windows)
        with self.ctx.tx(actor) as sess:
            before_table = self.table(sess)
            row = sess.scalar(
                select(WindowRuleRow).where(
                    WindowRuleRow.area_path == area,
                    WindowRuleRow.kind == kind,
                    WindowRuleRow.effective_from == day.isoformat(),
                )
            )
            before = list(row.windows) if row is not None else None
            if row is None:
                row = WindowRuleRow(
                    area_path=area,
                    kind=kind,
                    effective_from=day.isoformat(),
                    windows=list(labels),
                    updated_at=self.ctx.now(),
                )
                sess.add(row)
            row.windows, row.updated_by, row.updated_at = list(labels), actor.user_id, self.ctx.now()
            sess.flush()
            if check is not None:
                check(sess, area, (kind,), before_table)
            out = _rule_dict(_rule(row))
            self.ctx.audit(
                sess,
                actor,
                "windows.set",
                area,
                detail={
                    "kind": kind,
                    "effective_from": day.isoformat(),
                    "windows": list(labels),
                    "before": before,
                },
            )
            self.ctx.intend(sess, "republish", {"areas": [area], "kinds": [kind]})
        return out

    def delete_rule(self, actor: Actor, rule_id: int, check: SizeCheck | None = None) -> dict[str, Any]:
        """Remove a rule: the level above (or the regulation's default) applies again, which may be longer."""
        with self.ctx.tx(actor) as sess:
            row = sess.get(WindowRuleRow, rule_id)
            if row is None:
                raise NotFound(f"Không có quy định khung giờ số {rule_id}.", field="id")
            self._require_edit(actor, row.area_path)
            out = _rule_dict(_rule(row))
            before_table = self.table(sess)
            sess.delete(row)
            if check is not None:
                check(sess, row.area_path, (row.kind,), before_table, removal=True)
            self.ctx.audit(sess, actor, "windows.delete", row.area_path, detail=out)
            self.ctx.intend(sess, "republish", {"areas": [row.area_path], "kinds": [row.kind]})
        return out

    def add_occasion(
        self,
        actor: Actor,
        *,
        area: str,
        name: str,
        date_from: Any,
        date_to: Any,
        windows: Any,
        check: SizeCheck | None = None,
    ) -> dict[str, Any]:
        """Extra LED hours for `area` from `date_from` to `date_to` (both included)."""
        self._require_edit(actor, area)
        name = (name or "").strip() if isinstance(name, str) else ""
        if not name:
            raise Invalid("Ghi tên dịp, ví dụ 'Tết Nguyên đán' hoặc 'Ngày bầu cử'.", field="name")
        if len(name) > 200:
            raise Invalid("Tên dịp dài quá 200 ký tự.", field="name")
        start = self._date(date_from, "date_from")
        end = self._date(date_to, "date_to")
        if end < start:
            raise Invalid(
                f"Ngày kết thúc {end:%d/%m/%Y} trước ngày bắt đầu {start:%d/%m/%Y}.", field="date_to"
            )
        self._future(end, "date_to", "Ngày kết thúc")
        self._future(max(start, self.ctx.local_now().date()), "date_from", "Ngày bắt đầu")
        if (end - start).days + 1 > MAX_OCCASION_DAYS:
            raise Invalid(
                f"Một dịp kéo dài tối đa {MAX_OCCASION_DAYS} ngày (đã nhập {(end - start).days + 1}).",
                field="date_to",
            )
        labels = check_windows(windows)
        with self.ctx.tx(actor) as sess:
            before_table = self.table(sess)
            row = OccasionWindowRow(
                area_path=area,
                name=name,
                date_from=start.isoformat(),
                date_to=end.isoformat(),
                windows=list(labels),
                created_by=actor.user_id,
                created_at=self.ctx.now(),
            )
            sess.add(row)
            sess.flush()
            if check is not None:
                check(sess, area, ("led",), before_table)
            out = _occasion_dict(_occasion(row))
            self.ctx.audit(sess, actor, "windows.occasion", area, detail=out)
            self.ctx.intend(sess, "republish", {"areas": [area], "kinds": ["led"]})
        return out

    def delete_occasion(
        self, actor: Actor, occasion_id: int, check: SizeCheck | None = None
    ) -> dict[str, Any]:
        """Remove an occasion's LED hours (fewer windows; still checked: the engine places bulletins anew)."""
        with self.ctx.tx(actor) as sess:
            row = sess.get(OccasionWindowRow, occasion_id)
            if row is None:
                raise NotFound(f"Không có dịp số {occasion_id}.", field="id")
            self._require_edit(actor, row.area_path)
            out = _occasion_dict(_occasion(row))
            before_table = self.table(sess)
            sess.delete(row)
            if check is not None:
                check(sess, row.area_path, ("led",), before_table, removal=True)
            self.ctx.audit(sess, actor, "windows.occasion_delete", row.area_path, detail=out)
            self.ctx.intend(sess, "republish", {"areas": [row.area_path], "kinds": ["led"]})
        return out


def window_table(sess: Session) -> WindowTable:
    """Every rule and occasion, indexed (the programmes and the statistics' roll-ups read it)."""
    rules = [_rule(r) for r in sess.scalars(select(WindowRuleRow))]
    occasions = [_occasion(o) for o in sess.scalars(select(OccasionWindowRow))]
    return WindowTable(rules, occasions)


def _rule(r: WindowRuleRow) -> WindowRule:
    return WindowRule(r.area_path, r.kind, date.fromisoformat(r.effective_from), tuple(r.windows), r.id)


def _occasion(o: OccasionWindowRow) -> Occasion:
    return Occasion(
        o.area_path,
        o.name,
        date.fromisoformat(o.date_from),
        date.fromisoformat(o.date_to),
        tuple(o.windows),
        o.id,
    )


def _rule_dict(r: WindowRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "area": r.area,
        "kind": r.kind,
        "effective_from": r.effective_from.isoformat(),
        "windows": list(r.windows),
    }


def _occasion_dict(o: Occasion) -> dict[str, Any]:
    return {
        "id": o.id,
        "area": o.area,
        "name": o.name,
        "date_from": o.date_from.isoformat(),
        "date_to": o.date_to.isoformat(),
        "windows": list(o.windows),
        "kind": "led",
    }
