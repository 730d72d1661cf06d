"""Signed envelopes (docs/PROTOCOL.md, "Envelope").

Wire form (UTF-8 JSON): {"envelope": {v, type, id, seq, issued_at, expires_at, key_id, body}, "sig": b64}
and, optionally, "attachments": {sha256 hex: base64 bytes}. The signature is Ed25519 over
canonical_json(envelope). Attachments are NOT signed: each is the content of a file the signed body names
by its sha256 (an emergency's audio, so devices need not download it), and is trusted only once its own
bytes hash to that name (check_attachment); one that does not is ignored, never the message with it.

A receiver drops anything that is malformed, oversized, unsigned, signed by an unknown key, badly signed,
expired, replayed (seq not above the last accepted on that stream), or misaddressed: the signed `audience`
lists the topics the hub published the message on, and a message that arrives on any other topic (a genuine
alert for one commune re-published on another's topic, a command for one device on another's) is dropped
(check_audience). `EnvelopeError.reason` says which, so it can be counted and reported.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from protocol.canonical import canonical_json

try:  # SIMD base64 (the agent extra installs it): an alert's audio decodes in µs, not a fifth of a ms
    import pybase64 as _b64
except ImportError:  # pragma: no cover - the standard library is strict too, only slower
    _b64 = None  # type: ignore[assignment]
try:  # parses an alert with its audio 5x faster; only to read (the signed bytes are canonical_json's).
    # Its JSONDecodeError is json's, and it refuses what the hub never sends (NaN, ints over 64 bits).
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - the standard library gives the same objects, only slower
    _loads = json.loads  # type: ignore[assignment]
from protocol.clock import parse_time, to_iso
from protocol.keys import key_id_for

ENVELOPE_VERSION = 1
# The largest message an agent accepts (wire bytes: envelope, signature and attachments). The hub checks
# every alert and programme against it before it approves anything (hub.services.publishing).
MAX_MESSAGE_BYTES = 1_048_576
MESSAGE_TYPES = ("programme", "alert", "command", "recall", "live")

REJECT_REASONS = (
    "malformed",
    "oversized",
    "unsigned",
    "unknown_key",
    "bad_signature",
    "expired",
    "replayed",
    "misaddressed",
)


class EnvelopeError(ValueError):
    """A message that must be dropped; `reason` is one of REJECT_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Envelope:
    type: str
    id: str
    seq: int
    issued_at: datetime
    expires_at: datetime | None
    key_id: str
    body: Mapping[str, Any] = field(default_factory=dict)
    v: int = ENVELOPE_VERSION
    # the topics the hub published this message on (signed). Empty only in a message of a hub that
    # predates it, which an agent refuses (check_audience): without it a message can be moved between topics.
    audience: tuple[str, ...] = ()
    # unsigned, outside the envelope: sha256 hex -> base64 (see the module docstring and check_attachment)
    attachments: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "type": self.type,
            "id": self.id,
            "seq": self.seq,
            "issued_at": to_iso(self.issued_at),
            "expires_at": to_iso(self.expires_at) if self.expires_at else None,
            "key_id": self.key_id,
            "body": dict(self.body),
            **({"audience": list(self.audience)} if self.audience else {}),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        if not isinstance(data, dict):
            raise EnvelopeError("malformed", "envelope is not a JSON object")
        try:
            v, typ, mid, seq = data["v"], data["type"], data["id"], data["seq"]
            issued, expires, key_id, body = (
                data["issued_at"],
                data["expires_at"],
                data["key_id"],
                data["body"],
            )
        except KeyError as exc:
            raise EnvelopeError("malformed", f"envelope lacks field {exc.args[0]!r}") from None
        if v != ENVELOPE_VERSION:
            raise EnvelopeError("malformed", f"envelope version {v!r} is not {ENVELOPE_VERSION}")
        if typ not in MESSAGE_TYPES:
            raise EnvelopeError("malformed", f"unknown message type {typ!r}")
        if not isinstance(mid, str) or not mid:
            raise EnvelopeError("malformed", "id must be a non-empty string")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise EnvelopeError("malformed", "seq must be a non-negative integer")
        if not isinstance(key_id, str) or not isinstance(body, dict):
            raise EnvelopeError("malformed", "key_id must be a string and body an object")
        try:
            issued_at = parse_time(issued)
            expires_at = parse_time(expires) if expires is not None else None
        except (ValueError, AttributeError) as exc:
            raise EnvelopeError("malformed", str(exc)) from None
        audience = data.get("audience", [])
        if not isinstance(audience, list) or not all(isinstance(t, str) and t for t in audience):
            raise EnvelopeError("malformed", "audience must be a list of topics")
        return cls(typ, mid, seq, issued_at, expires_at, key_id, body, v, tuple(audience))


