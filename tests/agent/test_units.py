"""Pure parts: config validation, repeat schedule, store durability across reopen, clock trust."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.clocktrust import ClockTrust
from edge_agent.config import ConfigError, load_settings
from edge_agent.emergency import next_due_after
from edge_agent.store import Store
from protocol import KeyPair
from protocol.messages import Repeat

KEY = KeyPair.generate().public_b64
BASE = {"device_id": "radio-1", "area": "67/660/24613", "hub_public_keys": [KEY]}
T0 = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def test_config_unknown_key_suggests_and_env_overrides(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'port'"):
        load_settings(None, env={}, raw={**BASE, "mqtt": {"prot": 1884}})
    with pytest.raises(ConfigError, match="hardware.volume"):
        load_settings(None, env={}, raw={**BASE, "hardware": {"volume": 140}})
    with pytest.raises(ConfigError, match="05:00-06:30"):
        load_settings(None, env={}, raw={**BASE, "radio": {"windows": ["5h-6h"]}})
    cfg = tmp_path / "a.toml"
    cfg.write_text(
        f'device_id = "radio-1"\narea = "67/660/24613"\nhub_public_keys = ["{KEY}"]\n[mqtt]\nport = 1883\n'
    )
    s = load_settings(
        cfg,
        env={
            "NGUON_MQTT__PORT": "1884",
            "NGUON_CLOCK_TRUST": "always",
            "NGUON_RADIO__WINDOWS": "05:00-06:00,17:00-18:00",
        },
    )
    assert (s.mqtt.port, s.clock_trust, s.radio.windows) == (1884, "always", ("05:00-06:00", "17:00-18:00"))
    with pytest.raises(ConfigError, match="port"):
        load_settings(cfg, env={"NGUON_MQTT__PORT": "many"})


def test_repeat_twice_five_minutes_apart_then_every_thirty() -> None:
    r = Repeat(count=2, interval_s=300, then_every_s=1800)
    assert next_due_after(r, 1, T0) == T0 + timedelta(seconds=300)
    assert next_due_after(r, 2, T0) == T0 + timedelta(seconds=1800)
    assert next_due_after(Repeat(), 1, T0) is None


def test_store_survives_reopen(tmp_path: Path) -> None:
    db = Store(tmp_path / "a.db")
    db.add_event("e1", {"x": 1}, "t")
    db.save_seq("topic", 7, "m")
    assert db.add_recalled("b1", "t") and not db.add_recalled("b1", "t")
    db.close()
    db = Store(tmp_path / "a.db")
    assert db.pending_events(10) == [("e1", {"x": 1})]
    assert db.seq_state() == {"topic": (7, "m")} and db.recalled() == {"b1"}


def test_clock_trust_from_os_or_hub_time() -> None:
    now = T0
    trust = ClockTrust(mode="ntp", now=lambda: now, os_check=lambda: False)
    trust.refresh()
    assert not trust.trusted and trust.state == "unsynced"
    trust.hub_time(T0 - timedelta(seconds=400))
    assert not trust.trusted
    trust.hub_time(T0 - timedelta(seconds=30))
    assert trust.trusted and trust.state == "hub"
    assert ClockTrust(mode="always", now=lambda: now, os_check=lambda: None).trusted
