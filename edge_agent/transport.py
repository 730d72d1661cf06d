"""MQTT: persistent session (clean start off, fixed client id), QoS 1, last will, reconnect with growing
randomised delays; feeds incoming messages to the agent and drains the outbox while connected.

Several brokers (`mqtt.brokers`, docs/OPERATIONS.md "Two brokers"): the agent is on one at a time, the first
that answers. When its connection is lost it moves on to the next one at once (then the next, round the
list); when a whole round fails it waits (growing, randomised) and starts again from the first. On a later
broker it looks every `return_after_s` (randomised) whether an earlier one answers again and, if so, clears
its retained status where it is and goes back. Each broker has the hub's retained programme and every alert
(the hub publishes to all), so a new broker's subscribe brings the programme; what arrives twice is dropped
by the agent (Agent.handle, the duplicate rule of docs/PROTOCOL.md). Status and events go to the broker the
agent is on: the hub listens to every broker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
import time
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_agent import outbox
from edge_agent.agent import Agent
from protocol.brokers import broker_name
from protocol.messages import DeviceStatus
from protocol.tls import client_context

log = logging.getLogger("edge_agent.mqtt")

SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our subscriptions and queued QoS 1 messages this long
# Changes this close together go out as one status, sent this long after the first: an emergency's alert,
# relay and play start become one status that shows it playing, sent once the audio has started (on a
# thousand devices at once, a status per step would compete with the plays for the hub and the broker).
STATUS_DEBOUNCE_S = 1.0
_STATUS_FIELDS = tuple(f.name for f in dataclasses.fields(DeviceStatus))
PROBE_TIMEOUT_S = 3.0  # an earlier broker "answers" when a TCP connection to it opens within this


class _GoBack(Exception):
    """Leave this broker for an earlier one in the list."""


class Connection:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        s = agent.settings
        self._status_topic = agent.topics.status(s.device_id)
        self._event_topic = agent.topics.event(s.device_id)
        self.client: aiomqtt.Client | None = None
        self.ready = asyncio.Event()
        self._sent_key: tuple[Any, ...] | None = None  # what the last status published said
        self._sent_at = 0.0  # and when (monotonic)
        self._password = Path(s.mqtt.password_file).read_text().strip() if s.mqtt.password_file else None
        self.brokers = s.mqtt.endpoints
        self.broker = ""  # "host:port" of the broker it is on; "" while on none
        agent.resubscribe = self._resubscribe

    def _offline(self) -> bytes:
        return json.dumps(self.agent.status("offline").to_dict(), ensure_ascii=False).encode()

    def _make_client(self, host: str, port: int) -> aiomqtt.Client:
        s = self.agent.settings
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]  # paho has no annotations here
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        return aiomqtt.Client(
            host,
            port,
            identifier=s.device_id,
            protocol=aiomqtt.ProtocolVersion.V5,
            clean_start=False,
            properties=props,
            keepalive=s.mqtt.keepalive_s,
            timeout=15,
            username=s.mqtt.username or None,
            password=self._password,
            will=aiomqtt.Will(self._status_topic, self._offline(), qos=1, retain=True),
            tls_context=client_context(s.mqtt.ca_file) if s.mqtt.tls else None,
        )

    async def run(self) -> None:
        """Connect, serve, move on: for ever (until cancelled)."""
        n, i, failed, delay = len(self.brokers), 0, 0, 1.0
        while True:
            outcome = await self._session(i)
            if outcome == "failed":
                failed += 1
                i = (i + 1) % n
                if failed < n:
                    continue  # the next broker of this round, at once
                wait = delay * (0.5 + random.random())  # noqa: S311 - jitter only
                delay = min(delay * 2, self.agent.settings.mqtt.reconnect_max_s)
                failed, i = 0, 0  # a whole round failed: wait, then from the first again
            else:
                failed, delay = 0, 1.0
                # lost: the next broker; back: the first that answered (it is tried first, then the rest)
                i = (i + 1) % n if outcome == "lost" else 0
                wait = 0.0 if outcome == "back" else 0.5 + random.random()  # noqa: S311
            if wait:
                log.info("kết nối lại sau %.1f s", wait)
                await asyncio.sleep(wait)

    async def _session(self, i: int) -> str:
        """One connection to broker `i`, served until it ends: "failed" (never connected), "lost", or
        "back" (an earlier broker answers again)."""
        host, port = self.brokers[i]
        name = broker_name(host, port)
        connected, back = False, False
        try:
            async with self._make_client(host, port) as client:
                connected = True
                self.client, self.broker = client, name
                await client.subscribe([(t, 1) for t in self.agent.subscriptions()])
                log.info("đã kết nối %s, đăng ký %d chủ đề", name, len(self.agent.subscriptions()))
                await self.publish_status(client)
                self.ready.set()
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(
                        outbox.drain(client, self._event_topic, self.agent.store, self.agent.reporter),
                        name="outbox",
                    )
                    tg.create_task(self._status_loop(client), name="status")
                    tg.create_task(self._receive(client), name="receive")
                    if i > 0:
                        tg.create_task(self._watch_earlier(i), name="earlier")
        except* aiomqtt.MqttError as group:
            why = "; ".join(str(e) for e in group.exceptions)
            if connected:
                log.warning("mất kết nối MQTT %s: %s", name, why)
            else:
                log.warning("không kết nối được MQTT %s: %s", name, why)
        except* _GoBack:
            log.warning("máy chủ MQTT ưu tiên hơn đã trả lời lại: rời %s", name)
            back = True
        finally:
            self.client, self.broker = None, ""
            self.ready.clear()
            self.agent.write_local_status(self.agent.status(), connected=False)
        return "back" if back else "lost" if connected else "failed"

    async def _watch_earlier(self, i: int) -> None:
        """On broker `i` > 0: every return_after_s (randomised), whether an earlier broker opens a TCP
        connection; if one does, clear this device's retained status here (the hub must not read a stale one
        from this broker later) and raise _GoBack."""
        every = self.agent.settings.mqtt.return_after_s
        while True:
            await asyncio.sleep(every * (0.5 + random.random()))  # noqa: S311 - jitter only
            for host, port in self.brokers[:i]:
                if await _answers(host, port):
                    client = self.client
                    if client is not None:
                        with contextlib.suppress(aiomqtt.MqttError):
                            await client.publish(self._status_topic, b"", qos=1, retain=True, timeout=5)
                    raise _GoBack

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for msg in client.messages:
            payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload or "").encode()
            self.agent.handle(str(msg.topic), payload, retained=bool(msg.retain))

    async def publish_status(self, client: Any) -> None:
        agent = self.agent
        self._sent_key, self._sent_at = agent.status_key(), time.monotonic()
        agent.status_forced = False
        status = agent.status()
        # DeviceStatus.to_dict() is dataclasses.asdict, which deep-copies; every field is a scalar
        text = json.dumps({f: getattr(status, f) for f in _STATUS_FIELDS}, ensure_ascii=False)
        await client.publish(self._status_topic, text, qos=1, retain=True, timeout=15)
        agent.write_local_status(text, connected=True, broker=self.broker)

    async def _status_loop(self, client: aiomqtt.Client) -> None:
        """One status per change and one per heartbeat. A burst of changes (an emergency: alert, relay,
        play start) is folded into one; wake-ups that change nothing the hub acts on send nothing."""
        agent = self.agent
        changed = agent.status_changed
        heartbeat = agent.settings.heartbeat_s
        while True:
            left = heartbeat - (time.monotonic() - self._sent_at)
            if left > 0:
                with contextlib.suppress(TimeoutError):  # asyncio.timeout: see RadioRunner.run
                    async with asyncio.timeout(left):
                        await changed.wait()
                if changed.is_set():  # the debounce runs in this task only: the play never waits for it
                    await asyncio.sleep(STATUS_DEBOUNCE_S)
            changed.clear()
            if agent.trust.refresh_due():  # a thread hop only when the OS is actually asked
                await asyncio.to_thread(agent.trust.refresh)
            agent.sync_clock_trust()
            agent.housekeeping()
            due = time.monotonic() - self._sent_at >= heartbeat
            if due or agent.status_forced or agent.status_key() != self._sent_key:
                await self.publish_status(client)
                outbox.raise_if_cancelling()

    def _resubscribe(self) -> None:
        client = self.client
        if client is None:
            return
        topic = self.agent.topics.program(self.agent.settings.area, self.agent.settings.kind)

        async def again() -> None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.unsubscribe(topic)
                await client.subscribe(topic, qos=1)

        self.agent.spawn(again(), "resubscribe")

    async def shutdown(self, timeout_s: float = 3.0) -> None:
        """Clean stop: send what is pending (bounded), then an explicit offline status, then disconnect."""
        client = self.client
        if client is None:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(timeout_s):
                while self.agent.store.outbox_size():
                    self.agent.reporter.wake.set()
                    await asyncio.sleep(0.05)
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(self._status_topic, self._offline(), qos=1, retain=True, timeout=timeout_s)
        log.info("đã gửi trạng thái offline")


async def _answers(host: str, port: int) -> bool:
    """Whether a TCP connection to host:port opens within PROBE_TIMEOUT_S (closed at once)."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            _reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True
