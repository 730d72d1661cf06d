"""Per-device broker accounts and ACL, against a real Mosquitto: a device reads only its own areas' topics
and writes only its own; a wrong password is refused."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiomqtt
import pytest

from hub.broker import DeviceGrant, PasswordFile, acl_text, check_password, hash_password, write_private
from hub.mosquitto import MosquittoProcess
from protocol.topics import Topics

T = Topics()
A = DeviceGrant("loa-a", "radio", "67/660/24613")
B = DeviceGrant("loa-b", "radio", "67/661/24658")


def test_hash_roundtrip() -> None:
    h = hash_password("Mật-khẩu-dài-2026")
    assert h.startswith("$7$101$") and check_password("Mật-khẩu-dài-2026", h)
    assert not check_password("sai", h)


@pytest.fixture
def secured(tmp_path: Path):
    pw = PasswordFile(tmp_path / "passwd")
    for user in (A.id, B.id):
        pw.set(user, f"secret-{user}-0123456789")
    pw.save()
    hub_pw = PasswordFile(tmp_path / "passwd-hub")
    hub_pw.set("hub", "secret-hub-0123456789")
    hub_pw.save()
    assert (tmp_path / "passwd").stat().st_mode & 0o777 == 0o600
    write_private(tmp_path / "acl", acl_text([A, B]))
    with MosquittoProcess(
        tmp_path / "mq",
        password_file=tmp_path / "passwd",
        hub_password_file=tmp_path / "passwd-hub",
        acl_file=tmp_path / "acl",
    ) as mq:
        yield mq


def _client(mq: MosquittoProcess, user: str, password: str | None = None) -> aiomqtt.Client:
    """The hub on its own listener, a device on the devices' one (as in production)."""
    return aiomqtt.Client(
        mq.host,
        mq.port if user == "hub" else mq.device_port,
        username=user,
        password=password or f"secret-{user}-0123456789",
        protocol=aiomqtt.ProtocolVersion.V5,
        timeout=5,
    )


async def _collect(client: aiomqtt.Client, seconds: float) -> list[str]:
    got: list[str] = []

    async def loop() -> None:
        async for msg in client.messages:
            got.append(str(msg.topic))

    with contextlib.suppress(TimeoutError):  # listening for a fixed time is the point
        await asyncio.wait_for(loop(), seconds)
    return got


async def test_wrong_password_is_refused(secured: MosquittoProcess) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with _client(secured, A.id, "not-the-password"):
            pass
    with pytest.raises(aiomqtt.MqttError):
        async with aiomqtt.Client(secured.host, secured.port, timeout=5):  # anonymous
            pass


async def test_device_reads_only_its_areas_and_writes_only_its_topics(secured: MosquittoProcess) -> None:
    async with _client(secured, "hub") as hub:
        await hub.subscribe(f"{T.prefix}/#", qos=1)
        await hub.publish(T.program(A.area, "radio"), b"prog-a", qos=1, retain=True)
        await hub.publish(T.program(B.area, "radio"), b"prog-b", qos=1, retain=True)
        async with _client(secured, A.id) as dev:
            await dev.subscribe(T.program(A.area, "radio"), qos=1)
            await dev.subscribe(T.program(B.area, "radio"), qos=1)  # not its commune
            await dev.subscribe(T.alert("67"), qos=1)
            await dev.subscribe(T.event(B.id), qos=1)  # another device's reports
            await hub.publish(T.alert("67"), b"alert", qos=1)
            await hub.publish(T.event(B.id), b"b-report", qos=1)
            seen = await _collect(dev, 1.5)
            assert T.program(A.area, "radio") in seen and T.alert("67") in seen
            assert T.program(B.area, "radio") not in seen and T.event(B.id) not in seen

            # A device cannot forge an alert or speak for another device; it can report for itself.
            await dev.publish(T.alert("67"), b"forged", qos=1)
            await dev.publish(T.status(B.id), b"impersonation", qos=1)
            await dev.publish(T.event(A.id), b"own-report", qos=1)
        hub_seen = []

        async def loop() -> None:
            async for msg in hub.messages:
                hub_seen.append((str(msg.topic), bytes(msg.payload)))

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(loop(), 1.5)
        payloads = [p for _, p in hub_seen]
        assert b"own-report" in payloads
        assert b"forged" not in payloads and b"impersonation" not in payloads
