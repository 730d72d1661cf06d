"""Signed HTTP requests between the central system and the province (docs/CENTRAL.md, docs/SECURITY.md).

The sender signs, with its Ed25519 key, the line-joined string

    nguon-central-v1 / METHOD / PATH / TIMESTAMP / NONCE / sha256-hex(BODY)

and sends `X-Nguon-Timestamp` (Unix seconds), `X-Nguon-Nonce` (16-64 of A-Z a-z 0-9 _ -) and
`X-Nguon-Signature` (base64). The receiver holds the sender's public key pinned in its config, refuses a
timestamp further than `max_skew_s` from its clock and a nonce it saw within that window (a replay).
The same scheme signs the province's reports and CAP alerts going up, with the hub's own key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hub.errors import Unauthorized

SCHEME = "nguon-central-v1"
H_TIMESTAMP = "X-Nguon-Timestamp"
H_NONCE = "X-Nguon-Nonce"
H_SIGNATURE = "X-Nguon-Signature"
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def message(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((SCHEME, method.upper(), path, timestamp, nonce, digest)).encode("utf-8")


def sign_headers(
    key: Ed25519PrivateKey, method: str, path: str, body: bytes, now: datetime, *, nonce: str | None = None
) -> dict[str, str]:
    """The headers that sign this request (the reference central peer and the hub's reports use it)."""
    ts = str(int(now.timestamp()))
    nonce = nonce or secrets.token_urlsafe(24)
    sig = key.sign(message(method, path, ts, nonce, body))
    return {H_TIMESTAMP: ts, H_NONCE: nonce, H_SIGNATURE: base64.b64encode(sig).decode("ascii")}


@dataclass(frozen=True)
class Verified:
    nonce: str
    timestamp: datetime
    key_index: int  # which pinned key signed it


def public_keys(b64_keys: Iterable[str]) -> list[Ed25519PublicKey]:
    return [Ed25519PublicKey.from_public_bytes(base64.b64decode(k)) for k in b64_keys]


def verify(
    keys: list[Ed25519PublicKey],
    headers: Mapping[str, str],
    *,
    method: str,
    path: str,
    body: bytes,
    now: datetime,
    max_skew_s: int,
) -> Verified:
    """Check the signature and the timestamp (401 with code unsigned | bad_signature | stale). The nonce's
    uniqueness is the caller's (it needs the database)."""
    ts, nonce, sig64 = headers.get(H_TIMESTAMP), headers.get(H_NONCE), headers.get(H_SIGNATURE)
    if not (ts and nonce and sig64):
        missing = [h for h, v in ((H_TIMESTAMP, ts), (H_NONCE, nonce), (H_SIGNATURE, sig64)) if not v]
        raise Unauthorized(
            f"Yêu cầu không có chữ ký của hệ thống Trung ương (thiếu {', '.join(missing)}): bị từ chối.",
            code="unsigned",
        )
    if not ts.isdigit() or len(ts) > 12:
        raise Unauthorized(f"{H_TIMESTAMP} phải là số giây Unix.", code="bad_signature")
    if not NONCE_RE.match(nonce):
        raise Unauthorized(f"{H_NONCE} gồm 16-64 ký tự A-Z a-z 0-9 _ -.", code="bad_signature")
    try:
        sig = base64.b64decode(sig64, validate=True)
    except (binascii.Error, ValueError):
        sig = b""
    msg = message(method, path, ts, nonce, body)
    for i, key in enumerate(keys):
        try:
            key.verify(sig, msg)
        except InvalidSignature:
            continue
        when = datetime.fromtimestamp(int(ts), tz=now.tzinfo)
        skew = abs((now - when).total_seconds())
        if skew > max_skew_s:
            raise Unauthorized(
                f"Yêu cầu ký lúc {when.isoformat()}, lệch {int(skew)} giây so với đồng hồ của hệ thống tỉnh "
                f"(cho phép {max_skew_s} giây): có thể là yêu cầu cũ gửi lại; bị từ chối.",
                code="stale",
            )
        return Verified(nonce=nonce, timestamp=when, key_index=i)
    raise Unauthorized(
        "Chữ ký không khớp khóa công khai của hệ thống Trung ương đã đăng ký (sai khóa, hoặc nội dung đã bị "
        "sửa): bị từ chối.",
        code="bad_signature",
    )
