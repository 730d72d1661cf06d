"""A reorganisation plan (merge, split, move, rename, retire) read and worked out against the area tree.

Pure: takes the plan as parsed data and the areas as plain values, returns where every old area goes
(`Mapping`) or raises `Invalid` saying what to fix. `hub/services/reorganise.py` applies it in one
transaction. The plan's format is in docs/OPERATIONS.md ("Applying a reorganisation").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hub.errors import Invalid
from hub.services.areas import PARENT_LEVELS, UNIT_TYPES
from protocol.topics import validate_area_path

CHANGES = ("merge", "split", "move", "rename", "retire")
PLAN_KEYS = frozenset({"name", "effective", "assign", *CHANGES})
NEW_UNIT_KEYS = frozenset({"code", "name", "parent", "type", "level"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_STEPS = 5000  # a province has at most ~1,000 communes; a plan is about as long


@dataclass(frozen=True)
class Unit:
    """An area as the plan sees it (before or after)."""

    path: str
    code: str
    name: str
    level: str
    unit_type: str
    parent: str | None


@dataclass(frozen=True)
class Step:
    """What became of one old area: `new` is empty when it was retired, several paths when split."""

    change: str
    old: str
    new: tuple[str, ...]


@dataclass
class Mapping:
    """The worked-out plan: the tree after it, and where each old area (and so what refers to it) goes."""

    name: str
    effective: str
    after: dict[str, Unit]
    steps: dict[str, Step]
    devices: dict[str, str] = field(default_factory=dict)  # device id -> new path given by the plan
    accounts: dict[str, str] = field(default_factory=dict)  # username -> new path given by the plan

    def follow(self, old: str) -> tuple[str, ...]:
        """Where what pointed at `old` points now: itself when untouched, () when it no longer exists."""
        step = self.steps.get(old)
        return (old,) if step is None else step.new

    def targets_of(self, old: str, before: dict[str, Unit]) -> tuple[str, ...]:
        """For what covers an area (a bulletin's target, a district's windows): a retired parent's reach
        passes to the communes it had, wherever they went."""
        new = self.follow(old)
        if new or self.steps[old].change != "retire":
            return new
        out: list[str] = []
        for p, u in before.items():
            if u.level == "commune" and p.startswith(old + "/"):
                out += [n for n in self.follow(p) if n not in out]
        return tuple(out)


def _err(message: str, where: str) -> Invalid:
    return Invalid(message, field=where, code="bad_plan")


def _str(value: Any, where: str, what: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value).strip() == "":
        raise _err(f"{where}: cần {what}.", where)
    return str(value).strip()


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _err(f"'{where}' là một danh sách ([[{where}]] trong TOML, [...] trong JSON).", where)
    return value


class _Resolver:
    def __init__(self, before: dict[str, Unit]) -> None:
        self.before = before
        self.by_code: dict[str, list[str]] = {}
        for p, u in before.items():
            self.by_code.setdefault(u.code, []).append(p)

    def old(self, ref: Any, where: str) -> str:
        """An area of the tree before the plan, by path ('67/660/24613') or by its code alone ('24613')."""
        text = _str(ref, where, "mã hoặc đường dẫn của một khu vực")
        if "/" in text:
            if text not in self.before:
                raise _err(f"{where}: không có khu vực '{text}'.", where)
            return text
        found = self.by_code.get(text, [])
        if not found:
            raise _err(f"{where}: không có khu vực mã '{text}'.", where)
        if len(found) > 1:
            raise _err(f"{where}: mã '{text}' trùng ở {', '.join(found)}; ghi đường dẫn đầy đủ.", where)
        return found[0]


def _effective(value: Any) -> str:
    text = _str(value, "effective", "ngày có hiệu lực YYYY-MM-DD (ví dụ 2025-07-01)")
    if not _DATE.match(text):
        raise _err("effective: ngày có hiệu lực viết YYYY-MM-DD, ví dụ 2025-07-01.", "effective")
    return text


def work_out(plan: Any, before: dict[str, Unit]) -> Mapping:  # noqa: PLR0912, PLR0915 - one pass per change kind
    """Check `plan` against the tree `before` and work out the tree after it (raises Invalid)."""
    if not isinstance(plan, dict):
        raise _err("Phương án là một bảng (TOML) hoặc đối tượng (JSON).", "plan")
    unknown = sorted(set(plan) - PLAN_KEYS)
    if unknown:
        raise _err(f"Khoá không biết: {', '.join(unknown)}; dùng {', '.join(sorted(PLAN_KEYS))}.", unknown[0])
    name = _str(plan.get("name"), "name", "tên phương án (ví dụ số nghị quyết)")[:64]
    effective = _effective(plan.get("effective"))
    if sum(len(_list(plan.get(c), c)) for c in CHANGES) > MAX_STEPS:
        raise _err(f"Phương án quá dài (tối đa {MAX_STEPS} bước).", "plan")
    res = _Resolver(before)
    after: dict[str, Unit] = dict(before)
    steps: dict[str, Step] = {}

    def claim(old: str, where: str) -> None:
        if old in steps:
            raise _err(f"{where}: khu vực {old} đã có trong một bước khác của phương án.", where)

    def parent_after(ref: Any, where: str) -> Unit:
        p = res.old(ref, where)
        step = steps.get(p)
        if step is not None and step.change != "rename":
            raise _err(f"{where}: cấp trên {p} cũng bị gộp, chia, chuyển hay giải thể trong phương án.",
                       where)
        return after[p]

    def new_unit(spec: Any, where: str, level: str) -> Unit:
        if not isinstance(spec, dict):
            raise _err(f"{where}: đơn vị mới là {{code, name, parent, type}}.", where)
        extra = sorted(set(spec) - NEW_UNIT_KEYS)
        if extra:
            raise _err(f"{where}: khoá không biết {', '.join(extra)}.", where)
        code = _str(spec.get("code"), f"{where}.code", "mã đơn vị mới")
        uname = _str(spec.get("name"), f"{where}.name", "tên đơn vị mới")[:200]
        lvl = str(spec.get("level") or level)
        parent = parent_after(spec.get("parent"), f"{where}.parent")
        if parent.level not in (PARENT_LEVELS.get(lvl) or ()):
            raise _err(f"{where}: đơn vị cấp {lvl} không thể nằm dưới {parent.name} (cấp {parent.level}).",
                       where)
        utype = str(spec.get("type") or "")
        if utype and utype not in UNIT_TYPES[lvl]:
            raise _err(f"{where}: loại '{utype}' không hợp cấp {lvl} ({', '.join(UNIT_TYPES[lvl])}).", where)
        path = f"{parent.path}/{code}"
        try:
            validate_area_path(path)
        except ValueError as exc:
            raise _err(f"{where}: {exc}", where) from None
        return Unit(path, code, uname, lvl, utype, parent.path)

    def place(unit: Unit, sources: tuple[str, ...], where: str) -> None:
        taken = after.get(unit.path)
        if taken is not None and unit.path not in sources:
            raise _err(f"{where}: {unit.path} ({taken.name}) đã có; chọn mã khác hoặc gộp cả nó vào.", where)
        after[unit.path] = unit

    def commune(ref: Any, where: str) -> str:
        p = res.old(ref, where)
        claim(p, where)
        if before[p].level != "commune":
            raise _err(
                f"{where}: {before[p].name} là cấp {before[p].level}; chỉ gộp/chia cấp xã. Với một huyện: "
                "chuyển (move) các xã của nó rồi giải thể (retire) nó.",
                where,
            )
        return p

    for i, m in enumerate(_list(plan.get("merge"), "merge")):
        where = f"merge[{i}]"
        if not isinstance(m, dict) or set(m) - {"from", "into"}:
            raise _err(f"{where}: một lần gộp là {{from = [mã...], into = {{code, name, parent, type}}}}.",
                       where)
        sources = tuple(commune(r, f"{where}.from") for r in _list(m.get("from"), f"{where}.from"))
        if len(sources) < 2:
            raise _err(f"{where}.from: gộp cần ít nhất hai xã.", where)
        for s in sources:  # the sources leave the tree first: the target may take one's place
            after.pop(s)
        target = new_unit(m.get("into"), f"{where}.into", "commune")
        place(target, sources, where)
        for s in sources:
            steps[s] = Step("merge", s, (target.path,))
    for i, m in enumerate(_list(plan.get("split"), "split")):
        where = f"split[{i}]"
        if not isinstance(m, dict) or set(m) - {"area", "into"}:
            raise _err(f"{where}: một lần chia là {{area = mã, into = [{{code, name, parent, type}}, ...]}}.",
                       where)
        src = commune(m.get("area"), f"{where}.area")
        after.pop(src)
        specs = _list(m.get("into"), where)
        parts = [new_unit(u, f"{where}.into[{j}]", "commune") for j, u in enumerate(specs)]
        if len(parts) < 2:
            raise _err(f"{where}.into: chia cần ít nhất hai đơn vị mới.", where)
        for u in parts:
            place(u, (src,), where)
        steps[src] = Step("split", src, tuple(u.path for u in parts))
    for i, m in enumerate(_list(plan.get("move"), "move")):
        where = f"move[{i}]"
        if not isinstance(m, dict) or set(m) - {"area", "to"}:
            raise _err(f"{where}: một lần chuyển là {{area = mã, to = mã cấp trên mới}}.", where)
        src = res.old(m.get("area"), f"{where}.area")
        claim(src, where)
        parent = parent_after(m.get("to"), f"{where}.to")
        unit = before[src]
        if parent.level not in (PARENT_LEVELS.get(unit.level) or ()):
            raise _err(f"{where}: {unit.name} (cấp {unit.level}) không thể nằm dưới {parent.name}.", where)
        moved = [p for p in before if p == src or p.startswith(src + "/")]
        new_root = f"{parent.path}/{unit.code}"
        for p in sorted(moved, key=len):
            claim(p, where)
            after.pop(p, None)
        for p in sorted(moved, key=len):
            u = before[p]
            np = new_root + p[len(src) :]
            up = parent.path if p == src else np.rsplit("/", 1)[0]
            place(Unit(np, u.code, u.name, u.level, u.unit_type, up), tuple(moved), where)
            steps[p] = Step("move", p, (np,))
    for i, m in enumerate(_list(plan.get("rename"), "rename")):
        where = f"rename[{i}]"
        if not isinstance(m, dict) or set(m) - {"area", "name", "type"}:
            raise _err(f"{where}: một lần đổi tên là {{area = mã, name = tên mới, type = loại}}.", where)
        src = res.old(m.get("area"), f"{where}.area")
        claim(src, where)
        u = after[src]
        utype = str(m.get("type") or u.unit_type)
        if utype and utype not in UNIT_TYPES[u.level]:
            raise _err(f"{where}: loại '{utype}' không hợp cấp {u.level}.", where)
        after[src] = Unit(u.path, u.code, _str(m.get("name"), f"{where}.name", "tên mới")[:200], u.level,
                          utype, u.parent)
        steps[src] = Step("rename", src, (src,))
    for i, ref in enumerate(_list(plan.get("retire"), "retire")):
        where = f"retire[{i}]"
        src = res.old(ref.get("area") if isinstance(ref, dict) else ref, where)
        claim(src, where)
        left = sorted(p for p, u in after.items() if u.parent == src)
        if left:
            raise _err(
                f"{where}: {before[src].name} còn đơn vị cấp dưới: {', '.join(left)}; chuyển (move) hoặc gộp "
                "chúng trước khi giải thể.",
                where,
            )
        after.pop(src)
        steps[src] = Step("retire", src, ())
    if not steps:
        raise _err("Phương án không có bước nào (merge, split, move, rename, retire).", "plan")
    for u in after.values():  # steps in an order that leaves a unit under one that is gone or moved
        if u.parent is not None and u.parent not in after:
            raise _err(f"{u.name} ({u.path}) nằm dưới {u.parent}, không còn sau sắp xếp.", "plan")
    mapping = Mapping(name, effective, after, steps)
    assign = plan.get("assign") or {}
    if not isinstance(assign, dict) or set(assign) - {"devices", "accounts"}:
        raise _err("assign là {devices = {mã thiết bị = khu vực}, accounts = {tài khoản = khu vực}}.",
                   "assign")
    for what, out in (("devices", mapping.devices), ("accounts", mapping.accounts)):
        given = assign.get(what) or {}
        if not isinstance(given, dict):
            raise _err(f"assign.{what} là một bảng tên = khu vực mới.", f"assign.{what}")
        for key, ref in given.items():
            out[str(key)] = _new_ref(ref, mapping, f"assign.{what}.{key}")
    return mapping


def _new_ref(ref: Any, mapping: Mapping, where: str) -> str:
    """An area of the tree after the plan, by path or by code."""
    text = _str(ref, where, "mã hoặc đường dẫn của một khu vực sau sắp xếp")
    if "/" in text or text in mapping.after:
        if text not in mapping.after:
            raise _err(f"{where}: không có khu vực '{text}' sau sắp xếp.", where)
        return text
    found = [p for p, u in mapping.after.items() if u.code == text]
    if len(found) != 1:
        raise _err(f"{where}: mã '{text}' không chỉ đúng một khu vực sau sắp xếp ({len(found)}).", where)
    return found[0]
