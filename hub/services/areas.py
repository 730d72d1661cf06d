"""The area tree (data, not code: 3-tier province/district/commune or 2-tier province/commune)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import Invalid, NotFound
from hub.models import Area
from hub.roles import Actor
from hub.services.base import Context, require
from protocol.topics import covers, validate_area_path

LEVELS = ("province", "district", "commune")


class AreaService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._cache: dict[str, Area] | None = None

    # --- cache: the tree is small (a province has ~100-1,000 communes) and changes rarely.
    def all(self) -> dict[str, Area]:
        if self._cache is None:
            with self.ctx.db.session() as sess:
                rows = sess.scalars(select(Area)).all()
                for r in rows:
                    sess.expunge(r)
            self._cache = {a.path: a for a in rows}
        return self._cache

    def invalidate(self) -> None:
        self._cache = None

    def get(self, path: str, *, field: str = "area") -> Area:
        area = self.all().get(path)
        if area is None:
            raise Invalid(
                f"Không có khu vực '{path}' trong danh mục địa bàn.", field=field, code="unknown_area"
            )
        return area

    def leaves(self) -> list[str]:
        areas = self.all()
        parents = {a.parent_path for a in areas.values() if a.parent_path}
        return sorted(p for p in areas if p not in parents)

    def is_leaf(self, path: str) -> bool:
        return not any(a.parent_path == path for a in self.all().values())

    def leaves_under(self, targets: Iterable[str]) -> list[str]:
        """Communes (leaf areas) covered by any of the targets."""
        tlist = list(targets)
        return [leaf for leaf in self.leaves() if any(covers(t, leaf) for t in tlist)]

    def tree(self, root: str | None = None) -> list[dict[str, Any]]:
        areas = self.all()
        children: dict[str | None, list[Area]] = {}
        for a in areas.values():
            children.setdefault(a.parent_path, []).append(a)

        def node(a: Area) -> dict[str, Any]:
            kids = sorted(children.get(a.path, []), key=lambda x: x.code)
            return {
                "path": a.path,
                "code": a.code,
                "name": a.name,
                "level": a.level,
                "children": [node(k) for k in kids],
            }

        roots = (
            [areas[root]] if root and root in areas else sorted(children.get(None, []), key=lambda x: x.code)
        )
        return [node(r) for r in roots]

    def import_tree(self, data: Any, actor: Actor) -> int:
        """Insert or update areas from a JSON tree {code, name, level, children[]} (or a list of them)."""
        require(actor, "area.manage")
        nodes = data if isinstance(data, list) else [data]
        count = 0
        with self.ctx.tx(actor) as sess:
            for n in nodes:
                count += self._import_node(sess, n, None, 0)
            self.ctx.audit(sess, actor, "areas.import", detail={"count": count})
        self.invalidate()
        return count

    def _import_node(self, sess: Session, node: Any, parent: str | None, depth: int) -> int:
        if not isinstance(node, dict) or "code" not in node or "name" not in node:
            raise Invalid(
                "Mỗi khu vực cần có 'code' và 'name' (và 'children' nếu có cấp dưới).", field="areas"
            )
        level = node.get("level") or ("province" if depth == 0 else "commune")
        if level not in LEVELS:
            raise Invalid(f"Cấp '{level}' không hợp lệ; dùng một trong {', '.join(LEVELS)}.", field="level")
        path = f"{parent}/{node['code']}" if parent else str(node["code"])
        try:
            validate_area_path(path)
        except ValueError as exc:
            raise Invalid(str(exc), field="code") from None
        row = sess.get(Area, path)
        if row is None:
            sess.add(
                Area(
                    path=path,
                    code=str(node["code"]),
                    name=str(node["name"]),
                    level=level,
                    parent_path=parent,
                    depth=depth,
                )
            )
            sess.flush()
        else:
            row.name, row.level = str(node["name"]), level
        return 1 + sum(self._import_node(sess, c, path, depth + 1) for c in node.get("children") or [])

    def not_found(self, path: str) -> NotFound:
        return NotFound(f"Không có khu vực '{path}'.", field="area")
