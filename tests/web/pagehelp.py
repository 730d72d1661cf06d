"""Helpers of the page tests: a bulletin's form as the browser posts it, and writing one as an editor."""

from __future__ import annotations

from sqlalchemy import func, select

from .conftest import WebHub

TEXT = "UBND xã thông báo: từ ngày 25/11, người dân mang theo căn cước khi đến trạm y tế để tiêm vắc-xin."


def count(web: WebHub, model: object, *where: object) -> int:
    with web.s.ctx.db.session() as sess:
        return int(sess.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def bulletin_form(
    title: str = "Thông báo tiêm chủng",
    *,
    priority: str = "priority",
    targets: tuple[str, ...] = ("67/660",),
    action: str = "submit",
    text: str = TEXT,
    plays_per_day: int = 1,
) -> list[tuple[str, str]]:
    return [
        ("title", title),
        ("priority", priority),
        ("form", "text"),
        ("text", text),
        ("kinds", "radio"),
        *[("targets", t) for t in targets],
        ("plays_per_day", str(plays_per_day)),
        ("action", action),
    ]


async def write(web: WebHub, who: str = "editor67", **kw: object) -> str:
    ed = await web.as_user(who)
    r = await ed.post("/bulletins/new", bulletin_form(**kw))  # type: ignore[arg-type]
    assert r.status == 303, await r.text()
    return r.headers["Location"].rsplit("/", 1)[1]

