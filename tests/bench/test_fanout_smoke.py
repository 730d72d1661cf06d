"""bench/fanout.py end to end with ~20 real agents in one worker process: all play, one JSON line."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {
    "agents",
    "played",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "approve_to_publish_ms",
    "agents_per_process",
    "workers",
    "media_ready_p50_ms",
    "media_ready_p99_ms",
    "play_events_at_hub_side",
    "cpu_to_p99_s",
    "attach_kb",
    "machine",
}


@pytest.mark.timeout(120)
def test_fanout_20_agents_all_play_and_print_one_json_line() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "fanout.py"),
            "--agents",
            "20",
            "--workers",
            "1",
            "--communes",
            "10",
            "--districts",
            "2",
            "--play-timeout",
            "40",
            "--sim-speed",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=ROOT,
        check=False,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert len(lines) == 1, f"stdout: {out.stdout!r}\nstderr: {out.stderr[-2000:]}"
    result = json.loads(lines[0])
    assert out.returncode == 0, result
    assert result.keys() >= KEYS
    assert result["agents"] == 20 and result["played"] == 20 and result["play_events_at_hub_side"] == 20
    assert result["agents_per_process"] == 20 and result["workers"] == 1
    # latencies are real measurements: positive, ordered, and the play comes after the alert went out
    assert 0 < result["approve_to_publish_ms"] <= result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert all(math.isfinite(result[k]) for k in ("p50_ms", "p99_ms", "max_ms"))
    assert result["worker_exit_codes"] == [0] and result["hub_exit_code"] == 0
    # the machine's speed at the time, so figures from different hosts can be compared
    assert 0 < result["machine"]["ed25519_verify_us"] < 10_000 and result["machine"]["sha256_64k_us"] > 0


def test_bad_arguments_are_refused_with_a_message() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fanout.py"), "--agents", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 2 and "--agents must be from 1 to 5000" in out.stderr
