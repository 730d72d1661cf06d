"""MQTT adapters: the publisher task (signed messages out) and the ingest task (device events/status in).

Both are owned by HubRuntime, which runs their `run()` as named tasks (hub/tasks.py); they reconnect
with growing randomised delays and are cancelled on shutdown. Publishes made while the broker is away
wait in the queue. Each notices a lost connection at once (the broker gone, or its session taken over by
another client with its client id) and says why in `lost` (for /healthz), not only at its next publish.

Several brokers (`mqtt.brokers`, docs/OPERATIONS.md "Two brokers"): `Publisher` and `Ingest` are facades
over one `BrokerPublisher` / `BrokerIngest` per broker. A message goes into every broker's queue at once
and each broker's own task sends it, so the brokers are never served one after the other (an emergency
reaches both together) and a broker that is down only fills its own queue, bounded (MAX_QUEUED_PER_BROKER:
the oldest is dropped); a full republish is asked for when that broker is back. A publish's future
resolves when the first broker acknowledged it. The ingest listens on every broker.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.broker import MESSAGE_SIZE_LIMIT
from hub.config import MqttConfig
from protocol.brokers import broker_name
from protocol.tls import client_context

log = logging.getLogger(__name__)
MAX_IN_FLIGHT = 200
# With several brokers, what one broker that is away may hold queued; beyond it the oldest goes (and all the
# programmes are republished when it is back: BrokerPublisher.on_gap). A connected one is never cut.
MAX_QUEUED_PER_BROKER = 20_000


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

    changed: Callable[[], None] | None = field(default=None, repr=False)  # told of each up/down (a facade)

    def up(self) -> None:
        self.connected.set()
        self.lost, self.since = "", asyncio.get_running_loop().time()
        if self.changed is not None:
            self.changed()

    def down(self, why: str) -> None:
        if self.connected.is_set():
            self.drops += 1
            self.last_loss = why
        self.connected.clear()
        self.lost, self.since = why, asyncio.get_running_loop().time()
        if self.changed is not None:
            self.changed()

    def follow(self, links: list[LinkState]) -> None:
        """Be the sum of `links`: connected while any of them is (the facade of several brokers)."""
        up = [link for link in links if link.connected.is_set()]
        if up and not self.connected.is_set():
            self.up()
        elif not up:  # all down: the latest reason (each failed retry of the last one, as a single link)
            self.down(max(links, key=lambda link: link.since).lost)


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


class BrokerPublisher:
    """One broker's publisher: queues messages and publishes them in order; urgent ones (alerts) jump the
    queue. `max_queued`: None = unbounded (one broker: everything waits for it); else, while the broker is
    away, the oldest queued message is dropped beyond it (a connected broker's queue is draining: a burst of
    programmes is not cut), and `on_gap` is called at each reconnection (its retained store may be older
    than what the hub sent) and at a first connection after drops."""

    def __init__(
        self,
        cfg: MqttConfig,
        password: str = "",
        *,
        name: str = "pub",
        connect: Connect | None = None,
        max_queued: int | None = None,
    ) -> None:
        self.cfg, self.password, self.name = cfg, password, name
        self.broker = broker_name(cfg.host, cfg.port)
        self.connect = connect or make_client  # builds the aiomqtt client for one connection
        self._urgent: deque[Outgoing] = deque()
        self._normal: deque[Outgoing] = deque()
        self._wake = asyncio.Event()
        self.link = LinkState()
        self.connected = self.link.connected
        self.published = 0
        self.refused = 0  # messages above MESSAGE_SIZE_LIMIT, failed instead of sent
        self.max_queued = max_queued
        self.dropped = 0  # queued messages dropped for max_queued
        self._gap = False  # some were dropped since the broker was last connected
        self._was_up = False  # connected before (a connection now is a reconnection)
        self.on_gap: Callable[[], None] | None = None

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
        if self.max_queued is not None and self.pending > self.max_queued and not self.connected.is_set():
            oldest = (self._normal or self._urgent).popleft()
            if oldest.done and not oldest.done.done():
                oldest.done.cancel()
            self.dropped += 1
            if not self._gap:
                log.warning("broker %s: more than %d messages waiting, dropping the oldest", self.broker,
                            self.max_queued)
            self._gap = True
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
                    log.info("publisher connected to %s", self.broker)
                    # Several brokers: one back after a loss may have lost what it retained (Mosquitto saves
                    # its store every 30 min by default) or what overflowed here: every programme again.
                    again = self._gap or (self.max_queued is not None and self._was_up)
                    self._gap, self._was_up = False, True
                    if again and self.on_gap is not None:
                        self.on_gap()
                    async with asyncio.TaskGroup() as tg:
                        tg.create_task(_watch(client), name=f"nguon-hub-mqtt-watch-{self.name}")
                        tg.create_task(self._pump(client), name=f"nguon-hub-mqtt-pump-{self.name}")
            except* aiomqtt.MqttError as group:
                why = describe(group.exceptions[0])
                self.link.down(why)
                delay = backoff.next()
                log.warning("publisher lost the broker %s (%s); retrying in %.1f s", self.broker, why, delay)
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


# (topic, payload, retained): a retained status is one the broker kept, maybe older than one already read
Handler = Callable[[str, bytes, bool], Awaitable[None] | None]


class BrokerIngest:
    """One broker's ingest: subscribes to device/+/event and device/+/status and hands each message to
    `handler`."""

    def __init__(self, cfg: MqttConfig, password: str, topics: list[str], handler: Handler) -> None:
        self.cfg, self.password, self.topics, self.handler = cfg, password, topics, handler
        self.broker = broker_name(cfg.host, cfg.port)
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
                    share = self.cfg.ingest_share_group
                    for t in self.topics:  # the handler reads the real topic either way
                        await client.subscribe(f"$share/{share}/{t}" if share else t, qos=1)
                    self.link.up()
                    backoff.reset()
                    async for msg in client.messages:
                        self.received += 1
                        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                        try:
                            res = self.handler(str(msg.topic), payload, bool(msg.retain))
                            if asyncio.iscoroutine(res):
                                await res
                        except Exception:  # one bad message must not stop the ingest
                            log.exception("could not store message on %s", msg.topic)
            except aiomqtt.MqttError as exc:
                why = describe(exc)
                self.link.down(why)
                delay = backoff.next()
                log.warning("ingest lost the broker %s (%s); retrying in %.1f s", self.broker, why, delay)
                await asyncio.sleep(delay)


def _follow(link: LinkState, parts: list[LinkState]) -> None:
    """`link` is up while any of `parts` is (each broker's link of a facade)."""
    for part in parts:
        part.changed = lambda: link.follow(parts)


async def _run_all(runs: dict[str, Callable[[], Coroutine[Any, Any, None]]], what: str) -> None:
    """Each broker's task side by side (one broker: just its own, so its death reads as today's); ends
    (raises) when one dies of an error that is not a broker's."""
    if len(runs) == 1:
        await next(iter(runs.values()))()
        return
    async with asyncio.TaskGroup() as tg:
        for broker, run in runs.items():
            tg.create_task(run(), name=f"nguon-hub-mqtt-{what}-{broker}")


class Publisher:
    """What the hub publishes through: one BrokerPublisher per broker of the config (mqtt.brokers, or the
    one host:port), the same calls as one. A message is queued for every broker at once; its future
    resolves when the first broker acknowledged it (fails when every broker failed it). `link` is up while
    any broker is; `brokers` has each one's own link and queue (/healthz)."""

    def __init__(
        self, cfg: MqttConfig, password: str = "", *, name: str = "pub", connect: Connect | None = None
    ) -> None:
        ends = cfg.endpoints
        bound = MAX_QUEUED_PER_BROKER if len(ends) > 1 else None
        self.brokers = [
            BrokerPublisher(cfg.for_broker(h, p), password, name=name, connect=connect, max_queued=bound)
            for h, p in ends
        ]
        self.link = LinkState()
        self.connected = self.link.connected
        _follow(self.link, [b.link for b in self.brokers])

    @property
    def on_gap(self) -> Callable[[], None] | None:
        return self.brokers[0].on_gap

    @on_gap.setter
    def on_gap(self, call: Callable[[], None] | None) -> None:
        """Called when a broker is back (after a loss, or its queue overflowed): the hub republishes
        everything (several brokers only)."""
        for b in self.brokers:
            b.on_gap = call

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
        futs = [
            b.publish(topic, payload, qos=qos, retain=retain, expiry_s=expiry_s, urgent=urgent)
            for b in self.brokers
        ]
        if len(futs) == 1:
            return futs[0]
        out: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def settle(done: asyncio.Future[None]) -> None:
            failed = done.cancelled() or done.exception() is not None  # retrieved: no "never retrieved" log
            if out.done():
                return
            if not failed:
                out.set_result(None)
            elif all(f.done() for f in futs):  # every broker failed it: the first reason
                errors = [e for f in futs if not f.cancelled() and (e := f.exception()) is not None]
                if errors:
                    out.set_exception(errors[0])
                    out.exception()  # a caller that does not wait must not log "never retrieved"
                else:
                    out.cancel()

        for f in futs:
            f.add_done_callback(settle)
        return out

    @property
    def pending(self) -> int:
        """Messages some broker still has to send (the longest queue)."""
        return max(b.pending for b in self.brokers)

    @property
    def published(self) -> int:
        return max(b.published for b in self.brokers)

    @property
    def refused(self) -> int:
        return self.brokers[0].refused  # a message too big is refused by each alike

    async def drain(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a bound, not a cancel scope
        """Wait until everything queued so far was acknowledged by every broker that is connected (one that
        is away keeps its queue for when it is back)."""
        live = [b for b in self.brokers if b.connected.is_set()] or self.brokers[:1]
        await asyncio.gather(*(b.drain(timeout) for b in live))

    def abandon(self) -> None:
        for b in self.brokers:
            b.abandon()

    async def run(self) -> None:
        """Every broker's publisher task, side by side; ends (raises) when one dies of an error that is not
        a broker's."""
        await _run_all({b.broker: b.run for b in self.brokers}, "pub")


class Ingest:
    """The device reports from every broker (one BrokerIngest each) to one handler; `connected` while any
    broker is."""

    def __init__(self, cfg: MqttConfig, password: str, topics: list[str], handler: Handler) -> None:
        self.brokers = [
            BrokerIngest(cfg.for_broker(h, p), password, topics, handler) for h, p in cfg.endpoints
        ]
        self.link = LinkState()
        self.connected = self.link.connected
        _follow(self.link, [b.link for b in self.brokers])

    @property
    def received(self) -> int:
        return sum(b.received for b in self.brokers)

    async def run(self) -> None:
        await _run_all({b.broker: b.run for b in self.brokers}, "ingest")
