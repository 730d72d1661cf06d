"""The bench's helpers, and the agent/hardware changes it needed (clock check cost, sim record switch)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import fanout

from edge_agent import clocktrust
from edge_agent.clocktrust import ClockTrust
from edge_agent.config import ConfigError, load_settings
from hardware.audio import SimAudioOutput

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def test_province_tree_spreads_communes_over_districts() -> None:
    tree, communes = fanout.province_tree(10, 100)
    assert len(communes) == 100 and len(set(communes)) == 100
    assert len(tree["children"]) == 10 and all(len(d["children"]) == 10 for d in tree["children"])
    assert all(c.startswith(f"{fanout.PROVINCE}/") and c.count("/") == 2 for c in communes)
    devices = fanout.devices_for(communes, 250)
    assert len({d for d, _ in devices}) == 250 and {a for _, a in devices} == set(communes)


def test_percentile_nearest_rank() -> None:
    data = [float(i) for i in range(1, 101)]
    assert fanout.percentile(data, 50) == 50 and fanout.percentile(data, 99) == 99
    assert fanout.percentile([7.0], 99) == 7.0


def test_play_starts_reads_the_sim_output_index(tmp_path: Path) -> None:
    played = tmp_path / "played"
    played.mkdir()
    rows = [
        {"label": "b-1", "started_at": "2026-11-23T04:00:01.500000+00:00"},
        {"label": "b-1", "started_at": "2026-11-23T04:00:00.250000+00:00"},
        {"label": "b-1", "started_at": "2026-11-23T03:00:00+00:00", "error": "cannot decode"},
        {"label": "b-2", "started_at": "2026-11-23T02:00:00+00:00"},
    ]
    (played / "index.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")
    assert fanout.play_starts(tmp_path, "b-1") == T0.timestamp() + 0.25
    assert fanout.play_starts(tmp_path, "b-3") is None
    assert fanout.play_starts(tmp_path / "missing", "b-1") is None


def test_clock_trust_asks_the_os_at_most_once_per_interval() -> None:
    calls: list[int] = []
    t = [100.0]

    def os_check() -> bool:
        calls.append(1)
        return True

    trust = ClockTrust(mode="ntp", now=lambda: T0, os_check=os_check, recheck_s=20, monotonic=lambda: t[0])
    trust.refresh()
    t[0] += 19.9
    trust.refresh()
    assert len(calls) == 1 and trust.state == "synced"
    t[0] += 0.2
    trust.refresh()
    assert len(calls) == 2


def test_os_clock_check_on_a_host_without_timedatectl_spawns_one_process_not_one_per_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1,000 agents in a few processes each re-checking on every status change must not fork 1,000 times.
    if clocktrust._adjtimex_synchronised() is None:
        pytest.skip("adjtimex not available here")
    runs: list[object] = []

    def missing(*a: object, **_k: object) -> None:
        runs.append(a)
        raise FileNotFoundError("timedatectl")

    monkeypatch.setattr(clocktrust, "_timedatectl_usable", True)
    monkeypatch.setattr(subprocess, "run", missing)
    answers = {clocktrust.os_ntp_synchronised() for _ in range(5)}
    assert len(runs) == 1 and answers <= {True, False}


def _tone(path: Path, ms: int = 400) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x10\x20" * (16 * ms))
    return path


async def test_sim_audio_without_recording_plays_and_logs_but_writes_no_wav(tmp_path: Path) -> None:
    out = SimAudioOutput(tmp_path / "played", speed=10.0, now=lambda: T0, record=False)
    result = await asyncio.wait_for(
        out.play(_tone(tmp_path / "a.wav"), offset_ms=0, duration_ms=400, label="b-1"), 5
    )
    assert result.completed and result.played_ms == 400
    task = asyncio.create_task(out.play(tmp_path / "a.wav", offset_ms=0, duration_ms=10_000, label="b-2"))
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    rows = [json.loads(x) for x in (tmp_path / "played" / "index.jsonl").read_text().splitlines()]
    assert [(r["label"], r["completed"], r["file"]) for r in rows] == [
        ("b-1", True, None),
        ("b-2", False, None),
    ]
    assert all(r["started_at"] == T0.isoformat() for r in rows)
    assert not list((tmp_path / "played").glob("*.wav"))


async def test_sim_audio_records_by_default(tmp_path: Path) -> None:
    out = SimAudioOutput(tmp_path / "played", speed=20.0, now=lambda: T0)
    result = await asyncio.wait_for(
        out.play(_tone(tmp_path / "a.wav"), offset_ms=0, duration_ms=400, label="b-1"), 30
    )
    assert result.completed and len(list((tmp_path / "played").glob("*.wav"))) == 1


def test_sim_record_setting_from_file_and_env() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: PLC0415

    from protocol.keys import public_key_b64  # noqa: PLC0415

    raw = {
        "device_id": "loa-1",
        "area": "90/9001/90010001",
        "hub_public_keys": [public_key_b64(Ed25519PrivateKey.generate().public_key())],
    }
    assert load_settings(None, env={}, raw=raw).hardware.sim_record is True
    off = load_settings(None, env={"NGUON_AGENT_HARDWARE__SIM_RECORD": "false"}, raw=raw)
    assert off.hardware.sim_record is False
    with pytest.raises(ConfigError, match="sim_recrod"):
        load_settings(None, env={}, raw={**raw, "hardware": {"sim_recrod": False}})
