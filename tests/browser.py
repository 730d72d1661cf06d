"""Debian's chromium for browser tests (Playwright drives it; its own browser download cannot work here)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps trying hosts this closed network refuses.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: ./run test installs it (apt-get install chromium)")


async def launch(playwright: Any) -> Any:
    """A headless Debian chromium; fails the test (not skips) if it is missing."""
    require_chromium()
    return await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, timeout=30_000)


def screenshot_dir(scratch: str) -> Path:
    """docs/screenshots only when NGUON_SCREENSHOTS=1, so a test run leaves the tree clean."""
    if os.environ.get("NGUON_SCREENSHOTS") == "1":
        return Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    return Path(tempfile.gettempdir()) / scratch
