"""MQTT adapters: the publisher task (signed messages out) and the ingest task (device events/status in).

Both are owned by HubRuntime, which runs their `run()` as named tasks (hub/tasks.py); they reconnect
with growing randomised delays and are cancelled on shutdown. Publishes made while the broker is away
wait in the queue. Each notices a lost connection at once (the broker gone, or its session taken over by
another client with its client id) and says why in `lost` (for /healthz), not only at its next publish.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.broker import MESSAGE_SIZE_LIMIT
from hub.config import MqttConfig
from protocol.tls import client_context

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 200


class MessageTooLarge(ValueError):
    """A message above the broker's MESSAGE_SIZE_LIMIT: never sent (the broker would drop it, or drop us)."""


@dataclass
class LinkState:
    """Whether one MQTT client is connected and, when not, since when and why (shown by /healthz)."""

    connected: asyncio.Event = field(default_factory=asyncio.Event)
    lost: str = "chưa kết nối"  # why it is not connected; "" while connected
    since: float = 0.0  # loop time of the last change
    drops: int = 0  # connections lost since start (a flapping link shows here even when it is up)
    last_loss: str = ""  # why the last one was lost

    def up(self) -> None:
        self.connected.set()
        self.lost, self.since = "", asyncio.get_running_loop().time()

    def down(self, why: str) -> None:
        if self.connected.is_set():
            self.drops += 1
            self.last_loss = why
        self.connected.clear()
        self.lost, self.since = why, asyncio.get_running_loop().time()


def describe(exc: BaseException) -> str:
    """An MQTT error as an operator reads it, with paho's reason code when there is one."""
    cause = exc.__cause__ or exc.__context__
    text = str(exc)
    if isinstance(cause, aiomqtt.MqttError) and str(cause) not in text:
        text = f"{text}: {cause}"
    return text[:300]


async def _watch(client: aiomqtt.Client) -> None:
    """Return only by raising MqttError when the connection drops (aiomqtt ends its message iterator at
    once on a disconnect; the publisher subscribes to nothing, so nothing else arrives here)."""
    async for _ in client.messages:
        pass
    raise aiomqtt.MqttError("disconnected")


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
        delay = min(self.cap, self.first * 2.0**self.n)
        self.n += 1
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not security

    def reset(self) -> None:
        self.n = 0


