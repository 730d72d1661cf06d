"""Passwords (argon2id, policy), random secrets and their hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # zxcvbn ships no type hints (no stubs exist)

from hub.errors import Invalid
from hub.workers import hashing

MIN_PASSWORD_LEN = 12
MIN_PASSWORD_SCORE = 3  # zxcvbn: 0 too guessable ... 4 very unguessable; 3 = "safely unguessable"
_ESTIMATOR_MAX = 72  # zxcvbn's own limit; a longer password is judged on its first 72 characters
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

# A hash of a random password, used to spend the same time when the username is unknown.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

# Words an attacker of this system tries first (zxcvbn's dictionaries are English): the system's and the
# country's names, "password" in Vietnamese.
SITE_WORDS = (
    "nguon", "thongtinnguon", "httt", "matkhau", "mat-khau", "quantri", "admin", "hethong", "truyenthanh",
    "loa", "vietnam", "hanoi", "saigon", "hochiminh", "ubnd", "xa", "tinh", "huyen", "daknong", "lamdong",
)  # fmt: skip

_PATTERN_VI = {
    "dictionary": "chứa từ hoặc mật khẩu phổ biến",
    "spatial": "có dãy phím liền nhau",
    "repeat": "lặp lại ký tự hoặc cụm ký tự",
    "sequence": "có dãy ký tự liên tiếp",
    "date": "chứa ngày tháng hoặc năm dễ đoán",
    "regex": "chứa năm hoặc mẫu dễ đoán",
}
_ADVICE = (
    "Hãy dùng ít nhất 12 ký tự, ghép ba bốn từ ít gặp không liên quan đến nhau (có thể thêm số, ký hiệu), "
    "không dùng tên đăng nhập, họ tên hay ngày sinh."
)


def folded(text: str) -> str:
    """Lower case without Vietnamese diacritics or separators: 'Nguyễn Văn Ân' -> 'nguyenvanan'."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in text if c.isalnum() and not unicodedata.combining(c))


def check_password_policy(password: str, username: str, full_name: str = "") -> None:
    """Refuse short, common and guessable passwords, saying why in Vietnamese (the province's security
    rules: no short or default passwords). The strength is zxcvbn's estimate, given the account's own
    names as known words."""
    weak = "weak_password"
    if len(password) < MIN_PASSWORD_LEN:
        raise Invalid(
            f"Mật khẩu phải có ít nhất {MIN_PASSWORD_LEN} ký tự. {_ADVICE}", field="password", code=weak
        )
    folded_password = folded(password)
    # the whole username or name, or one part of a name long enough not to turn up by chance ('Thành')
    names = [username, full_name, *(part for part in full_name.split() if len(folded(part)) >= 4)]
    for name in names:
        if len(folded(name)) >= 3 and folded(name) in folded_password:
            raise Invalid(
                f"Mật khẩu không được chứa tên đăng nhập hoặc họ tên ('{name}'). {_ADVICE}",
                field="password",
                code=weak,
            )
    result = zxcvbn(password[:_ESTIMATOR_MAX], user_inputs=[*SITE_WORDS, *(n for n in names if n)])
    if result["score"] >= MIN_PASSWORD_SCORE:
        _check_mix(password)
        return
    matches = [m for m in result["sequence"] if m["pattern"] in _PATTERN_VI]
    if matches:
        worst = max(matches, key=lambda m: len(m["token"]))
        token = worst["token"] if len(worst["token"]) <= 24 else worst["token"][:24] + "…"
        why = f"{_PATTERN_VI[worst['pattern']]} ('{token}')"
    else:
        why = "quá ngắn hoặc quá đơn giản"
    raise Invalid(f"Mật khẩu quá dễ đoán: {why}. {_ADVICE}", field="password", code=weak)


def _check_mix(password: str) -> None:
    """The hub's older rule, kept: two kinds of character and some variety."""
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
    if len(set(password)) < 5:
        raise Invalid("Mật khẩu quá đơn giản (lặp lại ít ký tự).", field="password", code="weak_password")


def hash_password(password: str) -> str:
    """On the hashing threads (hub/workers.py): bounded, and below the publisher's priority."""
    return hashing.submit(_hasher.hash, password).result()


def _verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def verify_password(stored_hash: str | None, password: str) -> bool:
    """On the hashing threads, like hash_password (the caller is a worker thread, never the loop)."""
    return hashing.submit(_verify, stored_hash, password).result()


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
