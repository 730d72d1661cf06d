"""Pure parts: config validation, repeat schedule, store durability across reopen, clock trust."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.clocktrust import ClockTrust
from edge_agent.config import ConfigError, load_settings
from edge_agent.emergency import EmergencyBook, next_due_after
from edge_agent.store import Store
from protocol import KeyPair
from protocol.messages import BulletinInfo, Repeat

KEY = KeyPair.generate().public_b64
BASE = {"device_id": "radio-1", "area": "67/660/24613", "hub_public_keys": [KEY]}
T0 = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def test_config_unknown_key_suggests_and_env_overrides(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'port'"):
        load_settings(None, env={}, raw={**BASE, "mqtt": {"prot": 1884}})
    with pytest.raises(ConfigError, match=r"hardware\.volume"):
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
            "NGUON_AGENT_MQTT__PORT": "1884",
            "NGUON_AGENT_CLOCK_TRUST": "always",
            "NGUON_AGENT_RADIO__WINDOWS": "05:00-06:00,17:00-18:00",
        },
    )
    assert (s.mqtt.port, s.clock_trust, s.radio.windows) == (1884, "always", ("05:00-06:00", "17:00-18:00"))
    with pytest.raises(ConfigError, match="port"):
        load_settings(cfg, env={"NGUON_AGENT_MQTT__PORT": "many"})


def test_config_tls_needs_a_usable_ca_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set tls = true"):
        load_settings(None, env={}, raw={**BASE, "mqtt": {"ca_file": "/etc/ssl/ca.pem"}})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(
            None, env={}, raw={**BASE, "mqtt": {"tls": True, "ca_file": str(tmp_path / "none.pem")}}
        )
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="not a PEM CA certificate"):
        load_settings(None, env={}, raw={**BASE, "mqtt": {"tls": True, "ca_file": str(junk)}})
    s = load_settings(None, env={"NGUON_AGENT_MQTT__TLS": "true"}, raw=BASE)  # the system's CA store
    assert s.mqtt.tls and s.mqtt.ca_file == ""


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
    always = ClockTrust(mode="always", now=lambda: now, os_check=lambda: False)
    always.refresh()
    assert always.trusted and always.state == "always"  # trusted by config: not reported as a fault
    always.hub_time(T0)
    assert always.state == "hub"  # what vouches for it, when something does


def _emergency(bid: str, *, after: str = "restart", repeat: Repeat | None = None) -> BulletinInfo:
    return BulletinInfo(
        bid,
        "Khẩn",
        "emergency",
        "province",
        "audio",
        10_000,
        after_interrupt=after,
        repeat=repeat,
        valid_until=(T0 + timedelta(hours=2)).isoformat(),
    )


def test_emergency_from_retained_programme_repeats_like_the_alert(tmp_path: Path) -> None:
    book = EmergencyBook(Store(tmp_path / "a.db"))
    info = _emergency("bao", repeat=Repeat(count=2, interval_s=300, then_every_s=1800))
    assert book.from_programme(["bao"], [info], T0) == ["bao"]
    em = book.get("bao")
    assert em is not None and em.alert.repeat == info.repeat
    book.started(em, T0)
    book.played(em, T0 + timedelta(seconds=10))
    assert em.state == "active" and em.next_due == T0 + timedelta(seconds=300)
    # An old programme without the field still plays it once.
    book.from_programme(["cu"], [_emergency("cu")], T0)
    old = book.get("cu")
    assert old is not None
    book.played(old, T0)
    assert old.state == "done"


def test_interrupted_emergency_resumes_restarts_or_drops_and_survives_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    book = EmergencyBook(store)
    for bid, after in (("r", "resume"), ("s", "restart"), ("d", "drop")):
        book.from_programme([bid], [_emergency(bid, after=after)], T0)
    got = {bid: book.interrupted(book.get(bid), T0, position_ms=4_000) for bid in "rsd"}  # type: ignore[arg-type]
    assert got == {"r": "resume", "s": "restart", "d": "drop"}
    reopened = EmergencyBook(Store(tmp_path / "a.db"))
    r, s, d = (reopened.get(x) for x in "rsd")
    assert r is not None and r.offset_ms == 4_000 and r.state == "active"
    assert s is not None and s.offset_ms == 0 and s.state == "active"
    assert d is not None and d.state == "done"  # this play dropped; no repeats left
    # A restart of the agent never drops an emergency, and a completed play starts the next from 0.
    assert book.interrupted(book.get("d") or r, T0, restart=True) == "restart"
    book.played(r, T0)
    assert r.offset_ms == 0


def test_store_from_an_older_agent_is_migrated(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "old.db")
    db.executescript(
        "CREATE TABLE emergencies (id TEXT PRIMARY KEY, alert TEXT NOT NULL, state TEXT NOT NULL,"
        " plays_done INTEGER NOT NULL, next_due TEXT, playing_since TEXT, updated_at TEXT NOT NULL);"
        "INSERT INTO emergencies VALUES ('e', '{}', 'done', 1, NULL, NULL, 't');"
    )
    db.commit()
    db.close()
    store = Store(tmp_path / "old.db")
    assert store.emergencies()["e"]["offset_ms"] == 0


def test_prune_keeps_seven_days_and_never_touches_the_outbox(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    book = EmergencyBook(store)
    old, now = T0 - timedelta(days=8), T0
    for bid, at in (("old-done", old), ("new-done", now - timedelta(days=1))):
        info = replace(_emergency(bid), valid_until=(at + timedelta(hours=1)).isoformat())
        book.from_programme([bid], [info], at)
        book.played(book.get(bid), at)  # type: ignore[arg-type]
    # finished long ago but still valid (a hub may keep it in the programme): kept, or it would replay
    book.from_programme(["still-valid"], [_emergency("still-valid")], old)
    book.played(book.get("still-valid"), old)  # type: ignore[arg-type]
    book.from_programme(["active-old"], [replace(_emergency("active-old"), valid_until=None)], old)
    store.set_item("2026-11-14|x|b|0", "done", old.isoformat())
    store.set_item("2026-11-22|x|b|0", "done", now.isoformat())
    for n in range(3):
        store.add_event(f"ev{n}", {"n": n}, old.isoformat())
    gone = store.prune(before=(now - timedelta(days=7)).isoformat(), before_date="2026-11-16")
    assert gone == {"emergencies": 1, "items": 1}
    assert set(store.emergencies()) == {"new-done", "still-valid", "active-old"}
    assert set(store.item_states()) == {"2026-11-22|x|b|0"}
    assert store.outbox_size() == 3


def test_agent_prunes_at_start_only_on_a_trusted_clock(tmp_path: Path) -> None:
    from edge_agent.agent import Agent  # noqa: PLC0415
    from edge_agent.players import radio_player  # noqa: PLC0415
    from hardware import build_hardware  # noqa: PLC0415
    from protocol.clock import ShiftedClock  # noqa: PLC0415

    settings = load_settings(None, env={}, raw={**BASE, "data_dir": str(tmp_path)})
    store = Store(tmp_path / "agent.db")
    store.set_item("2000-01-01|x|b|0", "done", "2000-01-01T05:00:00+07:00")
    store.add_event("ev", {"kept": True}, "2000-01-01T05:00:00+07:00")
    clock = ShiftedClock(0)
    hw = build_hardware(mode="sim", data_dir=tmp_path, now=clock.now)

    def agent(os_synced: bool) -> Agent:
        trust = ClockTrust(mode="ntp", now=clock.now, os_check=lambda: os_synced)
        trust.refresh()
        return Agent(settings, clock=clock, hw=hw, store=store, trust=trust, player=radio_player)

    agent(False)
    assert "2000-01-01|x|b|0" in store.item_states(), "an untrusted clock must not prune"
    agent(True)
    assert store.item_states() == {} and store.pending_events(10) == [("ev", {"kept": True})]
