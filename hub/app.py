"""Wiring: build_app() for in-process use and HubRuntime, which owns the HTTP server and MQTT tasks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

import hub.api.central  # noqa: F401 - registers the central system's routes on `api`
from hub import web as web_ui
from hub.api import (
    admin_routes,  # noqa: F401 - registers plays, users, audit, areas, devices and keys
    stats_routes,  # noqa: F401 - registers the statistics routes on `api`
    voice_routes,  # noqa: F401 - registers the voices' routes on `api`
)
from hub.api import live as _live_routes  # noqa: F401 - registers the live routes on `api`
from hub.api import relays as _relay_routes  # noqa: F401 - registers the relay routes on `api`
from hub.api.framework import MAX_UPLOAD, SERVICES, error_middleware, json_response
from hub.api.routes import api
from hub.broker import DEFAULT_HUB_USER
from hub.broker_sync import BrokerSync
from hub.central.feeds import FeedReader
from hub.config import HubConfig
from hub.db import Database
from hub.election import Leadership, LeadershipLost
from hub.errors import NotFound
from hub.limits import body_limit_middleware
from hub.mqtt import Ingest, Publisher
from hub.roles import SYSTEM
from hub.scheduler import MidnightScheduler
from hub.services import Context, Services, reports
from hub.services.base import Speaker
from hub.services.publishing import PublisherLike, RecordingPublisher
from hub.signing import Envelopes, SeqAllocator, load_or_create_key
from hub.tasks import OwnedTasks
from protocol.clock import Clock, ShiftedClock, parse_time
from protocol.topics import Topics

log = logging.getLogger(__name__)
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
RUNTIME: web.AppKey[HubRuntime] = web.AppKey("runtime")
# sha256 -> MIME type; content-addressed files never change, and an emergency brings every device at once.
MEDIA_MIME: web.AppKey[dict[str, str]] = web.AppKey("media_mime")


def build_services(
    config: HubConfig,
    *,
    clock: Clock | None = None,
    publisher: PublisherLike | None = None,
    speech: Speaker | None = None,
    db: Database | None = None,
) -> Services:
    """Database (migrated), key, seq, speech and services; no network."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    db = db or Database(config.database_url, echo=config.database.echo)
    db.migrate()
    clock = clock or ShiftedClock(config.clock_offset_s)
    ctx = Context(db=db, config=config, clock=clock)
    key = load_or_create_key(config.signing_key_path)
    envelopes = Envelopes(key, SeqAllocator(db), clock)
    if speech is None:
        from hub.speech import SpeechService  # noqa: PLC0415

        speech = SpeechService(config)
    return Services(ctx, envelopes=envelopes, publisher=publisher or RecordingPublisher(), speech=speech)


async def media_handler(request: web.Request) -> web.StreamResponse:
    sha = request.match_info["sha256"]
    if not SHA_RE.match(sha):
        raise NotFound("Mã tệp phải là sha256 (64 chữ số hex).", field="sha256")
    services = request.app[SERVICES]
    path = services.media.path_for(sha)
    if not path.exists():
        raise NotFound(f"Không có tệp {sha}.", field="sha256")
    known: dict[str, str] = request.app[MEDIA_MIME]
    mime = known.get(sha)
    if mime is None:
        try:
            mime = known[sha] = services.media.get(sha).mime
        except NotFound:
            mime = "application/octet-stream"
    resp = web.FileResponse(
        path,
        headers={
            "Content-Type": mime,
            "Cache-Control": "public, max-age=31536000, immutable",
            "ETag": f'"{sha}"',
        },
    )
    return resp