class Signer:
    """Signs envelopes with the hub's key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.key_id = key_id_for(private_key.public_key())

    def sign(
        self,
        *,
        type: str,
        id: str,
        seq: int,
        issued_at: datetime,
        expires_at: datetime | None,
        body: Mapping[str, Any],
        audience: Iterable[str],
        attachments: Iterable[bytes] = (),
    ) -> bytes:
        """`audience`: every topic this message will be published on (an agent refuses it on any other)."""
        topics = tuple(audience)
        if not topics:
            raise ValueError("a message needs its audience: the topics it is published on")
        files = encode_attachments(attachments)
        env = Envelope(
            type, id, seq, issued_at, expires_at, self.key_id, body, attachments=files, audience=topics
        )
        return self.sign_envelope(env)

    def sign_envelope(self, env: Envelope) -> bytes:
        if env.key_id != self.key_id:
            raise ValueError("envelope key_id does not match the signing key")
        payload = env.to_dict()
        sig = self._key.sign(canonical_json(payload))
        outer: dict[str, Any] = {"envelope": payload, "sig": base64.b64encode(sig).decode("ascii")}
        if env.attachments:
            outer["attachments"] = dict(env.attachments)
        return canonical_json(outer)


def encode_attachments(files: Iterable[bytes]) -> dict[str, str]:
    """{sha256 hex: base64} of each file, as a Signer sends them along."""
    return {hashlib.sha256(data).hexdigest(): base64.b64encode(data).decode("ascii") for data in files}


def _b64decode_strict(text: str) -> bytes:
    """Standard base64 with padding, nothing else allowed (binascii.Error otherwise)."""
    if _b64 is not None:
        return _b64.b64decode(text, validate=True)
    return binascii.a2b_base64(text, strict_mode=True)


def check_attachment(env: Envelope, sha256: str, size: int) -> bytes | None:
    """The attached file named `sha256` (by the signed body), or None when there is none or it is not exactly
    those bytes: bad base64, another size or another hash. The caller then fetches the file as usual."""
    text = env.attachments.get(sha256)
    if text is None:
        return None
    try:
        data = _b64decode_strict(text)
    except (binascii.Error, ValueError):
        return None
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
        return None
    return data


class Verifier:
    """Checks wire bytes against the hub's public key(s) and the clock; stateless (see SeqTracker)."""

    def __init__(
        self,
        keys: Mapping[str, Ed25519PublicKey] | list[Ed25519PublicKey],
        *,
        max_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        if isinstance(keys, list):
            keys = {key_id_for(k): k for k in keys}
        if not keys:
            raise ValueError("a Verifier needs at least one hub public key")
        self._keys = dict(keys)
        self.max_bytes = max_bytes

    def verify(self, wire: bytes, *, now: datetime) -> Envelope:
        if len(wire) > self.max_bytes:
            raise EnvelopeError("oversized", f"{len(wire)} bytes is over the limit of {self.max_bytes}")
        try:
            outer = _loads(wire)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EnvelopeError("malformed", f"not JSON: {exc}") from None
        if not isinstance(outer, dict) or "envelope" not in outer:
            raise EnvelopeError("malformed", "message has no envelope")
        sig_b64 = outer.get("sig")
        if not sig_b64:
            raise EnvelopeError("unsigned", "message carries no signature")
        env = Envelope.from_dict(outer["envelope"])
        key = self._keys.get(env.key_id)
        if key is None:
            raise EnvelopeError(
                "unknown_key", f"signed with key {env.key_id!r}, which this device does not trust"
            )
        try:
            sig = base64.b64decode(str(sig_b64), validate=True)
            key.verify(sig, canonical_json(outer["envelope"], refuse_floats=False))
        except (InvalidSignature, binascii.Error, ValueError, TypeError):
            raise EnvelopeError("bad_signature", "signature does not match the content") from None
        if env.expires_at is not None and env.expires_at <= now:
            raise EnvelopeError("expired", f"expired at {to_iso(env.expires_at)}")
        att = outer.get("attachments")
        if isinstance(att, dict) and att:  # unsigned: kept only as {str: str}, checked by hash when used
            clean = {k: v for k, v in att.items() if isinstance(k, str) and isinstance(v, str)}
            env = dataclasses.replace(env, attachments=clean)
        return env


def check_audience(env: Envelope, topic: str) -> None:
    """Refuse (`misaddressed`) a message that arrived on a topic its signed audience does not name.

    The caller only hands in topics it subscribed to (its own areas, its own device), so a message that
    passes was published for this device. Together with the seq per topic this also stops a replay moved
    between topics: a message is accepted at most once on each topic it was sent to."""
    if not env.audience:
        raise EnvelopeError(
            "misaddressed", "message names no audience (a hub older than this agent?): it could be a replay"
        )
    if topic not in env.audience:
        shown = ", ".join(env.audience[:3]) + (", ..." if len(env.audience) > 3 else "")
        raise EnvelopeError("misaddressed", f"published for {shown}, not for {topic}")


class SeqTracker:
    """Last accepted seq per stream (topic). The agent persists `.state` in its store."""

    def __init__(self, state: Mapping[str, int] | None = None) -> None:
        self.state: dict[str, int] = dict(state or {})

    def check(self, stream: str, env: Envelope) -> None:
        last = self.state.get(stream)
        if last is not None and env.seq <= last:
            raise EnvelopeError("replayed", f"seq {env.seq} is not above {last} already accepted on {stream}")

    def accept(self, stream: str, env: Envelope) -> None:
        self.check(stream, env)
        self.state[stream] = env.seq
