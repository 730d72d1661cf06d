"""Hub changes made for the fan-out bench: statuses stored in batches; programmes after an alert's burst."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.app import build_services
from hub.config import build_config
from hub.models import Device
from hub.roles import SYSTEM
from hub.services import Services
from hub.services import publishing as publishing_mod
from hub.services.bulletins import BulletinInput
from hub.services.publishing import RecordingPublisher
from protocol.topics import Topics

TREE = {
    "code": "90",
    "name": "Tỉnh thử",
    "level": "province",
    "children": [
        {
            "code": "9001",
            "name": "Huyện 1",
            "level": "district",
            "children": [
                {"code": "90010001", "name": "Xã 1", "level": "commune"},
                {"code": "90010002", "name": "Xã 2", "level": "commune"},
            ],
        }
    ],
}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    cfg = build_config(
        {"data_dir": str(tmp_path / "hub"), "mqtt": {"enabled": False}, "programme": {"scheduler": False}},
        environ={},
    )
    s = build_services(cfg, publisher=RecordingPublisher())
    s.areas.import_tree(TREE, SYSTEM)
    for dev, area in (("loa-1", "90/9001/90010001"), ("loa-2", "90/9001/90010002")):
        s.devices.register(SYSTEM, device_id=dev, kind="radio", area=area)
    yield s
    s.ctx.db.dispose()


def _states(s: Services) -> dict[str, tuple[str, object]]:
    with s.ctx.db.session() as sess:
        return {d.id: (d.state, (d.last_status or {}).get("now_playing")) for d in sess.query(Device).all()}


def test_a_status_batch_updates_every_device_in_one_go_and_skips_bad_entries(services: Services) -> None:
    services.devices.ingest_statuses(
        {
            "loa-1": {"state": "emergency", "now_playing": "b-1", "area": "90/9001/90010001"},
            "loa-2": {"state": "idle", "now_playing": None},
            "lạ-3": "not a status",
            "loa-9": {"state": "idle", "area": "99/nowhere"},  # unknown device in an unknown area: ignored
            "loa-new": {"state": "window", "kind": "radio", "area": "90/9001/90010002"},  # remembered
        }
    )
    assert _states(services) == {
        "loa-1": ("emergency", "b-1"),
        "loa-2": ("idle", None),
        "loa-new": ("window", None),
    }
    services.devices.ingest_status("loa-2", {"state": "playing", "now_playing": "b-2"})
    assert _states(services)["loa-2"] == ("playing", "b-2")


async def test_programmes_follow_an_alert_after_the_media_burst(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(publishing_mod, "ALERT_PROGRAMMES_AFTER_S", 0.3)
    pub = services.publishing.publisher
    assert isinstance(pub, RecordingPublisher)
    created = await services.bulletins.create(
        SYSTEM,
        BulletinInput(
            title="Khẩn cấp thử",
            priority="emergency",
            form="text",
            targets=["90"],
            kinds=["radio"],
            text="Lũ quét, sơ tán ngay.",
        ),
    )
    services.publishing.start()
    try:
        await asyncio.wait_for(services.publishing.flush(), 10)  # the start-up state: nothing queued
        pub.messages.clear()
        await services.approve(SYSTEM, created.id)
        topics = Topics(services.ctx.config.mqtt.topic_prefix)
        assert [t for t, _, _ in pub.messages] == [topics.alert("90")]  # the alert at once, alone
        await asyncio.sleep(0.1)
        assert len(pub.messages) == 1
        await asyncio.wait_for(services.publishing.flush(), 10)  # flush waits for the delayed programmes
        programmes = sorted(t for t, _, retained in pub.messages[1:] if retained)
        assert programmes == [
            topics.program("90/9001/90010001", "radio"),
            topics.program("90/9001/90010002", "radio"),
        ]
    finally:
        await services.publishing.stop()
