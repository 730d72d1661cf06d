"""One line of a `check` command's report (`python -m hub check`, `python -m edge_agent check`), so an
operator and a technician read the same format: [ OK ] / [LỖI] / [ -- ] label: what to look at."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    ok: bool | None  # None: for information
    label: str
    detail: str

    def render(self) -> str:
        mark = "[ OK ]" if self.ok else "[LỖI]" if self.ok is False else "[ -- ]"
        return f"{mark} {self.label}: {self.detail}"


def report(head: str, lines: Sequence[Line]) -> tuple[str, bool]:
    """The printable report and whether every check passed (information lines never fail)."""
    ok = all(line.ok is not False for line in lines)
    tail = "Tất cả đều ổn." if ok else "Có mục cần xử lý (đánh dấu [LỖI])."
    return "\n".join([head, *(x.render() for x in lines), tail]), ok
