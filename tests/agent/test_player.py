"""The agent speaks to its player only through the Player protocol (edge_agent/player.py), owns the
programme, and runs the hub's commands on the player it was given: a third player (here one that writes
down what it is told, the way a live-sound stream would be added) needs nothing else of the agent.
In-process, real store and sim hardware; the radio and LED players end to end are in test_commands.py,
test_emergency.py and test_led_agent.py."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from edge_agent.agent import Agent
from edge_agent.clocktrust import ClockTrust
from edge_agent.config import load_settings
from edge_agent.player import NowPlaying, PlayerParts
from edge_agent.players import led_player
from edge_agent.store import Store
from hardware import build_hardware
from protocol import KeyPair
from protocol.clock import ShiftedClock
from protocol.envelope import Signer
from protocol.messages import (
    AlertBody,
    BulletinInfo,
    CommandBody,
    ProgrammeBody,
    ProgrammeDay,
    RecallBody,
    Repeat,
)
from protocol.topics import Topics

AREA = "67/660/24613"
PROVINCE = "67"  # an alert for the whole province reaches the commune
PREFIX = "test/nguon"


@dataclass
class Notebook:
    """A third player: does nothing but write down what the agent tells it."""

    parts: PlayerParts
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    now_playing: NowPlaying | None = None
    has_speaker: bool = False

    async def start(self) -> None:
        self.calls.append(("start",))

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.calls.append(("stop",))

    def set_programme(self, programme: ProgrammeBody) -> None:
        self.calls.append(("set_programme", programme.version, tuple(programme.recalled)))

    def emergency(self, alert: AlertBody) -> None:
        self.calls.append(("emergency", alert.identifier))

    def cancel(self, identifier: str) -> None:
        self.calls.append(("cancel", identifier))

    def recall(self, bulletin_ids: Any) -> None:
        self.calls.append(("recall", tuple(bulletin_ids)))

    def set_clock_trusted(self, trusted: bool) -> None:
        self.calls.append(("clock", trusted))

    def stop_playing(self) -> str:
        self.calls.append(("stop_playing",))
        return "đã dừng (sổ ghi)"

    def request_tone(self, path: Path) -> asyncio.Future[str]:
        raise AssertionError("a player without a speaker is never asked for the tone")


class Device:
    def __init__(self, tmp_path: Path, *, kind: str = "radio", player: Any = Notebook) -> None:
        self.keys = KeyPair.generate()
        self.clock = ShiftedClock(0)
        raw: dict[str, Any] = {
            "device_id": f"{kind}-1",
            "kind": kind,
            "area": AREA,
            "data_dir": str(tmp_path),
            "hub_public_keys": [self.keys.public_b64],
            "topic_prefix": PREFIX,
            "clock_trust": "always",
            "hub_url": "http://127.0.0.1:9",
            "hardware": {"mode": "sim"},
        }
        if kind == "led":
            raw["led"] = {"width": 192, "height": 96, "http_port": 0}
        self.settings = load_settings(None, env={}, raw=raw)
        hw = build_hardware(mode="sim", data_dir=tmp_path, now=self.clock.now)
        self.store = Store(tmp_path / "agent.db")
        trust = ClockTrust(mode="always", now=self.clock.now)
        self.agent = Agent(
            self.settings, clock=self.clock, hw=hw, store=self.store, trust=trust, player=player
        )
        self.topics = Topics(PREFIX)
        self.seq = 0

    def send(self, type_: str, body: dict[str, Any], topic: str) -> None:
        self.seq += 1
        wire = Signer(self.keys.private).sign(
            type=type_,
            id=str(uuid.uuid4()),
            seq=self.seq,
            issued_at=self.clock.now(),
            expires_at=self.clock.now() + timedelta(minutes=5),
            body=body,
            audience=[topic],
        )
        self.agent.handle(topic, wire, retained=False)

    def events(self, type_: str) -> list[dict[str, Any]]:
        return [ev["data"] for _, ev in self.store.pending_events(1000) if ev["type"] == type_]


def info(bid: str, priority: str = "normal") -> BulletinInfo:
    return BulletinInfo(bid, f"Bản tin {bid}", priority, "province", "text", 30_000)


def programme(version: int, bulletins: list[BulletinInfo], recalled: list[str] = ()) -> ProgrammeBody:  # type: ignore[assignment]
    today = datetime.now().date().isoformat()
    return ProgrammeBody(
        AREA, "radio", version, "Asia/Ho_Chi_Minh", [ProgrammeDay(today, ["05:00-06:30"], [])], bulletins, [],
        list(recalled),
    )  # fmt: skip


async def test_the_agent_tells_its_player_through_the_protocol_and_owns_the_programme(tmp_path: Path) -> None:
    dev = Device(tmp_path)
    player = dev.agent.player
    assert isinstance(player, Notebook)
    assert player.calls == [("clock", True)]  # the trust before any programme
    program = dev.topics.program(AREA, "radio")

    dev.send("programme", programme(3, [info("b1"), info("b2")]).to_dict(), program)
    assert player.calls[-1] == ("set_programme", 3, ())
    assert dev.agent.programme is not None and dev.agent.programme.version == dev.agent.programme_version == 3

    dev.send("programme", programme(4, [info("b2")], recalled=["b1"]).to_dict(), program)
    assert player.calls[-1] == ("set_programme", 4, ("b1",))  # the player recalls from the programme itself
    assert [e["bulletin_id"] for e in dev.events("recall_confirmed")] == ["b1"]

    alert_topic = dev.topics.alert(PROVINCE)
    now = dev.clock.now()
    alert = AlertBody(
        "khan-1", "Alert", "Actual", now.isoformat(), (now + timedelta(minutes=30)).isoformat(), [AREA],
        info("khan-1", "emergency"), Repeat(),
    )  # fmt: skip
    dev.send("alert", alert.to_dict(), alert_topic)
    assert player.calls[-1] == ("emergency", "khan-1")
    cancel = AlertBody("khan-1", "Cancel", "Actual", now.isoformat(), alert.expires, [AREA], None, Repeat())
    dev.send("alert", cancel.to_dict(), alert_topic)
    assert player.calls[-1] == ("cancel", "khan-1")
    dev.send("recall", RecallBody(["b2"]).to_dict(), alert_topic)
    assert player.calls[-1] == ("recall", ("b2",))

    # the status says what the player says it plays
    since = dev.clock.now()
    player.now_playing = NowPlaying("b2", emergency=False, since=since)
    status = dev.agent.status()
    assert (status.state, status.now_playing, status.playing_since) == ("playing", "b2", since.isoformat())
    player.now_playing = None
    assert dev.agent.status().now_playing is None

    # the hub's commands act on the player they were given
    cmd = dev.topics.cmd(dev.settings.device_id)
    dev.send("command", CommandBody("stop", {}).to_dict(), cmd)
    dev.send("command", CommandBody("test_tone", {}).to_dict(), cmd)
    results = {r["command"]: r for r in dev.events("command_result")}
    assert player.calls[-1] == ("stop_playing",)
    assert (results["stop"]["ok"], results["stop"]["detail"]) == (True, "đã dừng (sổ ghi)")
    assert results["test_tone"]["ok"] is False and "không có loa" in results["test_tone"]["detail"]
    await dev.agent.aclose()
    dev.store.close()


async def test_a_restarted_agent_hands_the_saved_programme_and_emergencies_to_its_player(
    tmp_path: Path,
) -> None:
    dev = Device(tmp_path)
    dev.send("programme", programme(5, [info("b1")]).to_dict(), dev.topics.program(AREA, "radio"))
    now = dev.clock.now()
    alert = AlertBody(
        "khan-2", "Alert", "Actual", now.isoformat(), (now + timedelta(minutes=30)).isoformat(), [AREA],
        info("khan-2", "emergency"), Repeat(),
    )  # fmt: skip
    dev.send("alert", alert.to_dict(), dev.topics.alert(PROVINCE))
    await dev.agent.aclose()
    dev.store.close()

    store = Store(tmp_path / "agent.db")  # a restart: the same data directory
    trust = ClockTrust(mode="always", now=dev.clock.now)
    hw = build_hardware(mode="sim", data_dir=tmp_path, now=dev.clock.now)
    agent = Agent(dev.settings, clock=dev.clock, hw=hw, store=store, trust=trust, player=Notebook)
    assert isinstance(agent.player, Notebook)
    assert agent.player.calls == [("clock", True), ("set_programme", 5, ()), ("emergency", "khan-2")]
    assert agent.programme_version == 5
    await agent.aclose()
    store.close()


async def test_an_led_agent_plays_through_its_board_alone(tmp_path: Path) -> None:
    from edge_agent.led import LedBoard  # noqa: PLC0415

    dev = Device(tmp_path, kind="led", player=led_player)
    board = dev.agent.player
    assert isinstance(board, LedBoard)
    assert not {"radio", "led"} & set(vars(dev.agent)), "one player, no radio runner beside it"
    assert board.has_speaker is False and dev.agent.status().now_playing is None
    dev.send("command", CommandBody("test_tone", {}).to_dict(), dev.topics.cmd(dev.settings.device_id))
    (result,) = dev.events("command_result")
    assert (result["ok"], result["detail"]) == (False, "bảng tin LED không có loa để phát âm thử")
    await dev.agent.aclose()
    dev.store.close()
