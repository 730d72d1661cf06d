"""Wire contract between the nguon hub and its edge agents.

Small on purpose: only the standard library and `cryptography`, so a Raspberry Pi can install it
without the hub's server dependencies. See protocol/README.md.
"""

from protocol.canonical import canonical_json
from protocol.clock import Clock, ShiftedClock, SystemClock, parse_time, to_iso
from protocol.envelope import (
    ENVELOPE_VERSION,
    Envelope,
    EnvelopeError,
    SeqTracker,
    Signer,
    Verifier,
    check_audience,
)
from protocol.keys import KeyPair, key_id_for, load_public_key, load_signing_key
from protocol.topics import Topics, ancestors

__all__ = [
    "ENVELOPE_VERSION",
    "Clock",
    "Envelope",
    "EnvelopeError",
    "KeyPair",
    "SeqTracker",
    "ShiftedClock",
    "Signer",
    "SystemClock",
    "Topics",
    "Verifier",
    "ancestors",
    "canonical_json",
    "check_audience",
    "key_id_for",
    "load_public_key",
    "load_signing_key",
    "parse_time",
    "to_iso",
]