def _mqtt_health(publisher: Publisher, ingest: Ingest | None) -> tuple[dict[str, Any], list[str]]:
    """Each MQTT client's link, and why the hub cannot publish or hear devices (Vietnamese, for operators)."""
    loop = asyncio.get_running_loop()
    mqtt: dict[str, Any] = {"queued": publisher.pending}
    reasons = []
    clients: tuple[tuple[str, Publisher | Ingest | None, str], ...] = (
        ("publisher", publisher, "không gửi được tin tới thiết bị"),
        ("ingest", ingest, "không nhận được báo cáo của thiết bị"),
    )
    if len(publisher.brokers) > 1:
        mqtt["brokers"], degraded = _broker_links(publisher, ingest)
        if degraded:
            mqtt["degraded"] = "; ".join(degraded)
    for name, client, what in clients:
        up = client is not None and client.link.connected.is_set()
        mqtt[name] = up
        if client is not None:
            mqtt[f"{name}_drops"] = client.link.drops
            mqtt[f"{name}_last_loss"] = client.link.last_loss or None
        if not up:
            lost = client.link.lost if client is not None else "chưa chạy"
            ago = loop.time() - client.link.since if client is not None and client.link.since else None
            mqtt[f"{name}_lost"] = lost
            mqtt[f"{name}_lost_s"] = round(ago, 1) if ago is not None else None
            reasons.append(f"mất kết nối MQTT ({name}: {lost}): {what}")
    return mqtt, reasons


def _broker_links(publisher: Publisher, ingest: Ingest | None) -> tuple[dict[str, Any], list[str]]:
    """Two brokers: each one's links (publisher, ingest, queue) and, for one that is down, what it means. The
    hub stays healthy (200) while every link has at least one broker: agents move to the other one; the
    operator is told in `degraded` (and the broker's own monitoring)."""
    loop = asyncio.get_running_loop()
    ingests = {b.broker: b for b in ingest.brokers} if ingest is not None else {}
    out: dict[str, Any] = {}
    degraded = []
    for pub in publisher.brokers:
        links = {"publisher": pub.link}
        if pub.broker in ingests:
            links["ingest"] = ingests[pub.broker].link
        one: dict[str, Any] = {"queued": pub.pending, "dropped": pub.dropped}
        for what, link in links.items():
            one[what] = link.connected.is_set()
            one[f"{what}_drops"] = link.drops
            if not link.connected.is_set():
                one[f"{what}_lost"] = link.lost
                one[f"{what}_lost_s"] = round(loop.time() - link.since, 1) if link.since else None
        if not all(link.connected.is_set() for link in links.values()):
            degraded.append(f"máy chủ MQTT {pub.broker} không kết nối được: thiết bị dùng máy chủ còn lại")
        out[pub.broker] = one
    return out, degraded


# What a dead background task stops (Vietnamese, for operators reading /healthz).
TASK_STOPS = {
    "publisher": "không gửi được tin tới thiết bị",
    "ingest": "không nhận được báo cáo của thiết bị",
    "statuses": "không lưu được trạng thái thiết bị",
    "republisher": "không phát hành lại được chương trình",
    "midnight": "không chuyển chương trình sang ngày mới lúc nửa đêm",
    "stats-catchup": "không tổng hợp số liệu thống kê của các ngày còn thiếu",
    "intents": "không gửi được tin của các thay đổi đã lưu",
    "leadership": "mất khoá phát hành trong cơ sở dữ liệu, đã ngừng gửi tin",
    "election": "không nhận được quyền phát hành khi máy chủ đang phát hành dừng",
    "broker-files": "tài khoản và ACL của máy chủ MQTT không còn theo danh sách thiết bị",
}


