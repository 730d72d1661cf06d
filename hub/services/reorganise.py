"""Applying a reorganisation (`python -m hub areas reorganise PLAN`, `POST /api/v1/areas/reorganise`).

One transaction: the new areas, everything that refers to an area following it (devices, accounts,
bulletins' targets, chairs' orders and choices, standing rules, windows, occasions, published programme
versions), the old areas removed, and one `area_lineage` row per step. History (plays, audit) keeps the
old paths and is read per old or per new unit through the lineage. A plan that would leave a device, an
account or a live bulletin without an area is refused with the list; any error changes nothing. A dry run
does all of it and rolls back, so it shows exactly what applying would do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import Conflict, Invalid
from hub.models import (
    Area,
    AreaLineage,
    Base,
    Bulletin,
    BulletinTarget,
    Device,
    NormalChoice,
    OccasionWindowRow,
    ProgrammeChoice,
    PublishedProgramme,
    RelayRow,
    StandingChoice,
    User,
    WindowRuleRow,
)
from hub.roles import Actor
from hub.services.areas import AreaService
from hub.services.base import Context, require
from hub.services.languages import carried
from hub.services.reorg_plan import Mapping, Unit, work_out
from protocol.vocabulary import DEVICE_KINDS, BulletinStatus

# bulletins that may still reach a loudspeaker: they must keep at least one target
LIVE = frozenset({
    BulletinStatus.DRAFT, BulletinStatus.SUBMITTED, BulletinStatus.IN_REVIEW, BulletinStatus.APPROVED,
    BulletinStatus.ON_AIR,
})

# tables whose rows belong to one area: (model, columns that are unique with area_path, what wins a clash)
FOLLOWERS: tuple[tuple[type[Base], tuple[str, ...], str], ...] = (
    (ProgrammeChoice, ("date", "kind"), "updated_at"),
    (NormalChoice, ("bulletin_id", "kind", "date"), "decided_at"),
    (StandingChoice, ("origin", "kind"), "set_at"),
    (WindowRuleRow, ("kind", "effective_from"), "updated_at"),
    (OccasionWindowRow, ("id",), "created_at"),
    (PublishedProgramme, ("kind",), "version"),  # a device never goes back to a lower programme version
)


@dataclass
class Outcome:
    """What a plan changes (or changed): printed by the CLI, returned by the API."""

    plan: str
    effective: str
    dry_run: bool
    changes: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, str]] = field(default_factory=list)
    accounts: list[dict[str, str]] = field(default_factory=list)
    bulletins: list[str] = field(default_factory=list)
    rows_followed: dict[str, int] = field(default_factory=dict)
    communes_before: list[str] = field(default_factory=list)  # communes that no longer exist
    communes_after: list[str] = field(default_factory=list)  # communes created or moved by the plan

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "effective": self.effective,
            "dry_run": self.dry_run,
            "changes": self.changes,
            "devices": self.devices,
            "accounts": self.accounts,
            "bulletins": self.bulletins,
            "rows_followed": self.rows_followed,
            "communes_gone": self.communes_before,
            "communes_new": self.communes_after,
        }


class _DryRun(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("dry run")
        self.outcome = outcome


def _units(sess: Session) -> dict[str, Unit]:
    return {
        a.path: Unit(a.path, a.code, a.name, a.level, a.unit_type, a.parent_path)
        for a in sess.scalars(select(Area))
    }


class ReorganiseService:
    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx, self.areas = ctx, areas

    def run(self, actor: Actor, plan: Any, *, dry_run: bool) -> Outcome:
        """Work the plan out and apply it in one transaction, or roll it back (dry run, or any error)."""
        require(actor, "area.manage")
        try:
            with self.ctx.tx(actor) as sess:
                name = str(plan.get("name") or "")[:64] if isinstance(plan, dict) else ""
                if name and sess.scalar(select(AreaLineage.id).where(AreaLineage.plan == name).limit(1)):
                    raise Conflict(f"Phương án '{name}' đã được áp dụng.", field="name")
                before = _units(sess)
                mapping = work_out(plan, before)
                out = Outcome(mapping.name, mapping.effective, dry_run)
                self._apply(sess, mapping, before, out)
                self.ctx.audit(
                    sess, actor, "areas.reorganise", mapping.name,
                    detail={"effective": mapping.effective, "steps": len(mapping.steps),
                            "devices": len(out.devices), "accounts": len(out.accounts)},
                )
                if dry_run:
                    raise _DryRun(out)
                self.ctx.intend(sess, "republish", {"areas": None, "kinds": list(DEVICE_KINDS)})
                self.ctx.intend(sess, "areas", {"devices": [d["id"] for d in out.devices]})
        except _DryRun as stop:
            return stop.outcome
        finally:
            self.areas.invalidate()
        return out

    def _apply(self, sess: Session, m: Mapping, before: dict[str, Unit], out: Outcome) -> None:
        orphans: list[str] = []
        devices = self._devices(sess, m, before, out, orphans)
        self._accounts(sess, m, out, orphans)
        targets = self._targets(sess, m, before, out, orphans)
        if orphans:
            raise Invalid(
                "Phương án bỏ lại những thứ không còn khu vực; thêm vào [assign] (thiết bị, tài khoản) hoặc "
                "sửa phương án:\n- " + "\n- ".join(orphans),
                field="assign",
                code="would_orphan",
                extra={"orphans": orphans},
            )
        self._write(sess, m, before, devices=devices, targets=targets, out=out)

    def _write(
        self,
        sess: Session,
        m: Mapping,
        before: dict[str, Unit],
        *,
        devices: dict[str, str],
        targets: dict[tuple[str, str], tuple[str, ...]],
        out: Outcome,
    ) -> None:
        """The worked-out plan, in the order the foreign keys need: new areas, references, old areas."""
        now = self.ctx.now()
        for path in sorted(set(m.after) - set(before), key=lambda p: p.count("/")):  # parents first
            u = m.after[path]
            sess.add(Area(path=u.path, code=u.code, name=u.name, level=u.level, unit_type=u.unit_type,
                          parent_path=u.parent, depth=u.path.count("/")))
        for path in set(m.after) & set(before):
            row = sess.get(Area, path)
            assert row is not None
            row.name, row.unit_type = m.after[path].name, m.after[path].unit_type
        sess.flush()
        self._languages(sess, m, before)
        sess.flush()
        for dev_id, new in devices.items():
            d = sess.get(Device, dev_id)
            assert d is not None
            d.area_path = new
        for acc in out.accounts:
            u = sess.scalar(select(User).where(User.username == acc["username"]))
            assert u is not None
            u.area_path = acc["new"]
        by_bulletin: dict[str, dict[str, tuple[str, ...]]] = {}
        for (bid, old), news in targets.items():
            by_bulletin.setdefault(bid, {})[old] = news
        for bid, moved in by_bulletin.items():
            b = sess.get(Bulletin, bid)
            assert b is not None
            keep = [t for t in b.target_paths if t not in moved]
            for t in list(b.targets):
                if t.area_path in moved:
                    b.targets.remove(t)
            for new in dict.fromkeys(n for news in moved.values() for n in news):
                if new not in keep:
                    b.targets.append(BulletinTarget(bulletin_id=bid, area_path=new))
                    keep.append(new)
        sess.flush()
        for model, unique, stamp in FOLLOWERS:
            out.rows_followed[str(model.__tablename__)] = _follow(
                sess, model, unique=unique, stamp=stamp, m=m, before=before
            )
        out.rows_followed["relays"] = _follow_relays(sess, m, before)
        self._finish(sess, m, before, out, now)

    def _languages(self, sess: Session, m: Mapping, before: dict[str, Unit]) -> None:
        """Decree 49/2024: a unit made or grown by the plan keeps, as its own list, every local language its
        old units used (hub/services/languages.py, `carried`); one only renamed keeps its row and list."""
        into: dict[str, list[str]] = {}
        for step in m.steps.values():
            for new in step.new:
                into.setdefault(new, []).append(step.old)
        for new, olds in into.items():
            row = sess.get(Area, new)
            if row is not None and olds != [new]:
                row.languages = carried(self.areas.all(), [*([new] if new in before else []), *olds])

    @staticmethod
    def _finish(sess: Session, m: Mapping, before: dict[str, Unit], out: Outcome, now: datetime) -> None:
        """The old areas go (children first), each step gets its lineage row."""
        gone = set(before) - set(m.after)
        for depth in sorted({p.count("/") for p in gone}, reverse=True):  # children first, a level at a time
            for path in sorted(p for p in gone if p.count("/") == depth):
                row = sess.get(Area, path)
                assert row is not None
                sess.delete(row)
            sess.flush()
        for step in m.steps.values():
            old = before[step.old]
            for new in step.new or (None,):
                sess.add(AreaLineage(
                    plan=m.name, change=step.change, old_path=step.old, old_name=old.name, new_path=new,
                    new_name=m.after[new].name if new else "", effective=m.effective, applied_at=now,
                ))
            out.changes.append({
                "change": step.change, "old": step.old, "old_name": old.name, "new": list(step.new),
                "new_names": [m.after[n].name for n in step.new],
            })
        leaves_before = {p for p, u in before.items() if u.level == "commune"}
        leaves_after = {p for p, u in m.after.items() if u.level == "commune"}
        out.communes_before = sorted(leaves_before - leaves_after)
        out.communes_after = sorted(leaves_after - leaves_before)

    def _devices(
        self, sess: Session, m: Mapping, before: dict[str, Unit], out: Outcome, orphans: list[str]
    ) -> dict[str, str]:
        moves: dict[str, str] = {}
        parents = {u.parent for u in m.after.values()}
        for d in sess.scalars(select(Device).order_by(Device.id)):
            new = m.devices.get(d.id)
            if new is None:
                follow = m.follow(d.area_path)
                if len(follow) != 1:
                    why = "bị chia: ghi nó sang xã nào" if follow else "bị giải thể"
                    orphans.append(f"thiết bị {d.id} ở {before[d.area_path].name} ({d.area_path}) {why}")
                    continue
                new = follow[0]
            if m.after[new].level != "commune" or new in parents:
                orphans.append(f"thiết bị {d.id}: {new} không phải cấp xã")
                continue
            if new != d.area_path:
                moves[d.id] = new
                out.devices.append({"id": d.id, "old": d.area_path, "new": new})
        unknown = sorted(set(m.devices) - {d for d in sess.scalars(select(Device.id))})
        orphans += [f"[assign.devices] không có thiết bị '{d}'" for d in unknown]
        return moves

    def _accounts(self, sess: Session, m: Mapping, out: Outcome, orphans: list[str]) -> None:
        users = {u.username: u for u in sess.scalars(select(User).order_by(User.username))}
        for name, u in users.items():
            if u.area_path is None:
                continue
            new = m.accounts.get(name)
            if new is None:
                follow = m.follow(u.area_path)
                if len(follow) != 1:
                    state = " (đã khoá)" if u.disabled else ""
                    orphans.append(
                        f"tài khoản {name}{state} ({u.role}) ở {u.area_path} "
                        f"{'bị chia' if follow else 'bị giải thể'}: ghi nó sang khu vực nào"
                    )
                    continue
                new = follow[0]
            if new != u.area_path:
                out.accounts.append({"username": name, "old": u.area_path, "new": new})
        missing = sorted(set(m.accounts) - set(users))
        orphans += [f"[assign.accounts] không có tài khoản '{a}'" for a in missing]

    def _targets(
        self, sess: Session, m: Mapping, before: dict[str, Unit], out: Outcome, orphans: list[str]
    ) -> dict[tuple[str, str], tuple[str, ...]]:
        changed = [p for p, s in m.steps.items() if s.new != (p,)]
        rows = sess.execute(
            select(BulletinTarget.bulletin_id, BulletinTarget.area_path).where(
                BulletinTarget.area_path.in_(changed)
            )
        ).all()
        moves = {(bid, old): m.targets_of(old, before) for bid, old in rows}
        for bid in sorted({bid for bid, _ in moves}):
            b = sess.get(Bulletin, bid)
            assert b is not None
            left = {t for t in b.target_paths if (bid, t) not in moves}
            left |= {n for (b2, _), news in moves.items() if b2 == bid for n in news}
            if not left and b.status in LIVE:
                orphans.append(f"bản tin {bid} ({b.title[:60]}) chỉ gửi đến khu vực bị giải thể")
            out.bulletins.append(bid)
        return moves


def _follow_relays(sess: Session, m: Mapping, before: dict[str, Unit]) -> int:
    """Relays (tiếp sóng) keep reaching the same loudspeakers: each of their areas that changed becomes where
    it went (a retired district: its former communes). A relay left with no area is deleted."""
    changed = {p for p, s in m.steps.items() if s.new != (p,)}
    n = 0
    for r in list(sess.scalars(select(RelayRow))):
        if not changed.intersection(r.areas):
            continue
        areas: list[str] = []
        for a in r.areas:
            areas += [p for p in (m.targets_of(a, before) if a in changed else (a,)) if p not in areas]
        if areas:
            r.areas = areas
        else:
            sess.delete(r)
        n += 1
    return n


def _follow(
    sess: Session,
    model: type[Base],
    *,
    unique: tuple[str, ...],
    stamp: str,
    m: Mapping,
    before: dict[str, Unit],
) -> int:
    """Move `model`'s rows of changed areas to where their area went (copied to every part of a split, to
    every former commune of a retired district); on a clash with a row already there the newer wins, and
    one handed down from a retired district loses to the commune's own."""
    table: Any = model
    changed = [p for p, s in m.steps.items() if s.new != (p,)]
    moving: list[Any] = list(sess.scalars(select(model).where(table.area_path.in_(changed))))
    if not moving:
        return 0
    columns = [c.key for c in model.__table__.columns if c.key != "id"]
    candidates: dict[tuple[Any, ...], tuple[int, Any, dict[str, Any]]] = {}
    for row in moving:
        inherited = m.steps[row.area_path].change == "retire"
        for new in m.targets_of(row.area_path, before):
            values = {c: getattr(row, c) for c in columns} | {"area_path": new}
            key = (new, *(getattr(row, c) for c in unique))
            rank = (0 if inherited else 1, values[stamp])
            best = candidates.get(key)
            if best is None or rank > (best[0], best[1]):
                candidates[key] = (rank[0], rank[1], values)
    for row in moving:
        sess.delete(row)
    sess.flush()
    placed = 0
    for key, (own, stamp_value, values) in candidates.items():
        clash = sess.scalar(select(model).where(
            table.area_path == key[0], *(getattr(table, c) == v for c, v in zip(unique, key[1:], strict=True))
        )) if unique != ("id",) else None
        if clash is not None:
            if not own or getattr(clash, stamp) >= stamp_value:
                continue
            sess.delete(clash)
            sess.flush()
        sess.add(_new(model, values))
        placed += 1
    sess.flush()
    return placed


