"""bench/web_load.py: 50 browsers logging in and loading pages next to an emergency's approval.

The target (issue 18) is less than 100 ms added to the approve-to-alert time. On the shared 2-core machine
of the suite the idle time itself moves by 50-150 ms from run to run (docs/PERFORMANCE.md), so this test
holds the bound that catches the fault the change removed (pages and argon2id on the event loop made an
approval under the same load wait up to 55 s): under 400 ms added at the median, under 2 s at the worst.
tests/web/conftest.py checks, on every page test, that no page does database work or hashing on the loop."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADDED_P50_MAX_MS = 400
LOADED_MAX_MS = 2000


@pytest.mark.slow
def test_fifty_browsers_do_not_hold_up_an_emergencys_approve_to_alert() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "web_load.py"), "--clients", "50", "--approvals", "5"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert out.returncode == 0 and len(lines) == 1, out.stderr[-3000:]
    r = json.loads(lines[0])
    assert r["rounds"] >= 50 and r["login_failures"] == r["page_failures"] == 0, r  # the load was there
    assert r["added_ms_p50"] < ADDED_P50_MAX_MS and r["loaded_ms_max"] < LOADED_MAX_MS, r


def test_bad_arguments_are_refused_with_a_message() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "web_load.py"), "--clients", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 2 and "--clients must be from 1 to 500" in out.stderr
