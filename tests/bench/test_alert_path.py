"""bench/alert_path.py: every agent stores the emergency and caches its attached audio; one JSON line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "alert_path.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_five_agents_store_and_cache_the_alert_and_print_one_json_line() -> None:
    out = run("--agents", "5", "--audio-kb", "20", "--profile")
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert out.returncode == 0 and len(lines) == 1, out.stderr[-2000:]
    result = json.loads(lines[0])
    assert result["agents"] == result["emergency_stored"] == result["audio_cached"] == 5
    assert result["wire_kb"] > 20 * 4 / 3  # the audio rides base64-encoded beside the envelope
    assert 0 < result["handle_ms_per_agent_cpu"] < 1000
    assert any("verify" in ln for ln in result["profile_top"]), result["profile_top"]


def test_bad_arguments_are_refused_with_a_message() -> None:
    out = run("--audio-kb", "0")
    assert out.returncode == 2 and "--audio-kb must be from 1 to 512" in out.stderr