def _new(model: type[Base], values: dict[str, Any]) -> Base:
    make: Callable[..., Base] = model
    return make(**values)


def lineage(sess: Session, path: str) -> dict[str, list[dict[str, str | None]]]:
    """What `path` came from (its old units) and what it became, following every plan (oldest first)."""

    def row(r: AreaLineage) -> dict[str, str | None]:
        return {"plan": r.plan, "change": r.change, "old": r.old_path, "old_name": r.old_name,
                "new": r.new_path, "new_name": r.new_name, "effective": r.effective}

    came: list[dict[str, str | None]] = []
    frontier, seen = [path], {path}
    while frontier:
        rows = sess.scalars(select(AreaLineage).where(AreaLineage.new_path.in_(frontier))).all()
        frontier = []
        for r in rows:
            if r.old_path != r.new_path:
                came.append(row(r))
            if r.old_path not in seen:
                seen.add(r.old_path)
                frontier.append(r.old_path)
    went: list[dict[str, str | None]] = []
    frontier, seen = [path], {path}
    while frontier:
        rows = sess.scalars(select(AreaLineage).where(AreaLineage.old_path.in_(frontier))).all()
        frontier = []
        for r in rows:
            went.append(row(r))
            if r.new_path and r.new_path not in seen:
                seen.add(r.new_path)
                frontier.append(r.new_path)
    return {"came_from": sorted(came, key=lambda r: str(r["effective"])),
            "became": sorted(went, key=lambda r: str(r["effective"]))}


def old_paths(sess: Session, path: str) -> set[str]:
    """`path` and every old unit that became (part of) it: history of a new unit reads all of them."""
    out = {path}
    for r in lineage(sess, path)["came_from"]:
        out.add(str(r["old"]))
    return out


def successors(sess: Session) -> dict[str, str]:
    """Each old unit that became exactly one unit (merged, moved, renamed), to the unit it is today:
    figures kept under an old path (plays, roll-ups) count for the commune it became."""
    news: dict[str, set[str]] = {}
    for old, new in sess.execute(select(AreaLineage.old_path, AreaLineage.new_path)):
        news.setdefault(old, set()).add(new or "")
    step = {old: next(iter(n)) for old, n in news.items() if len(n) == 1 and "" not in n}
    out: dict[str, str] = {}
    for old, first in step.items():
        seen, cur = {old}, first
        while cur in step and cur not in seen:  # plan after plan: follow to the newest
            seen.add(cur)
            cur = step[cur]
        if cur != old:
            out[old] = cur
    return out
