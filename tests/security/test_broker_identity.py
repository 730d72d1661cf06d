"""A broker that knows who is who (docs/SECURITY.md), against a real Mosquitto configured as the demo's and
`python -m hub broker conf`'s, and a real hub: one device's password cannot disconnect the hub or another
device; the hub's listener does not know the devices; oversized messages stop at the broker (and at the
hub's own publisher, which would otherwise reconnect and resend them for ever); no device may take a
name of the hub's."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import aiomqtt
import pytest

from hub.app import HubRuntime
from hub.broker import MAX_PACKET_SIZE, MESSAGE_SIZE_LIMIT, DeviceGrant, PasswordFile, acl_text, write_private
from hub.models import Device
from hub.mosquitto import free_port, mosquitto_binary
from hub.mqtt import MessageTooLarge
from protocol.topics import Topics
from tests.hub.conftest import SAMPLE, Hub
from tests.hub.conftest import hub as hub  # noqa: PLC0414 - the API fixture, shared with tests/hub
from tests.security.province_broker import (
    HUB_CLIENT_ID,
    HUB_USER,
    client,
    healthz_until,
    province_broker,
    secret,
)

T = Topics()
ROOT = Path(__file__).resolve().parents[2]
LOA_A, LOA_B = "loa-24611-1", "loa-24613-1"


async def _received(client: aiomqtt.Client, want: bytes, timeout: float) -> bool:  # noqa: ASYNC109
    async def loop() -> bool:
        async for msg in client.messages:
            if msg.payload == want:
                return True
        return False

    with contextlib.suppress(TimeoutError):
        return await asyncio.wait_for(loop(), timeout)
    return False


async def _still_connected(client: aiomqtt.Client, seconds: float) -> bool:
    """Listen for `seconds`: False if the broker dropped the client meanwhile."""
    try:
        await asyncio.wait_for(_received(client, b"\0never", seconds + 1), seconds)
    except TimeoutError:
        return True
    except aiomqtt.MqttError:
        return False
    return True


async def test_a_device_password_cannot_drop_the_hubs_publisher_or_ingest(tmp_path: Path) -> None:
    with province_broker(tmp_path) as pb:
        async with HubRuntime(pb.hub_config(), scheduler=False) as rt:
            assert rt.publisher is not None and rt.ingest is not None and rt.services is not None
            await healthz_until(rt.url, 200, 10)
            # the device's credentials, with the hub's client ids, where devices connect
            async with (
                pb.device_client(LOA_A, identifier=f"{HUB_CLIENT_ID}-pub") as intruder,
                pb.device_client("bang-24613-1", identifier=f"{HUB_CLIENT_ID}-ingest"),
            ):
                await asyncio.sleep(1.0)
                assert rt.publisher.link.drops == 0 and rt.ingest.link.drops == 0
                _, body = await healthz_until(rt.url, 200, 1)
                assert body["mqtt"]["publisher"] and body["mqtt"]["ingest"]
                # the hub still publishes (the device reads its command topic) and still hears devices
                async with pb.hub_client(identifier="observer") as observer:
                    await observer.subscribe(T.event(LOA_A), qos=1)
                    await intruder.subscribe(T.cmd(LOA_A), qos=1)
                    fut = rt.publisher.publish(T.cmd(LOA_A), b"still-the-hub", qos=1)
                    await asyncio.wait_for(fut, 5)
                    assert await _received(intruder, b"still-the-hub", 5)
                    await intruder.publish(T.event(LOA_A), b"[]", qos=1)
                    assert await _received(observer, b"[]", 5)
            assert rt.publisher.link.drops == 0 and rt.ingest.link.drops == 0

            # the hub's listener does not know the devices at all
            with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori"):
                async with pb.device_client(LOA_A, identifier=f"{HUB_CLIENT_ID}-pub", port=pb.mq.port):
                    pass
            assert rt.publisher.link.drops == 0


async def test_a_device_password_cannot_drop_another_device(tmp_path: Path) -> None:
    with province_broker(tmp_path) as pb:
        async with pb.device_client(LOA_B) as victim:
            await victim.subscribe(T.cmd(LOA_B), qos=1)
            async with pb.device_client(LOA_A, identifier=LOA_B):
                assert await _still_connected(victim, 1.0)
            # and the victim's session is whole: it still receives its commands
            async with pb.hub_client(identifier="hub-test") as hub_client:
                await hub_client.publish(T.cmd(LOA_B), b"cmd-b", qos=1)
            assert await _received(victim, b"cmd-b", 5)


async def test_oversized_messages_stop_at_the_broker(tmp_path: Path) -> None:
    with province_broker(tmp_path) as pb:
        async with HubRuntime(pb.hub_config(), scheduler=False) as rt:
            assert rt.publisher is not None and rt.ingest is not None
            await healthz_until(rt.url, 200, 10)
            before = rt.ingest.received
            # a device's 20 MB "event": the broker drops the device, the hub never receives it
            async with pb.device_client(LOA_A) as dev:
                with contextlib.suppress(aiomqtt.MqttError):
                    await dev.publish(T.event(LOA_A), b"x" * (20 * 1024 * 1024), qos=1, timeout=5)
                assert not await _still_connected(dev, 3.0)
            # just under the limit passes (a message an agent may refuse as oversized and report)
            async with pb.device_client(LOA_A) as dev:
                await dev.publish(T.event(LOA_A), b"y" * (MESSAGE_SIZE_LIMIT - 1024), qos=1, timeout=10)
                deadline = asyncio.get_running_loop().time() + 10
                while rt.ingest.received == before:
                    assert asyncio.get_running_loop().time() < deadline
                    await asyncio.sleep(0.05)
            assert rt.ingest.received == before + 1

            # the hub does not send what the broker would refuse (it would be dropped, reconnect, resend...)
            fut = rt.publisher.publish(T.cmd(LOA_A), b"z" * (MESSAGE_SIZE_LIMIT + 1))
            with pytest.raises(MessageTooLarge):
                await asyncio.wait_for(fut, 1)
            await asyncio.wait_for(rt.publisher.publish(T.cmd(LOA_A), b"small"), 5)
            assert rt.publisher.link.drops == 0 and rt.ingest.link.drops == 0


async def test_no_device_may_take_a_name_of_the_hub(hub: Hub) -> None:
    before = hub.count(Device)
    for name in ("hub", "HUB", "nguon-hub-pub", "nguon-hub-ingest", "nguon-hub"):
        st, body = await hub.call(
            "POST",
            "/api/v1/devices",
            "admin1",
            json={"id": name, "kind": "radio", "area": "67/660/24613"},
        )
        assert st == 422, (name, body)
        assert body["error"]["field"] == "id" and "máy chủ" in body["error"]["message"], body
    assert hub.count(Device) == before
    st, _ = await hub.call(
        "POST", "/api/v1/devices", "admin1", json={"id": "loa-hub-1", "kind": "radio", "area": "67/660/24613"}
    )
    assert st == 201  # a name merely containing "hub" is fine


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_hub_device_add_refuses_the_hubs_names(tmp_path: Path) -> None:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "hub"}"\n[mqtt]\nusername = "hub-tinh"\nclient_id = "nguon-hub-67"\n'
        "[programme]\nscheduler = false\n",
        encoding="utf-8",
    )
    assert _run(["--config", str(cfg), "areas", "import", str(SAMPLE)], tmp_path).returncode == 0
    for name in ("hub-tinh", "nguon-hub-67-pub", "hub"):
        res = _run(
            ["--config", str(cfg), "device", "add", name, "--kind", "radio", "--area", "67/660/24613"],
            tmp_path,
        )
        assert res.returncode == 2, (name, res.stdout, res.stderr)
        assert "trùng với tên của máy chủ" in res.stderr and res.stdout == ""
    ok = _run(
        ["--config", str(cfg), "device", "add", "loa-24613-1", "--kind", "radio", "--area", "67/660/24613"],
        tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert 'username = "loa-24613-1"' in ok.stdout


async def test_the_generated_broker_config_runs_and_ties_client_ids_to_users(tmp_path: Path) -> None:
    """`python -m hub broker conf` as an operator would install it (TLS left out: no certificate here)."""
    hub_port, dev_port = free_port(), free_port()
    res = _run(
        [
            "broker",
            "conf",
            "--dir",
            str(tmp_path),
            "--hub-port",
            str(hub_port),
            "--device-port",
            str(dev_port),
            "--no-tls",
        ],
        tmp_path,
    )
    assert res.returncode == 0, res.stderr
    conf = res.stdout
    assert f"message_size_limit {MESSAGE_SIZE_LIMIT}" in conf and f"max_packet_size {MAX_PACKET_SIZE}" in conf
    assert conf.count("use_username_as_clientid true") == 1
    pw = PasswordFile(tmp_path / "passwd")
    pw.set(LOA_A, secret(LOA_A))
    pw.save()
    hub_pw = PasswordFile(tmp_path / "passwd-hub")
    hub_pw.set(HUB_USER, secret(HUB_USER))
    hub_pw.save()
    write_private(tmp_path / "acl", acl_text([DeviceGrant(LOA_A, "radio", "67/660/24611")]))
    (tmp_path / "m.conf").write_text(conf + f"user {os.environ.get('USER') or 'root'}\n", encoding="utf-8")
    log = (tmp_path / "m.log").open("wb")
    proc = await asyncio.to_thread(
        subprocess.Popen, [mosquitto_binary(), "-c", str(tmp_path / "m.conf")], stdout=log, stderr=log
    )
    try:
        deadline = asyncio.get_running_loop().time() + 10
        while True:
            try:
                async with client(hub_port, HUB_USER, identifier=f"{HUB_CLIENT_ID}-pub") as hub_pub:
                    async with client(dev_port, LOA_A, identifier=f"{HUB_CLIENT_ID}-pub"):
                        assert await _still_connected(hub_pub, 1.0)
                    break
            except aiomqtt.MqttError:
                assert asyncio.get_running_loop().time() < deadline, (tmp_path / "m.log").read_text()
                await asyncio.sleep(0.2)
        with pytest.raises(aiomqtt.MqttError, match=r"(?i)not authori"):
            async with client(hub_port, LOA_A, identifier=LOA_A):
                pass
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--dir", "/etc/mosquitto\nallow_anonymous true"], "line breaks"),
        (["--dir", "/etc/mosquitto #"], "without spaces"),
        (["--hub-host", "127.0.0.1\nlistener 1884"], "an IP address or a host name"),
        (["--device-port", "1883"], "two ports"),
        (["--hub-port", "70000"], "1-65535"),
    ],
)
def test_hub_broker_conf_refuses_values_that_would_add_lines_to_the_brokers_config(
    tmp_path: Path, args: list[str], says: str
) -> None:
    res = _run(["broker", "conf", *args], tmp_path)
    assert res.returncode == 2 and says in res.stderr and res.stdout == "", (res.stdout, res.stderr)
