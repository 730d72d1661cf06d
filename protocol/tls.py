"""TLS for MQTT connections (agents and hub): the broker's certificate is verified, host name included."""

from __future__ import annotations

import ssl
from pathlib import Path


class TlsConfigError(ValueError):
    """The CA file cannot be used; the message names it and says why."""


def client_context(ca_file: str = "") -> ssl.SSLContext:
    """A client context that verifies the broker: against `ca_file` (PEM, e.g. the province's own CA) or,
    when empty, the system's CA store. TLS 1.2 at least; never unverified."""
    if ca_file and not Path(ca_file).is_file():
        raise TlsConfigError(f"mqtt ca_file {ca_file!r} does not exist (a PEM file with the broker's CA)")
    try:
        ctx = ssl.create_default_context(cafile=ca_file or None)
    except ssl.SSLError as exc:
        raise TlsConfigError(f"mqtt ca_file {ca_file!r} is not a PEM CA certificate: {exc}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
