"""hardware.display: the command-driven panel driver and the simulated twin."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from hardware.display import CommandDisplayPanel, SimDisplayPanel, make_display_panel
from protocol.clock import FrozenClock

from .helpers import local


def test_command_panel_runs_the_configured_commands(tmp_path: Path) -> None:
    out = tmp_path / "calls.txt"
    panel = CommandDisplayPanel(
        power_on=["sh", "-c", f"echo on >> {out}"],
        power_off=["sh", "-c", f"echo off >> {out}"],
        brightness=["sh", "-c", f"echo bright {{percent}} >> {out}"],
    )
    panel.set_power(True)
    panel.set_brightness(35)
    panel.set_power(False)
    assert out.read_text().split("\n")[:3] == ["on", "bright 35", "off"]
    with pytest.raises(ValueError, match="0-100"):
        panel.set_brightness(140)


def test_command_panel_says_once_what_it_cannot_do(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    panel = CommandDisplayPanel(brightness=["false"])
    with caplog.at_level(logging.WARNING, logger="hardware.display"):
        panel.set_power(True)
        panel.set_power(False)
        panel.set_brightness(50)  # a failing command is logged, not raised: the board keeps running
    messages = [r.getMessage() for r in caplog.records]
    assert sum("power control is not configured" in m for m in messages) == 1
    assert any("brightness command" in m and "failed" in m for m in messages)


def test_sim_panel_records_to_display_jsonl(tmp_path: Path) -> None:
    panel = SimDisplayPanel(tmp_path, clock=FrozenClock(local("17:00")))
    panel.set_power(True)
    panel.set_brightness(70)
    panel.record_frame({"mode": "slide", "bulletin_id": "t1"})
    shot = panel.save_screenshot(b"\x89PNG fake", "slide-t1")
    lines = [json.loads(x) for x in (tmp_path / "display.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [x["action"] for x in lines] == ["power", "brightness", "frame", "screenshot"]
    assert lines[0]["at"] == "2026-11-23T17:00:00+07:00"
    assert panel.frames == [{"mode": "slide", "bulletin_id": "t1"}] and shot.read_bytes() == b"\x89PNG fake"
    with pytest.raises(ValueError, match="letters, digits"):
        panel.save_screenshot(b"", "../../etc/x")


def test_make_display_panel(tmp_path: Path) -> None:
    assert isinstance(make_display_panel("sim", tmp_path), SimDisplayPanel)
    assert isinstance(make_display_panel("real", tmp_path), CommandDisplayPanel)
    with pytest.raises(ValueError, match="'sim' or 'real'"):
        make_display_panel("fake", tmp_path)
