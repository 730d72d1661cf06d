"""The one error the engine raises for input it cannot use."""

from __future__ import annotations


class RequestError(ValueError):
    """A bad compile request; the message names the field (and bulletin id) and says what to fix."""