async def healthz(request: web.Request) -> web.Response:
    """For monitoring (no login): 200 when the hub can publish and hear devices, else 503 with the reason
    (the MQTT clients notice a lost broker at once; a background task that died of anything is named in
    `dead_tasks`); and the devices' counts (total, online, needing
    attention: the same rules as the Thiết bị page)."""
    rt = request.app.get(RUNTIME)
    mqtt = None
    reasons: list[str] = []
    dead: dict[str, str] = rt.dead_tasks() if rt is not None else {}
    for name, why in dead.items():
        reasons.append(f"tác vụ nền {name} đã dừng ({why}): {TASK_STOPS.get(name, 'hub không hoạt động đủ')}")
    leading = rt is None or rt.role["role"] == "leader"
    if rt is not None and rt.broker_sync is not None and (stale := rt.broker_sync.problem()):
        reasons.append(stale)
    if rt is not None and rt.publisher is not None and leading:
        mqtt, link_reasons = _mqtt_health(rt.publisher, rt.ingest)
        reasons += link_reasons
    devices = await asyncio.to_thread(request.app[SERVICES].devices.list, SYSTEM)
    counts = {
        "total": len(devices),
        "online": sum(1 for d in devices if d["online"]),
        "attention": sum(1 for d in devices if d["problems"]),
    }
    ok = not reasons
    body: dict[str, Any] = {"ok": ok, "mqtt": mqtt, "devices": counts}
    if rt is not None:  # hub roles: the leader publishes, a standby serves web and API (hub/election.py)
        body["role"] = rt.role["role"]
        body["role_since"] = rt.role["since"]
    if rt is not None and rt.broker_sync is not None:
        body["broker_files"] = rt.broker_sync.describe()
    if dead:
        body["dead_tasks"] = dead
    if not ok:
        body["reason"] = "; ".join(reasons)
    return json_response(body, status=200 if ok else 503)


def build_app(
    config: HubConfig,
    *,
    clock: Clock | None = None,
    services: Services | None = None,
    publisher: PublisherLike | None = None,
    speech: Speaker | None = None,
) -> web.Application:
    """The aiohttp application: API, /media, /healthz and the web UI (hub.web)."""
    services = services or build_services(config, clock=clock, publisher=publisher, speech=speech)
    max_upload = config.http.max_upload_mb * 1024 * 1024
    # Each route's own limit (hub.limits) is applied by the middleware; the application's is the largest.
    app = web.Application(
        middlewares=[error_middleware, body_limit_middleware(max_upload)], client_max_size=max_upload
    )
    app[SERVICES] = services
    app[MAX_UPLOAD] = max_upload
    app[MEDIA_MIME] = {}
    api.install(app)
    app.router.add_get("/media/{sha256}", media_handler)
    app.router.add_get("/healthz", healthz)
    web_ui.setup(app, services)
    return app


