"""The hub notices a lost broker at once and /healthz says so (docs/SECURITY.md): against a real Mosquitto
configured as a province's, killed (no goodbye: a crash, a power cut) and restarted; and a second client
with the hub's own login taking over the publisher's session. Before, an idle publisher noticed only at
its next publish, and /healthz answered 200 meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.app import HubRuntime
from tests.security.province_broker import HUB_CLIENT_ID, healthz_until, province_broker

WITHIN_S = 2.0


async def test_a_killed_broker_shows_on_healthz_within_two_seconds(tmp_path: Path) -> None:
    with province_broker(tmp_path) as pb:
        async with HubRuntime(pb.hub_config(), scheduler=False) as rt:
            await healthz_until(rt.url, 200, 10)
            await asyncio.sleep(0.5)  # idle: nothing to publish, nothing received
            pb.mq.kill()
            took, body = await healthz_until(rt.url, 503, WITHIN_S)
            assert took < WITHIN_S
            # both clients noticed on their own, and say why
            assert body["ok"] is False
            assert body["mqtt"]["publisher"] is False and body["mqtt"]["ingest"] is False
            assert body["mqtt"]["publisher_lost"] and body["mqtt"]["ingest_lost"]
            assert "mất kết nối MQTT (publisher" in body["reason"] and "không gửi được tin" in body["reason"]
            assert body["mqtt"]["publisher_drops"] == 1

            # something to publish while the broker is away: it waits, and goes once the broker is back
            assert rt.publisher is not None
            fut = rt.publisher.publish("nguon/v1/device/loa-24611-1/cmd", b"queued", qos=1)
            await asyncio.to_thread(pb.mq.start)
            _, body = await healthz_until(rt.url, 200, 20)
            assert body["ok"] is True and "reason" not in body
            await asyncio.wait_for(fut, 10)


async def test_a_takeover_of_the_publishers_session_is_noticed_at_once(tmp_path: Path) -> None:
    """Someone with the hub's broker login (a second hub started by mistake, a stolen password) connects
    with the publisher's client id: the publisher notices at once, counts it, and takes its session back."""
    with province_broker(tmp_path) as pb:
        async with HubRuntime(pb.hub_config(), scheduler=False) as rt:
            assert rt.publisher is not None
            await healthz_until(rt.url, 200, 10)
            async with pb.hub_client(identifier=f"{HUB_CLIENT_ID}-pub"):
                deadline = asyncio.get_running_loop().time() + WITHIN_S
                while rt.publisher.link.drops == 0:
                    assert asyncio.get_running_loop().time() < deadline, "the publisher did not notice"
                    await asyncio.sleep(0.02)
            # (Mosquitto 2.0 closes the taken-over connection without saying why: paho's "unspecified")
            assert "disconnected" in rt.publisher.link.last_loss.lower()
            _, body = await healthz_until(rt.url, 200, 10)  # it connected again by itself
            assert body["mqtt"]["publisher_drops"] >= 1 and body["mqtt"]["publisher_last_loss"]
