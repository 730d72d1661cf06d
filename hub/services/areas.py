"""The area tree (data, not code: 3-tier province/district/commune or 2-tier province/commune)."""

from __future__ import annotations

import time
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
# where each level may stand: a province at the root, a district under it, a commune under either
PARENT_LEVELS: dict[str, tuple[str | None, ...]] = {
    "province": (None,),
    "district": ("province",),
    "commune": ("province", "district"),
}
# what the people call the units of each level (2024 three-tier and 2025 two-tier maps)
UNIT_TYPES: dict[str, tuple[str, ...]] = {
    "province": ("tỉnh", "thành phố"),
    "district": ("huyện", "quận", "thị xã", "thành phố"),
    "commune": ("xã", "phường", "thị trấn", "đặc khu"),
}


SHARED_CACHE_S = 5.0  # PostgreSQL: the area tree is read again after this long (several hub processes)


class AreaService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._cache: dict[str, Area] | None = None
        self._read_at = 0.0

    # --- cache: the tree is small (a province has ~100-1,000 communes) and changes rarely. On PostgreSQL
    # another hub process may change it (hub roles: a reorganisation through a standby), so the copy is read
    # again after SHARED_CACHE_S; the leader reads it again before it publishes another process's intent.
    def all(self) -> dict[str, Area]:
        stale = self.ctx.db.is_postgres and time.monotonic() - self._read_at > SHARED_CACHE_S
        if self._cache is None or stale:
            self._read_at = time.monotonic()
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
                "type": a.unit_type,
                "children": [node(k) for k in kids],
            }

        roots = (
            [areas[root]] if root and root in areas else sorted(children.get(None, []), key=lambda x: x.code)
        )
        return [node(r) for r in roots]

    def import_tree(self, data: Any, actor: Actor, *, source: str = "") -> int:
        """Insert or update areas from a JSON tree {code, name, level, type?, children[]} (or a list of
        them). Every area says its level: a tree without them is refused whole, nothing written."""
        require(actor, "area.manage")
        nodes = data if isinstance(data, list) else [data]
        count = 0
        with self.ctx.tx(actor) as sess:
            for n in nodes:
                count += self._import_node(sess, n, None, None, 0)
            detail: dict[str, Any] = {"count": count}
            if source:
                detail["source"] = source
            self.ctx.audit(sess, actor, "areas.import", detail=detail)
        self.invalidate()
        return count

    def _import_node(
        self, sess: Session, node: Any, parent: str | None, parent_level: str | None, depth: int
    ) -> int:
        if not isinstance(node, dict) or "code" not in node or "name" not in node:
            raise Invalid(
                "Mỗi khu vực cần có 'code' và 'name' (và 'children' nếu có cấp dưới).", field="areas"
            )
        where = f"{node['name']} (mã {node['code']})"
        level = node.get("level")
        if level is None:
            raise Invalid(
                f"Khu vực {where} thiếu 'level'. Ghi cấp của mỗi khu vực: \"level\": \"province\" (tỉnh, "
                "thành phố), \"district\" (huyện, quận, thị xã — bản đồ ba cấp trước 2025) hoặc "
                "\"commune\" (xã, phường, thị trấn, đặc khu); hoặc nhập danh mục chính thức: "
                "python -m hub areas import --official MÃ_TỈNH.",
                field="level",
                code="level_missing",
            )
        if level not in LEVELS:
            raise Invalid(f"Cấp '{level}' không hợp lệ; dùng một trong {', '.join(LEVELS)}.", field="level")
        allowed = PARENT_LEVELS[level]
        if parent_level not in allowed:
            under = f"dưới cấp {parent_level}" if parent_level else "ở gốc cây"
            raise Invalid(
                f"Khu vực {where} cấp {level} không thể nằm {under}.", field="level", code="level_misplaced"
            )
        unit_type = str(node.get("type") or "")
        if unit_type and unit_type not in UNIT_TYPES[level]:
            raise Invalid(
                f"Loại '{unit_type}' của {where} không hợp với cấp {level}; dùng một trong "
                f"{', '.join(UNIT_TYPES[level])}.",
                field="type",
            )
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
                    unit_type=unit_type,
                    parent_path=parent,
                    depth=depth,
                )
            )
            sess.flush()
        else:
            row.name, row.level, row.unit_type = str(node["name"]), level, unit_type
        children = node.get("children") or []
        return 1 + sum(self._import_node(sess, c, path, level, depth + 1) for c in children)

    def not_found(self, path: str) -> NotFound:
        return NotFound(f"Không có khu vực '{path}'.", field="area")
