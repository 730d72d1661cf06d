"""Trang đầu: each person's work on one page (issue 19) and their notifications.

An editor: their bulletins sent back with the reasons, drafts and those waiting; whoever approves: the
bulletins waiting for approval; a reviewer: the sensitive ones waiting for a sign-off; a commune chair: the
bulletins waiting for a choice and today's programme; an operator: the devices that need attention; an
administrator: accounts and the system's health. Notifications newer than the last visit (a cookie) are
marked new and counted in the menu.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from hub.services.counters import today_start
from hub.services.device_list import DeviceFilter
from hub.services.notices import NOTICE_VI, notice_link
from hub.web.core import SEEN_COOKIE, Req, page, seen_at
from hub.web.devices import _problem_vi

SHOWN = 8  # items of each queue on the start page; the rest behind a link to the full list


def _bulletins(
    req: Req, status: str | tuple[str, ...], *, mine: bool = False, within: bool = False
) -> dict[str, Any]:
    rows, total = req.services.bulletins.search(
        req.actor, status=status, created_by=req.actor.user_id if mine else None, limit=SHOWN, within=within
    )
    return {"rows": rows, "total": total}


def _work(req: Req) -> dict[str, Any]:
    """The start page's queues for this person's role (each: the first rows and the total)."""
    a, s = req.actor, req.services
    work: dict[str, Any] = {}
    if a.may("bulletin.create"):
        work["rejected"] = _bulletins(req, "rejected", mine=True)
        work["drafts"] = _bulletins(req, "draft", mine=True)
        work["waiting_mine"] = _bulletins(req, ("submitted", "in_review"), mine=True)
    if a.may("bulletin.approve"):
        work["to_approve"] = _bulletins(req, "submitted", within=True)  # what they may approve
    if a.may("bulletin.review"):
        work["to_review"] = _bulletins(req, "in_review")
    if a.may("programme.arrange") and a.area_path and s.areas.is_leaf(a.area_path):
        today = s.ctx.local_now().date()
        view = s.programmes.view(a, a.area_path, "radio", today)
        work["chair"] = {"waiting": view["waiting"], "today": view["programme"], "date": today}
    if a.may("device.command") or a.role == "admin":
        counts = s.devices.count_by_area(a).values()  # counted in SQL (hub/services/device_list.py)
        rows, attention = s.devices.page(a, DeviceFilter(state="attention"), per_page=SHOWN)
        tz = s.ctx.tz
        work["devices"] = {
            "total": sum(n for n, _, _ in counts),
            "online": sum(on for _, on, _ in counts),
            "attention": attention,
            "rows": [{**d, "problems_vi": [_problem_vi(p, tz) for p in d["problems"]]} for d in rows],
        }
    if a.may("user.manage"):
        users = s.accounts.list_users(a)
        now = s.ctx.now().isoformat()
        work["accounts"] = {
            "total": len(users),
            "disabled": sum(1 for u in users if u["disabled"]),
            # locked now (a lock that has run out is no work), as the menu's counter (counters.py)
            "locked": sum(
                1 for u in users if u["locked_until"] and u["locked_until"] > now and not u["disabled"]
            ),
        }
        work["broker_files"] = s.broker_sync.problem() if s.broker_sync else None  # hub/broker_sync.py
        work["mail"] = s.mailer.status()  # the e-mail notifications' failures (hub/services/mailer.py)
        work["denied"] = s.audit_search(a, outcome="denied", since=today_start(s.ctx), limit=1)[1]
    return work


@page
def home(req: Req) -> web.StreamResponse:
    notices = req.services.notices.for_actor(req.actor)
    since = seen_at(req)
    work = _work(req)
    names = {p: a.name for p, a in req.services.areas.all().items()}
    resp = req.render(
        "home.html",
        title="Trang đầu",
        work=work,
        notices=[
            {"n": n, "new": since is None or n.at > since, "text": NOTICE_VI[n.kind], "link": notice_link(n)}
            for n in notices
        ],
        new_notices=0,  # seen now
        names=names,
    )
    resp.set_cookie(
        SEEN_COOKIE,
        req.services.ctx.now().isoformat(),
        httponly=True,
        samesite="Strict",
        secure=req.services.ctx.config.cookies_secure,
        path="/",
        max_age=90 * 86400,
    )
    return resp


def install(app: web.Application) -> None:
    app.router.add_get("/", home)