def make_client(
    cfg: MqttConfig,
    password: str,
    suffix: str,
    will: aiomqtt.Will | None = None,
    *,
    cls: type[aiomqtt.Client] = aiomqtt.Client,
) -> aiomqtt.Client:
    """The hub's aiomqtt client for one connection (client id `<client_id>-<suffix>`)."""
    client = cls(
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


Connect = Callable[[MqttConfig, str, str], aiomqtt.Client]


class Publisher:
    """Queues messages and publishes them in order; urgent ones (alerts) jump the queue."""

    def __init__(
        self, cfg: MqttConfig, password: str = "", *, name: str = "pub", connect: Connect | None = None
    ) -> None:
        self.cfg, self.password, self.name = cfg, password, name
        self.connect = connect or make_client  # builds the aiomqtt client for one connection
        self._urgent: deque[Outgoing] = deque()
        self._normal: deque[Outgoing] = deque()
        self._wake = asyncio.Event()
        self.link = LinkState()
        self.connected = self.link.connected
        self.published = 0
        self.refused = 0  # messages above MESSAGE_SIZE_LIMIT, failed instead of sent

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
        """Enqueue; the future resolves when the broker acknowledged (QoS 1), or fails at once with
        MessageTooLarge for a message the broker would refuse (sending it would only drop the connection and
        send it again, for ever)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if len(payload) > MESSAGE_SIZE_LIMIT:
            self.refused += 1
            log.error("not publishing %d bytes on %s: over the broker's limit of %d", len(payload), topic,
                      MESSAGE_SIZE_LIMIT)
            fut.set_exception(MessageTooLarge(f"{len(payload)} bytes on {topic}: over {MESSAGE_SIZE_LIMIT}"))
            fut.exception()  # retrieved here: a caller that does not wait must not log "never retrieved"
            return fut
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

    def abandon(self) -> None:
        """After the task stopped: fail what is still queued (its senders stop waiting)."""
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
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # paho's __init__ is unannotated
            props.MessageExpiryInterval = max(1, int(o.expiry_s))
        # not acknowledged (an error, or cancelled with the connection): _pump puts it back in the queue
        await client.publish(o.topic, o.payload, qos=o.qos, retain=o.retain, properties=props, timeout=30)
        self.published += 1
        if o.done and not o.done.done():
            o.done.set_result(None)

    async def run(self) -> None:
        """The publisher's task (owned by the caller): connect, send in order, reconnect; runs until
        cancelled, or dies of an error that is not the broker's."""
        backoff = Backoff()
        while True:
            try:
                async with self.connect(self.cfg, self.password, self.name) as client:
                    self.link.up()
                    backoff.reset()
                    log.info("publisher connected to %s:%s", self.cfg.host, self.cfg.port)
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(_watch(client), name=f"nguon-hub-mqtt-watch-{self.name}")
                        tg.create_task(self._pump(client), name=f"nguon-hub-mqtt-pump-{self.name}")
            except* aiomqtt.MqttError as group:
                why = describe(group.exceptions[0])
                self.link.down(why)
                delay = backoff.next()
                log.warning("publisher lost the broker (%s); retrying in %.1f s", why, delay)
                await asyncio.sleep(delay)

    async def _pump(self, client: aiomqtt.Client) -> None:
        inflight: dict[asyncio.Task[None], Outgoing] = {}  # in the order sent
        try:
            while True:
                o = self._next()
                if o is None:
                    self._wake.clear()
                    if inflight:
                        await self._settle(inflight)
                        continue
                    await self._wake.wait()
                    continue
                # paho sends synchronously when publish() starts, so tasks keep the queue order
                task = asyncio.create_task(self._send(client, o), name=f"nguon-hub-mqtt-send-{self.name}")
                inflight[task] = o
                await asyncio.sleep(0)
                if len(inflight) >= MAX_IN_FLIGHT:
                    await self._settle(inflight)
        finally:
            for t in inflight:
                t.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)
            failed = [o for t, o in inflight.items() if t.cancelled() or t.exception() is not None]
            # first again after reconnecting, in the order they were sent (a newer retained programme must
            # not be overwritten on the broker by an older one sent after it)
            self._urgent.extendleft(reversed(failed))
            self._wake.set()

    @staticmethod
    async def _settle(inflight: dict[asyncio.Task[None], Outgoing]) -> None:
        """Wait for at least one send to finish; forget the acknowledged; raise the first failure."""
        done, _ = await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            if t.exception() is None:
                del inflight[t]
        for t in done:
            t.result()


Handler = Callable[[str, bytes], Awaitable[None] | None]


class Ingest:
    """Subscribes to device/+/event and device/+/status and hands each message to `handler`."""

    def __init__(self, cfg: MqttConfig, password: str, topics: list[str], handler: Handler) -> None:
        self.cfg, self.password, self.topics, self.handler = cfg, password, topics, handler
        self.link = LinkState()
        self.connected = self.link.connected
        self.received = 0

    async def run(self) -> None:
        """The ingest's task (owned by the caller): subscribe, hand messages over, reconnect; until
        cancelled."""
        backoff = Backoff()
        while True:
            try:
                async with make_client(self.cfg, self.password, "ingest") as client:
                    for t in self.topics:
                        await client.subscribe(t, qos=1)
                    self.link.up()
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
                why = describe(exc)
                self.link.down(why)
                delay = backoff.next()
                log.warning("ingest lost the broker (%s); retrying in %.1f s", why, delay)
                await asyncio.sleep(delay)
