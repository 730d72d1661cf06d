"""bench/fanout_light.py end to end with 20 light sessions: every session gets every alert, one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(120)
def test_fanout_light_20_sessions_hub_and_broker_reach_everyone() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fanout_light.py"), "--sessions", "20", "--workers", "2",
         "--rounds", "1"],
        capture_output=True, text=True, timeout=110, cwd=ROOT, check=False,
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0 and len(lines) == 1, (out.stdout, out.stderr[-2000:])
    result = json.loads(lines[0])
    assert result["hub"]["n"] == result["broker_alone"]["n"] == 20  # each session, each alert, once
    assert 0 < result["broker_alone"]["p50_ms"] <= result["broker_alone"]["p99_ms"]
    assert 0 < result["hub"]["p50_ms"] <= result["hub"]["p99_ms"]
    assert result["alert_bytes"] > 10_000, "the alert carries its audio (Opus)"
    assert result["fd_limit"] >= 20 + 4096


def test_bad_arguments_are_refused_with_a_message() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fanout_light.py"), "--sessions", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert out.returncode == 2 and "--sessions must be from 1 to 50000" in out.stderr
