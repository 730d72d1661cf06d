"""`python -m playlists compile FILE|-` with a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.playlists.helpers import bul, req

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "playlists", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=30, check=False)


def test_compile_file(tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(json.dumps(req(bul("a", duration_s=60), bul("n", "normal"))), encoding="utf-8")
    done = _run(["compile", str(path)])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [p["bulletin_id"] for p in result["programme"]] == ["a"]
    assert result["unscheduled"][0]["reason"] == "not_selected"
    assert "Chủ tịch UBND xã" in done.stdout  # Vietnamese kept readable, not \\u-escaped


def test_compile_stdin() -> None:
    done = _run(["compile", "-"], json.dumps(req(bul("e", "emergency"))))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["emergencies"] == ["e"]


def test_bad_request_exit_2_no_traceback() -> None:
    done = _run(["compile", "-"], json.dumps(req(bul("b7", "urgent"))))
    assert done.returncode == 2
    assert "priority 'urgent'" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_bad_json_and_missing_file(tmp_path: Path) -> None:
    done = _run(["compile", "-"], "{not json")
    assert done.returncode == 2 and "not valid JSON" in done.stderr and "Traceback" not in done.stderr
    done = _run(["compile", str(tmp_path / "nope.json")])
    assert done.returncode == 2 and "cannot read" in done.stderr
