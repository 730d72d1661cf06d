"""Tài khoản: a person's own page, where they give an e-mail address and ask for their notifications by
e-mail too (hub/services/mailer.py; the hub sends them only when [email] is configured)."""

from __future__ import annotations

from aiohttp import web

from hub.errors import Invalid
from hub.web.core import Req, page


def _render(
    req: Req,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, object] | None = None,
    flash: str = "",
) -> web.Response:
    me = req.services.accounts.own(req.actor)
    return req.render(
        "account.html",
        status=status,
        title="Tài khoản của tôi",
        me=me,
        values=values or {"email": me["email"], "email_notices": me["email_notices"]},
        errors=errors or {},
        mail_on=req.services.ctx.config.email.enabled,
        flash=flash,
    )


@page
def account_page(req: Req) -> web.StreamResponse:
    return _render(req)


@page
def save_account(req: Req) -> web.StreamResponse:
    email, notices = req.field("email"), req.field("email_notices") == "1"
    try:
        req.services.accounts.set_email(req.actor, email, notices)
    except Invalid as exc:
        values = {"email": email[:300], "email_notices": notices}
        return _render(req, status=exc.status, errors={exc.field or "email": exc.message}, values=values)
    flash = "Đã lưu. " + (
        "Thông báo sẽ được gửi cả qua thư điện tử." if notices else "Bạn chỉ nhận thông báo trên trang đầu."
    )
    return _render(req, flash=flash)


def install(app: web.Application) -> None:
    app.router.add_get("/account", account_page)
    app.router.add_post("/account", save_account)