class HubRuntime:
    """`async with HubRuntime(config) as hub:` runs the hub: HTTP on hub.url, MQTT publisher and ingest.

    The background tasks (publisher, ingest, statuses, republisher, midnight, stats-catchup) live in one
    TaskGroup (hub/tasks.py); every start step pushes its stop step on an AsyncExitStack. `publisher`
    replaces the MQTT publisher built from the config (a test passes one whose aiomqtt client fails)."""

    def __init__(
        self,
        config: HubConfig,
        *,
        clock: Clock | None = None,
        speech: Speaker | None = None,
        scheduler: bool | None = None,
        publisher: Publisher | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.speech = speech
        self.publisher: Publisher | None = None
        self.ingest: Ingest | None = None
        self.services: Services | None = None
        self.app: web.Application | None = None
        self.url = ""
        self.port = 0
        self._scheduler: MidnightScheduler | None = None
        self._want_scheduler = config.programme.scheduler if scheduler is None else scheduler
        # Latest status per device, stored in batches: an emergency changes every device's status at once,
        # and one transaction per status message would keep the hub busy while devices fetch the media.
        self._statuses: dict[str, Any] = {}
        self._status_at: dict[str, float] = {}  # the device's `at` of the newest status read (two brokers)
        self._statuses_wake = asyncio.Event()
        self.tasks: OwnedTasks | None = None  # publisher, ingest, statuses, republisher and midnight
        self._publisher = publisher
        self._stack = contextlib.AsyncExitStack()
        self.leadership: Leadership | None = None  # with MQTT: who publishes (hub/election.py)
        self.broker_sync: BrokerSync | None = None  # managed broker files, on the leader (hub/broker_sync.py)
        self.lost = asyncio.Event()  # set when this process stopped leading (hub serve then exits)
        self.started = datetime.now(UTC)

    async def start(self) -> HubRuntime:
        """Start every part; each one started pushes its stop step on the exit stack, so stop() (or a failed
        start) undoes exactly what was started, in reverse order, every step even when one fails.

        With MQTT on PostgreSQL a process that does not get the publisher lock stands by (hub/election.py):
        web UI and API only, trying for the lock; it takes the publishing parts (`_lead`) when it gets it. On
        SQLite a second process stops with HubAlreadyRunning (one process per database)."""
        cfg, stack = self.config, self._stack
        if cfg.mqtt.enabled:
            self.publisher = self._publisher or Publisher(cfg.mqtt, cfg.mqtt_password())
        self.services = await asyncio.to_thread(
            build_services, cfg, clock=self.clock, publisher=self.publisher, speech=self.speech
        )
        services = self.services
        stack.callback(services.ctx.db.dispose)
        leading = True
        if self.publisher is not None:
            self.leadership = Leadership(services.ctx.db)
            leading = await asyncio.to_thread(self.leadership.try_lead)
            stack.callback(self.leadership.release)
            stack.callback(self.publisher.abandon)  # after its task stopped: what is still queued fails
        services.intents.leading = False  # until _lead has sent what a previous leader left
        self.tasks = await stack.enter_async_context(OwnedTasks("nguon-hub"))
        self.app = build_app(cfg, services=services)
        self.app[RUNTIME] = self
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, cfg.http.host, cfg.http.port)
        await site.start()
        bound = runner.addresses  # (host, port, ...) of each listening socket: port 0 picks a free one
        self.port = int(bound[0][1]) if bound else cfg.http.port
        self.url = f"http://{cfg.http.host}:{self.port}"
        if leading:
            await self._lead()
        else:
            log.warning("another hub process publishes for this database: this one stands by (web and API)")
            self.tasks.start("election", self._stand_by())
        return self

    async def _stand_by(self) -> None:
        """Owned task of a standby: wait for the publisher lock, then take the publishing parts."""
        assert self.leadership is not None
        await self.leadership.wait_to_lead()
        await self._lead()

    async def _lead(self) -> None:
        """The publishing parts: MQTT publisher and ingest, what previous leaders left in the outbox (first,
        byte for byte), the republisher (every programme again), intents, midnight job, central link."""
        cfg, stack, services, tasks = self.config, self._stack, self.services, self.tasks
        assert services is not None and tasks is not None
        # last stop step: what the broker acknowledged while the publisher drained is written down as done
        stack.push_async_callback(services.intents.settle)
        if self.publisher is not None:
            assert self.leadership is not None
            tasks.start("leadership", self._watch_leadership())
            stack.push_async_callback(tasks.cancel, "leadership")
            tasks.start("publisher", self._run_publisher(services))
            stack.push_async_callback(self._drain_publisher)
        # What a previous leader left (its signed messages again, byte for byte) goes first, before anything
        # new and before the other parts start (a takeover is timed from here: docs/PERFORMANCE.md).
        left = await services.intents.catch_up()
        if left:
            log.warning("sent %d publish intents a previous hub process left unfinished", left)
        if self.publisher is not None:
            topics = Topics(cfg.mqtt.topic_prefix)
            tasks.start("statuses", self._store_statuses())
            stack.push_async_callback(self._stop_statuses)
            self.ingest = Ingest(
                cfg.mqtt, cfg.mqtt_password(), [topics.all_events(), topics.all_status()], self._on_message
            )
            tasks.start("ingest", self.ingest.run())
            stack.push_async_callback(tasks.cancel, "ingest")
        if cfg.broker_files.enabled:  # the brokers' ACL and password files follow the registry
            self.broker_sync = BrokerSync(
                cfg.broker_files, services.ctx.db, hub_user=cfg.mqtt.username or DEFAULT_HUB_USER,
                prefix=cfg.mqtt.topic_prefix, tz=services.ctx.tz,
            )
            stack.callback(self.broker_sync.watch())
            services.broker_sync = self.broker_sync  # the admin's start page shows its problem
            tasks.start("broker-files", self.broker_sync.run())
            stack.push_async_callback(tasks.cancel, "broker-files")
        tasks.start("republisher", services.publishing.run())
        stack.push_async_callback(services.publishing.stop)  # also the republishes planned for later
        stack.push_async_callback(tasks.cancel, "republisher")
        stack.push_async_callback(services.live.aclose)  # live sessions end (their stop sent) first
        if cfg.central.feeds:  # CAP feeds the hub follows (hub/central/feeds.py)
            tasks.start("cap-feeds", FeedReader(services.central).run())
            stack.push_async_callback(tasks.cancel, "cap-feeds")
        if cfg.email.enabled:  # notifications by e-mail (hub/services/mailer.py)
            tasks.start("email", services.mailer.run())
            stack.push_async_callback(tasks.cancel, "email")
        if cfg.central.peer_url:  # reports and CAP alerts up to the central system (hub/central/outbox.py)
            tasks.start("central", services.central_outbox.run())
            stack.push_async_callback(tasks.cancel, "central")
        if self._want_scheduler:
            self._start_scheduled(tasks, stack, services)
        # Then everything retained is republished, so agents are brought up to date (and a hub that was down
        # over midnight finishes what expired meanwhile).
        services.intents.leading = True
        tasks.start("intents", services.intents.run())
        stack.push_async_callback(tasks.cancel, "intents")
        await asyncio.to_thread(services.bulletins_finish_expired)
        services.publishing.republish_soon(None)
        stack.callback(services.central.close)  # central emergencies waiting for confirmation (timers)
        await services.central.resume()

    async def _watch_leadership(self) -> None:
        """Owned task: a leader whose lock connection is lost stops publishing (the group's other tasks are
        cancelled when this one fails) and the process ends (`lost`; hub serve exits with status 3)."""
        assert self.leadership is not None
        try:
            await self.leadership.watch()
        except LeadershipLost:
            self.lost.set()
            raise

    @property
    def role(self) -> dict[str, str]:
        """For /healthz: leader or standby, and since when (a hub without MQTT leads: nothing to share)."""
        if self.leadership is not None:
            return self.leadership.describe()
        return {"role": "leader", "since": self.started.isoformat(timespec="seconds")}

    def _start_scheduled(
        self, tasks: OwnedTasks, stack: contextlib.AsyncExitStack, services: Services
    ) -> None:
        """The midnight job, and the statistics' catch-up of past days not rolled up yet (a new install, a
        hub down over midnight: hub/services/stats_catchup.py), in the background."""
        self._scheduler = MidnightScheduler(services)
        owned = (("midnight", self._scheduler.run()), ("stats-catchup", services.stats_catchup.run()))
        for name, coro in owned:
            tasks.start(name, coro)
            stack.push_async_callback(tasks.cancel, name)

    @property
    def public_url(self) -> str:
        return self.config.http.public_url or self.url

    async def _run_publisher(self, services: Services) -> None:
        """The publisher's task. A broker back after a loss or after its queue overflowed (two brokers)
        gets every programme again."""
        assert self.publisher is not None
        self.publisher.on_gap = lambda: services.publishing.republish_soon(None)
        await self.publisher.run()

    async def _on_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """A device's status or events: bounded before it is read (hub/services/reports.py); a message too big
        or not JSON is one bounded anomaly row, never stored. A retained status older than one already read
        is ignored: with two brokers, the one a device left keeps its last status there (stale_status)."""
        assert self.services is not None
        topics = Topics(self.config.mqtt.topic_prefix)
        device = topics.device_from_topic(topic)
        if device is None:
            return
        status = topic.endswith("/status")
        limit = reports.MAX_STATUS_BYTES if status else reports.MAX_EVENTS_MESSAGE_BYTES
        what = "status" if status else "events"
        bad: reports.Anomaly | None = None
        data: Any = None
        if len(payload) > limit:
            bad = reports.Anomaly("oversized", f"{what} message of {len(payload)} bytes (limit {limit})",
                                  event_type=what, size=len(payload))
        else:
            try:
                data = json.loads(payload.decode("utf-8")) if payload else None
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                bad = reports.Anomaly("malformed", f"{what} message is not JSON", event_type=what,
                                      size=len(payload))
        if bad is not None:
            await asyncio.to_thread(self.services.devices.record_anomaly, device, bad)
            return
        if status and data is None:
            return  # a device clearing its retained status on a broker it leaves (edge_agent/transport.py)
        if status:
            if self._stale_status(device, data, retained):
                return
            self._statuses[device] = data  # a newer status of the same device replaces one not yet stored
            self._statuses_wake.set()
        elif topic.endswith("/event"):
            await asyncio.to_thread(self.services.devices.ingest_events, device, data, size=len(payload))

    def _stale_status(self, device: str, data: Any, retained: bool) -> bool:
        """Whether `data` is a retained status older than the newest one read of `device` (by the device's
        own `at`). A live status always counts (a device whose clock was set back must not be ignored)."""
        at = _instant(data.get("at")) if isinstance(data, dict) else None
        if at is None:
            return False
        newest = self._status_at.get(device)
        if retained and newest is not None and at < newest:
            log.info("status of %s from %s kept by a broker, older than one read: ignored", device,
                     data.get("at"))
            return True
        self._status_at[device] = at
        return False

    async def _store_statuses(self) -> None:
        """Owned task: store what arrived while the previous batch was being written, in one transaction."""
        assert self.services is not None
        while True:
            await self._statuses_wake.wait()
            await self.flush_statuses()

    async def flush_statuses(self) -> None:
        """Store the statuses received so far (also used on shutdown)."""
        assert self.services is not None
        self._statuses_wake.clear()
        batch, self._statuses = self._statuses, {}
        if batch:
            try:
                elsewhere = await asyncio.to_thread(self.services.devices.ingest_statuses, batch)
                if elsewhere:  # moved by a reorganisation while they were away: tell them where they are
                    await self.services.send_areas(elsewhere)
            except Exception:  # keep the task alive; the next status of these devices is stored next time
                log.exception("could not store %d device statuses", len(batch))

    async def _stop_statuses(self) -> None:
        """Stop step: store the statuses received before the ingest stopped."""
        assert self.tasks is not None
        await self.tasks.cancel("statuses")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush_statuses(), 5)

    async def _drain_publisher(self) -> None:
        """Stop step: let a living publisher send what is queued (bounded), before its task is cancelled."""
        assert self.publisher is not None and self.tasks is not None
        if not self.tasks.running("publisher"):
            return
        try:
            await self.publisher.drain(timeout=5)
        except TimeoutError:
            log.warning("stopping with %d messages unpublished", self.publisher.pending)

    def dead_tasks(self) -> dict[str, str]:
        """The background tasks that died, and why (for /healthz); empty while every task lives."""
        return self.tasks.dead() if self.tasks is not None else {}

    async def stop(self) -> None:
        """Run every stop step (the exit stack's, in reverse order of start), once."""
        if self.tasks is not None:  # a standby taking over now would push steps while they run
            await self.tasks.cancel("election")
        stack, self._stack = self._stack, contextlib.AsyncExitStack()
        await stack.aclose()

    async def __aenter__(self) -> HubRuntime:
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _instant(text: Any) -> float | None:
    """A status's `at` as a POSIX time, or None when it is not a time."""
    try:
        return parse_time(str(text)).timestamp() if text else None
    except (ValueError, TypeError, OverflowError):
        return None
