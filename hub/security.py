"""Passwords (argon2id, policy), random secrets and their hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hub.errors import Invalid

MIN_PASSWORD_LEN = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# A hash of a random password, used to spend the same time when the username is unknown.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def check_password_policy(password: str, username: str) -> None:
    """No short, single-class or username-like passwords (DOMAIN.md: no short or default passwords)."""
    if len(password) < MIN_PASSWORD_LEN:
        raise Invalid(
            f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LEN} ký tự.", field="password", code="weak_password"
        )
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    if sum(classes) < 2:
        raise Invalid(
            "Mật khẩu phải kết hợp ít nhất hai loại ký tự (chữ thường, chữ hoa, chữ số, ký hiệu).",
            field="password",
            code="weak_password",
        )
    if username and username.lower() in password.lower():
        raise Invalid("Mật khẩu không được chứa tên đăng nhập.", field="password", code="weak_password")
    if len(set(password)) < 5:
        raise Invalid("Mật khẩu quá đơn giản (lặp lại ít ký tự).", field="password", code="weak_password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


def random_password(length: int = 20) -> str:
    """A random password that satisfies the policy."""
    alphabet = string.ascii_letters + string.digits + "-_.!@#"
    while True:
        pw = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.islower() for c in pw) and any(c.isupper() for c in pw) and any(c.isdigit() for c in pw):
            return pw


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
