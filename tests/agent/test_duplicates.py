"""The duplicate rule (docs/PROTOCOL.md): with two brokers an agent receives each message twice, in any order;
a copy of one accepted recently on that topic (same seq, same id) is dropped silently and acted on once,
while a real replay (a seq not above the last under another id, an old seq never accepted) is still refused.
In-process: real store, the recording player of test_player.py, envelopes signed as the hub signs them."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from edge_agent.store import SEEN_PER_STREAM, Store
from protocol.envelope import Signer
from protocol.messages import CommandBody
from tests.agent.test_player import Device


def _wire(dev: Device, topic: str, seq: int, *, msg_id: str | None = None, volume: int = 50) -> bytes:
    body = CommandBody("volume", {"level": volume}).to_dict()
    return Signer(dev.keys.private).sign(
        type="command",
        id=msg_id or str(uuid.uuid4()),
        seq=seq,
        issued_at=dev.clock.now(),
        expires_at=dev.clock.now() + timedelta(minutes=5),
        body=body,
        audience=[topic],
    )


def _acted(dev: Device) -> list[dict[str, Any]]:
    return dev.events("command_result")


def _rejected(dev: Device) -> list[str]:
    return [r["reason"] for r in dev.events("rejected")]


def test_the_other_brokers_copies_are_acted_on_once_in_any_order(tmp_path: Path) -> None:
    dev = Device(tmp_path)
    topic = dev.topics.cmd(dev.settings.device_id)
    w5, w6 = _wire(dev, topic, 5, volume=40), _wire(dev, topic, 6, volume=60)
    # broker A delivers 5 and 6; broker B, late, delivers 5 (older than the last accepted) and 6
    for wire, retained in ((w5, False), (w6, False), (w5, False), (w6, False), (w6, True)):
        dev.agent.handle(topic, wire, retained=retained)
    assert len(_acted(dev)) == 2
    assert _rejected(dev) == []
    assert dev.agent.reporter.rejected == 0


def test_a_forged_twin_or_an_old_seq_is_still_refused(tmp_path: Path) -> None:
    dev = Device(tmp_path)
    topic = dev.topics.cmd(dev.settings.device_id)
    for seq in (5, 7):
        dev.agent.handle(topic, _wire(dev, topic, seq), retained=False)
    # same seq, another id (genuinely signed: only the window's (seq, id) pair lets a copy through)
    dev.agent.handle(topic, _wire(dev, topic, 7), retained=False)
    dev.agent.handle(topic, _wire(dev, topic, 5), retained=True)
    # a seq under the last that was never accepted (6 skipped), whatever its id
    dev.agent.handle(topic, _wire(dev, topic, 6), retained=False)
    assert _rejected(dev) == ["replayed"] * 3
    assert len(_acted(dev)) == 2


def test_the_window_is_bounded_and_survives_a_restart(tmp_path: Path) -> None:
    dev = Device(tmp_path)
    topic = dev.topics.cmd(dev.settings.device_id)
    wires = [_wire(dev, topic, seq) for seq in (1, 3, SEEN_PER_STREAM + 1, SEEN_PER_STREAM + 2)]
    for wire in wires[:2]:
        dev.agent.handle(topic, wire, retained=False)
    with dev.store.transaction():  # the messages between, accepted (as handle() records them)
        for seq in range(4, SEEN_PER_STREAM + 1):
            dev.store.save_seq(topic, seq, f"id-{seq}")
    for wire in wires[2:]:
        dev.agent.handle(topic, wire, retained=False)
    assert len(_acted(dev)) == len(wires)
    rows = sqlite3.connect(tmp_path / "agent.db").execute("SELECT COUNT(*) FROM seen").fetchone()[0]
    assert rows == SEEN_PER_STREAM
    dev.store.close()

    again = Device(tmp_path)  # a restart: same data dir, same store
    again.keys = dev.keys
    again.agent.verifier = dev.agent.verifier
    again.agent.handle(topic, wires[-1], retained=False)  # the newest: a copy
    again.agent.handle(topic, wires[1], retained=False)  # the oldest still in the window: a copy
    assert _rejected(again) == []
    again.agent.handle(topic, wires[0], retained=False)  # out of the window: a replay
    assert _rejected(again) == ["replayed"]
    assert len(_acted(again)) == len(wires)  # nothing acted on twice


def test_a_store_of_before_the_window_counts_its_last_message_as_seen(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "old.db")
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema', '2');"
        "CREATE TABLE seq (stream TEXT PRIMARY KEY, seq INTEGER NOT NULL, msg_id TEXT NOT NULL);"
        "INSERT INTO seq VALUES ('t/prog', 9, 'm9');"
    )
    db.commit()
    db.close()
    store = Store(tmp_path / "old.db")
    assert store.seen("t/prog", 9, "m9")
    assert not store.seen("t/prog", 9, "other")
    assert store.last_seq("t/prog") == (9, "m9")
