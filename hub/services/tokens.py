"""Listening tokens for the province's stream server (live sessions: live.py; relay mounts: relays.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime


class LiveTokens:
    """Listening tokens: `<expiry unix time>.<HMAC of session and expiry>`, under a key of this process (a
    hub restart ends every session anyway) unless given one (relays keep theirs on disk: relays.py)."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _mac(self, session_id: str, exp: int) -> str:
        return hmac.new(self._key, f"{session_id}|{exp}".encode(), hashlib.sha256).hexdigest()[:40]

    def make(self, session_id: str, expires: datetime) -> str:
        exp = int(expires.timestamp())
        return f"{exp}.{self._mac(session_id, exp)}"

    def check(self, session_id: str, token: str, now: datetime) -> str:
        """Why `token` does not open `session_id` now ("" when it does)."""
        exp_text, _, mac = token.partition(".")
        if not exp_text.isdigit() or len(exp_text) > 12:
            return "malformed token"
        if not hmac.compare_digest(mac, self._mac(session_id, int(exp_text))):
            return "bad token"
        if int(exp_text) <= now.timestamp():
            return "token expired"
        return ""
