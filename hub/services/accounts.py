"""Accounts: users, roles, login with lockout, bearer tokens and browser sessions (with CSRF tokens)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import orm, select

from hub.errors import Conflict, Invalid, Locked, NotFound, Unauthorized
from hub.limits import NAME_MAX, PASSWORD_MAX, USERNAME_MAX, check_len
from hub.models import AuditEntry, AuthToken, User
from hub.roles import ROLES, Actor
from hub.security import (
    check_password_policy,
    hash_password,
    needs_rehash,
    new_secret,
    random_password,
    same,
    secret_hash,
    verify_password,
)
from hub.services.areas import AreaService
from hub.services.base import Context, require
from hub.services.email_address import check_address

SESSION_COOKIE = "nguon_session"


@dataclass(frozen=True)
class Session:
    """A browser session: the cookie value (secret) and its CSRF token."""

    cookie: str
    csrf_token: str
    expires_at: datetime


def user_dict(u: User) -> dict[str, Any]:
    return {
        "id": u.id,
        "username": u.username,
        "role": u.role,
        "area": u.area_path,
        "full_name": u.full_name,
        "disabled": u.disabled,
        "review_group": u.review_group,
        "locked_until": u.locked_until.isoformat() if u.locked_until else None,
        "created_at": u.created_at.isoformat(),
    }


def actor_for(u: User, ip: str = "") -> Actor:
    return Actor(user_id=u.id, username=u.username, role=u.role, area_path=u.area_path, ip=ip)


def _check_login_input(username: str, password: str) -> None:
    """Refuse empty or oversized credentials before anything is looked up, hashed or written."""
    if not username or not password:
        raise Invalid("Cần nhập tên đăng nhập và mật khẩu.", field="username" if not username else "password")
    check_len(username, USERNAME_MAX, "username", "Tên đăng nhập")
    check_len(password, PASSWORD_MAX, "password", "Mật khẩu")


class AccountService:
    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx = ctx
        self.areas = areas

    # --- users
    def create_user(
        self,
        actor: Actor,
        *,
        username: str,
        password: str,
        role: str,
        area: str | None = None,
        full_name: str = "",
    ) -> dict[str, Any]:
        require(actor, "user.manage", username)
        username = (username or "").strip()
        if not username or len(username) > 64 or not all(c.isalnum() or c in "._-" for c in username):
            raise Invalid("Tên đăng nhập gồm chữ, số, '.', '_' hoặc '-' (tối đa 64 ký tự).", field="username")
        check_len(full_name, NAME_MAX, "full_name", "Họ tên")
        if role not in ROLES:
            raise Invalid(f"Vai trò '{role}' không có; dùng một trong: {', '.join(ROLES)}.", field="role")
        if area:
            self.areas.get(area)
            require(actor, "user.manage", username, area=area)
        elif role in ("commune_chair", "commune_editor"):
            raise Invalid("Tài khoản cấp xã cần chỉ định xã (area).", field="area")
        elif actor.area_path is not None:
            area = actor.area_path  # a scoped admin cannot create an unscoped account
        if role in ("commune_chair", "commune_editor") and area and not self.areas.is_leaf(area):
            raise Invalid(f"'{area}' không phải cấp xã; tài khoản cấp xã phải gắn với một xã.", field="area")
        check_password_policy(password, username, full_name)
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            if sess.scalar(select(User).where(User.username == username)):
                raise Conflict(f"Tên đăng nhập '{username}' đã có.", field="username")
            user = User(
                username=username,
                password_hash=hash_password(password),
                role=role,
                area_path=area,
                full_name=full_name,
                disabled=False,
                failed_logins=0,
                created_at=now,
                password_changed_at=now,
            )
            sess.add(user)
            sess.flush()
            self.ctx.audit(sess, actor, "user.create", username, detail={"role": role, "area": area})
            return user_dict(user)

    def list_users(self, actor: Actor) -> list[dict[str, Any]]:
        require(actor, "user.manage")
        with self.ctx.tx(actor) as sess:
            users = sess.scalars(select(User).order_by(User.username)).all()
            return [
                user_dict(u)
                for u in users
                if (u.area_path is None and actor.area_path is None)
                or (u.area_path and actor.covers(u.area_path))
            ]

    def own(self, actor: Actor) -> dict[str, Any]:
        """The caller's own account (Tài khoản): who they are and their e-mail notifications."""
        with self.ctx.db.session() as sess:
            u = self._own(sess, actor)
            return {**user_dict(u), "email": u.email, "email_notices": u.email_notices}

    def set_email(self, actor: Actor, email: str, notices: bool) -> dict[str, Any]:
        """Set one's own address and whether notifications also come by e-mail (hub/services/mailer.py):
        a bad address, or notifications asked without one, is a 422 saying what to write."""
        address = check_address(email)
        if notices and not address:
            raise Invalid("Hãy nhập địa chỉ thư điện tử để nhận thông báo qua thư.", field="email")
        with self.ctx.tx(actor) as sess:
            u = self._own(sess, actor)
            u.email, u.email_notices = address, notices
            self.ctx.audit(sess, actor, "user.email", u.username, detail={"notices": notices})
        return self.own(actor)

    def _own(self, sess: orm.Session, actor: Actor) -> User:
        u = sess.get(User, actor.user_id) if actor.user_id is not None else None
        if u is None:
            raise NotFound("Không có tài khoản của bạn.", field="username")
        return u

    def _get(self, sess: orm.Session, username: str) -> User:
        user = sess.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"Không có tài khoản '{username}'.", field="username")
        return user

    def set_disabled(self, actor: Actor, username: str, disabled: bool = True) -> dict[str, Any]:
        require(actor, "user.manage", username)
        with self.ctx.tx(actor) as sess:
            user = self._get(sess, username)
            if user.area_path:
                require(actor, "user.manage", username, area=user.area_path)
            user.disabled = disabled
            if disabled:  # staff who leave: every open session and token dies with the account
                for tok in sess.scalars(select(AuthToken).where(AuthToken.user_id == user.id)):
                    tok.revoked = True
            self.ctx.audit(sess, actor, "user.disable" if disabled else "user.enable", username)
            return user_dict(user)

    def _review_group(self, user: User, group: str) -> str | None:
        """The group to store ('' = none), or a 422 saying which groups the province configured."""
        if not group:
            return None
        groups = self.ctx.config.review.groups
        if not groups:
            raise Invalid(
                "Tỉnh chưa cấu hình nhóm kiểm duyệt ([review] groups trong tệp cấu hình của hub).",
                field="review_group",
            )
        if group not in groups:
            known = ", ".join(f"{code} ({name})" for code, name in groups.items())
            raise Invalid(
                f"Không có nhóm kiểm duyệt '{group[:40]}'; dùng một trong: {known}.", field="review_group"
            )
        if user.role not in ("reviewer", "admin"):
            raise Invalid(
                f"Tài khoản {user.username} có vai trò {user.role}; "
                "chỉ người kiểm duyệt mới thuộc nhóm kiểm duyệt.",
                field="review_group",
            )
        return group

    def check_review_group(self, actor: Actor, username: str, group: str) -> None:
        """Refuse (403/404/422) before anything else of a request is written."""
        require(actor, "user.manage", username)
        with self.ctx.db.session() as sess:
            self._review_group(self._get(sess, username), group)

    def set_review_group(self, actor: Actor, username: str, group: str) -> dict[str, Any]:
        """Put a reviewer in a reviewer group (e.g. the Department or the Propaganda Board); audited."""
        require(actor, "user.manage", username)
        with self.ctx.tx(actor) as sess:
            user = self._get(sess, username)
            if user.area_path:
                require(actor, "user.manage", username, area=user.area_path)
            before, user.review_group = user.review_group, self._review_group(user, group)
            self.ctx.audit(
                sess, actor, "user.review_group", username, detail={"from": before, "to": user.review_group}
            )
            return user_dict(user)

    def reset_password(self, actor: Actor, username: str, password: str | None = None) -> str:
        """Set a new password (random if none given) and return it; unlocks the account."""
        require(actor, "user.manage", username)
        new = password or random_password()
        with self.ctx.tx(actor) as sess:
            user = self._get(sess, username)
            check_password_policy(new, username, user.full_name)
            if user.area_path:
                require(actor, "user.manage", username, area=user.area_path)
            user.password_hash = hash_password(new)
            user.password_changed_at = self.ctx.now()
            user.failed_logins, user.locked_until = 0, None
            for tok in sess.scalars(select(AuthToken).where(AuthToken.user_id == user.id)):
                tok.revoked = True
            self.ctx.audit(sess, actor, "user.reset_password", username)
        return new

    # --- login
    def _check_credentials(self, username: str, password: str, ip: str) -> User:
        sec = self.ctx.config.security
        now = self.ctx.now()
        anon = Actor(None, username, "viewer", None, ip)
        err: Exception | None = None
        # The failure count and the audit entry must be committed even though the login fails,
        # so the error is raised after the transaction.
        with self.ctx.db.session() as sess:
            # An address that failed too often is refused before anything is checked or written: it can
            # neither guess further nor lock more accounts (nor grow the audit log).
            wait_s = self._address_wait(sess, ip, now)
            if wait_s:
                raise Locked(
                    f"Địa chỉ này đăng nhập sai quá nhiều lần; thử lại sau {wait_s} giây.",
                    code="too_many_failures",
                    extra={"retry_after_s": wait_s},
                )
            user = sess.scalar(select(User).where(User.username == username))
            if (
                user is not None
                and user.locked_until
                and user.locked_until > now
                and not self._known_address(sess, username, ip, now)
            ):
                wait = int((user.locked_until - now).total_seconds()) + 1
                self.ctx.audit(sess, anon, "auth.login", username, outcome="denied", detail={"why": "locked"})
                err = Locked(
                    f"Tài khoản tạm khóa do đăng nhập sai nhiều lần; thử lại sau {wait} giây.",
                    extra={"retry_after_s": wait},
                )
            elif not verify_password(user.password_hash if user else None, password) or user is None:
                if user is not None:
                    user.failed_logins += 1
                    over = user.failed_logins - sec.lockout_after
                    if over >= 0:  # growing back-off: base, 2x, 4x ... capped
                        lock_s = min(sec.lockout_base_s * (2**over), sec.lockout_max_s)
                        user.locked_until = now + timedelta(seconds=lock_s)
                self.ctx.audit(sess, anon, "auth.login", username, outcome="failed")
                err = Unauthorized("Tên đăng nhập hoặc mật khẩu không đúng.", code="bad_credentials")
            elif user.disabled:
                self.ctx.audit(
                    sess, anon, "auth.login", username, outcome="denied", detail={"why": "disabled"}
                )
                err = Unauthorized(
                    "Tài khoản đã bị vô hiệu hóa; liên hệ quản trị hệ thống.", code="account_disabled"
                )
            else:
                if not (user.locked_until and user.locked_until > now):
                    # a lock stays while it runs, even for a known address that got in through it
                    user.failed_logins, user.locked_until = 0, None
                if needs_rehash(user.password_hash):
                    user.password_hash = hash_password(password)
                sess.flush()
                sess.expunge(user)
        if err is not None:
            raise err
        assert user is not None
        return user

    def _address_wait(self, sess: Any, ip: str, now: datetime) -> int:
        """Seconds this address must wait before its next login attempt (0: it may try now)."""
        sec = self.ctx.config.security
        since = now - timedelta(seconds=sec.address_window_s)
        recent = sess.scalars(
            select(AuditEntry.at)
            .where(
                AuditEntry.action == "auth.login",
                AuditEntry.ip == ip,
                AuditEntry.outcome.in_(("failed", "denied")),
                AuditEntry.at > since,
            )
            .order_by(AuditEntry.at.desc())
            .limit(sec.address_failures)
        ).all()
        if len(recent) < sec.address_failures:
            return 0
        # free again when the oldest of the last `address_failures` failures leaves the window
        return max(1, int((recent[-1] + timedelta(seconds=sec.address_window_s) - now).total_seconds()) + 1)

    def _known_address(self, sess: Any, username: str, ip: str, now: datetime) -> bool:
        """Did `username` log in successfully from `ip` recently (then a lock set by others spares it)?"""
        days = self.ctx.config.security.known_address_days
        if not days or not ip:
            return False
        return (
            sess.scalar(
                select(AuditEntry.id)
                .where(
                    AuditEntry.action == "auth.login",
                    AuditEntry.target == username,
                    AuditEntry.ip == ip,
                    AuditEntry.outcome == "ok",
                    AuditEntry.at > now - timedelta(days=days),
                )
                .limit(1)
            )
            is not None
        )

    def _issue(self, user: User, kind: str, ttl_s: int, ip: str) -> tuple[str, str | None, datetime]:
        secret = new_secret()
        csrf = secrets.token_urlsafe(24) if kind == "session" else None
        now = self.ctx.now()
        expires = now + timedelta(seconds=ttl_s)
        with self.ctx.db.session() as sess:
            sess.add(
                AuthToken(
                    token_hash=secret_hash(secret),
                    user_id=user.id,
                    kind=kind,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                    revoked=False,
                    ip=ip,
                )
            )
            self.ctx.audit(sess, actor_for(user, ip), "auth.login", user.username, detail={"kind": kind})
        return secret, csrf, expires

    def login(self, username: str, password: str, *, ip: str = "") -> dict[str, Any]:
        """Check credentials and issue an API bearer token."""
        _check_login_input(username, password)
        user = self._check_credentials(username, password, ip)
        token, _, expires = self._issue(user, "api", self.ctx.config.security.token_ttl_s, ip)
        return {"token": token, "expires_at": expires.isoformat(), "user": user_dict(user)}

    def login_session(self, username: str, password: str, *, ip: str = "") -> Session:
        """Check credentials and open a browser session (cookie + CSRF token)."""
        _check_login_input(username, password)
        user = self._check_credentials(username, password, ip)
        cookie, csrf, expires = self._issue(user, "session", self.ctx.config.security.session_ttl_s, ip)
        assert csrf is not None
        return Session(cookie, csrf, expires)

    def authenticate(self, secret: str, *, kind: str = "api", ip: str = "") -> tuple[Actor, str | None]:
        """The actor behind a bearer token or session cookie, and the session's CSRF token."""
        if not secret:
            raise Unauthorized("Cần đăng nhập (Authorization: Bearer <token>).")
        with self.ctx.db.session() as sess:
            tok = sess.scalar(select(AuthToken).where(AuthToken.token_hash == secret_hash(secret)))
            if tok is None or tok.kind != kind or tok.revoked or tok.expires_at <= self.ctx.now():
                raise Unauthorized(
                    "Phiên đăng nhập không hợp lệ hoặc đã hết hạn; hãy đăng nhập lại.", code="invalid_token"
                )
            if tok.user.disabled:
                raise Unauthorized("Tài khoản đã bị vô hiệu hóa.", code="account_disabled")
            return actor_for(tok.user, ip), tok.csrf_token

    def check_csrf(self, expected: str | None, given: str | None) -> None:
        if not expected or not given or not same(expected, given):
            raise Unauthorized("Mã chống giả mạo (CSRF) không đúng; hãy tải lại trang.", code="csrf")

    def logout(self, secret: str) -> None:
        with self.ctx.db.session() as sess:
            tok = sess.scalar(select(AuthToken).where(AuthToken.token_hash == secret_hash(secret)))
            if tok is not None:
                tok.revoked = True
