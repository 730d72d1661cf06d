"""A list of MQTT brokers as the hub's and the agents' configs write it: `["host:port", ...]` (two brokers,
docs/OPERATIONS.md), or the older single `host` and `port`, which stay valid."""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_BROKERS = 8
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")  # a name or an IPv4 address


def parse_broker(text: str) -> tuple[str, int]:
    """"host:port" ("[fd00::5]:1883" for IPv6) -> (host, port); ValueError saying what to write instead."""
    example = 'write each broker as "host:port", e.g. "10.67.0.5:8883" or "[fd00::5]:8883"'
    if not isinstance(text, str) or not text.strip() or len(text) > 300:
        raise ValueError(f"broker {str(text)[:80]!r}: {example}")
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"broker {text!r} has no port: {example}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not re.fullmatch(r"[0-9A-Fa-f:.]+", host) or ":" not in host:
            raise ValueError(f"broker {text!r}: {host!r} is not an IPv6 address")
    elif not _HOST.match(host):
        raise ValueError(f"broker {text!r}: {host!r} is not a host name or IP address ({example})")
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"broker {text!r}: port {port_text!r} must be a number from 1 to 65535")
    return host, int(port_text)


def broker_list(brokers: Sequence[str], host: str, port: int) -> tuple[tuple[str, int], ...]:
    """The brokers to use, in order of preference: `brokers` when given (checked: each one, no repeats,
    at most MAX_BROKERS), else the single (host, port)."""
    if not brokers:
        return ((host, port),)
    if len(brokers) > MAX_BROKERS:
        raise ValueError(f"{len(brokers)} brokers: at most {MAX_BROKERS}")
    out = tuple(parse_broker(b) for b in brokers)
    seen: set[tuple[str, int]] = set()
    for b, parsed in zip(brokers, out, strict=True):
        if parsed in seen:
            raise ValueError(f"broker {b!r} is listed twice")
        seen.add(parsed)
    return out


def broker_name(host: str, port: int) -> str:
    """How a broker is named in logs and /healthz: "host:port"."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
