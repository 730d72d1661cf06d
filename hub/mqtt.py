"""MQTT adapters: the publisher task (signed messages out) and the ingest task (device events/status in).

Both are owned by HubRuntime, run as named tasks, reconnect with growing randomised delays and are
cancelled on shutdown. Publishes made while the broker is away wait in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.config import MqttConfig
from protocol.tls import client_context

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 200


@dataclass
class Outgoing:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
    expiry_s: int | None = None
    done: asyncio.Future[None] | None = field(default=None, repr=False)


class Backoff:
    """Growing, randomised reconnect delays (0.2 s .. 30 s)."""

    def __init__(self, first: float = 0.2, cap: float = 30.0) -> None:
        self.first, self.cap, self.n = first, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.first * (2**self.n))
        self.n += 1
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security

    def reset(self) -> None:
        self.n = 0


def _client(cfg: MqttConfig, password: str, suffix: str, will: aiomqtt.Will | None = None) -> aiomqtt.Client:
    client = aiomqtt.Client(
        cfg.host,
        cfg.port,
        username=cfg.username or None,
        password=password or None,
        identifier=f"{cfg.client_id}-{suffix}",
        protocol=aiomqtt.ProtocolVersion.V5,
        keepalive=cfg.keepalive_s,
        timeout=10,
        max_concurrent_outgoing_calls=MAX_IN_FLIGHT,
        will=will,
        tls_context=client_context(cfg.ca_file) if cfg.tls else None,
    )
    # aiomqtt warns above 10 unacknowledged publishes; the hub keeps up to MAX_IN_FLIGHT on purpose (a
    # programme per commune after an approval), so only more than that is worth a line in the log.
    client.pending_calls_threshold = MAX_IN_FLIGHT
    return client


class Publisher:
    """Queues messages and publishes them in order; urgent ones (alerts) jump the queue."""

    def __init__(self, cfg: MqttConfig, password: str = "", *, name: str = "pub") -> None:
        self.cfg, self.password, self.name = cfg, password, name
        self._urgent: deque[Outgoing] = deque()
        self._normal: deque[Outgoing] = deque()
        self._wake = asyncio.Event()
        self.connected = asyncio.Event()
        self.published = 0
        self._task: asyncio.Task[None] | None = None

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        expiry_s: int | None = None,
        urgent: bool = False,
    ) -> asyncio.Future[None]:
        """Enqueue; the future resolves when the broker acknowledged (QoS 1)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(
            Outgoing(topic, payload, qos, retain, expiry_s, fut)
        )
        self._wake.set()
        return fut

    @property
    def pending(self) -> int:
        return len(self._urgent) + len(self._normal)

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a bound, not a cancel scope
        """Wait until everything queued so far was acknowledged."""
        futs = [o.done for o in (*self._urgent, *self._normal) if o.done]
        if futs:
            await asyncio.wait_for(asyncio.gather(*futs, return_exceptions=True), timeout)

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._run(), name=f"nguon-hub-mqtt-{self.name}")
        return self._task

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for o in (*self._urgent, *self._normal):
            if o.done and not o.done.done():
                o.done.cancel()

    def _next(self) -> Outgoing | None:
        if self._urgent:
            return self._urgent.popleft()
        if self._normal:
            return self._normal.popleft()
        return None

    async def _send(self, client: aiomqtt.Client, o: Outgoing) -> None:
        props = None
        if o.expiry_s is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.MessageExpiryInterval = max(1, int(o.expiry_s))
        try:
            await client.publish(o.topic, o.payload, qos=o.qos, retain=o.retain, properties=props, timeout=30)
        except aiomqtt.MqttError:
            self._urgent.appendleft(o)  # not acknowledged: send again after reconnecting
            self._wake.set()
            raise
        self.published += 1
        if o.done and not o.done.done():
            o.done.set_result(None)

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            try:
                async with _client(self.cfg, self.password, self.name) as client:
                    self.connected.set()
                    backoff.reset()
                    log.info("publisher connected to %s:%s", self.cfg.host, self.cfg.port)
                    inflight: set[asyncio.Task[None]] = set()
                    while True:
                        o = self._next()
                        if o is None:
                            self._wake.clear()
                            if inflight:
                                done, inflight = await asyncio.wait(
                                    inflight, return_when=asyncio.FIRST_COMPLETED
                                )
                                for t in done:
                                    t.result()
                                continue
                            await self._wake.wait()
                            continue
                        # paho sends synchronously when publish() starts, so tasks keep the queue order
                        task = asyncio.create_task(
                            self._send(client, o), name=f"nguon-hub-mqtt-send-{self.name}"
                        )
                        inflight.add(task)
                        await asyncio.sleep(0)
                        if len(inflight) >= MAX_IN_FLIGHT:
                            done, inflight = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                            for t in done:
                                t.result()
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                delay = backoff.next()
                log.warning("publisher lost the broker (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)


Handler = Callable[[str, bytes], Awaitable[None] | None]


class Ingest:
    """Subscribes to device/+/event and device/+/status and hands each message to `handler`."""

    def __init__(self, cfg: MqttConfig, password: str, topics: list[str], handler: Handler) -> None:
        self.cfg, self.password, self.topics, self.handler = cfg, password, topics, handler
        self.connected = asyncio.Event()
        self.received = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._run(), name="nguon-hub-mqtt-ingest")
        return self._task

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            try:
                async with _client(self.cfg, self.password, "ingest") as client:
                    for t in self.topics:
                        await client.subscribe(t, qos=1)
                    self.connected.set()
                    backoff.reset()
                    async for msg in client.messages:
                        self.received += 1
                        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                        try:
                            res = self.handler(str(msg.topic), payload)
                            if asyncio.iscoroutine(res):
                                await res
                        except Exception:  # one bad message must not stop the ingest
                            log.exception("could not store message on %s", msg.topic)
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                delay = backoff.next()
                log.warning("ingest lost the broker (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)


def decode_json(payload: bytes) -> Any:
    return json.loads(payload.decode("utf-8"))
