"""Canonical JSON: the exact bytes that are signed."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(obj: Any, *, refuse_floats: bool = True) -> bytes:
    """Sorted keys, UTF-8, no insignificant whitespace; floats are refused (use ints or strings).
    refuse_floats=False is for re-encoding what was received, to check a signature: the bytes either match
    what the hub signed or not, and the hub never signs a float (walking the tree costs every message)."""
    if refuse_floats:
        _reject_floats(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _reject_floats(obj: Any) -> None:
    # Floats have more than one textual form across languages; a signature over them is fragile.
    if isinstance(obj, float):
        raise TypeError("canonical JSON does not carry floats; use integers (e.g. milliseconds) or strings")
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON keys must be strings, got {type(key).__name__}")
            _reject_floats(value)
    elif isinstance(obj, list | tuple):
        for value in obj:
            _reject_floats(value)
