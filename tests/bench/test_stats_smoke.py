"""bench/stats.py at a tiny size: it fills, rolls up, answers and prints one JSON line, counts consistent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_tiny_half_year_prints_one_json_line() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "stats.py"), "--devices", "20", "--days", "3", "--plays", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert out.returncode == 0 and len(lines) == 1, out.stderr[-2000:]
    r = json.loads(lines[0])
    assert r["rows"]["plays"] == 20 * 3 * 4  # no emergency in 3 days
    q = r["queries"]
    assert q["province_by_district_half"]["planned"] == r["rows"]["plays"]
    assert q["province_by_district_half"]["devices"] == 20
    assert q["commune_half"]["planned"] == 3 * 4  # one device in that commune
