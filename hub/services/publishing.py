"""Publishing: emergencies on alert topics first, then programmes republished in the background.

One republisher task coalesces requests (communes x kinds) so versions and seqs go out in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.errors import Invalid
from hub.models import PublishedProgramme
from hub.services.alert_audio import AlertAudio, estimated_size
from hub.services.areas import AreaService
from hub.services.base import Context
from hub.services.intents import store_wire
from hub.services.live_bulletins import LiveBulletin, load_live_bulletins
from hub.services.programmes import ProgrammeService, Snapshot
from hub.signing import Envelopes
from playlists.window_sets import WindowTable
from protocol.canonical import canonical_json
from protocol.envelope import MAX_MESSAGE_BYTES
from protocol.messages import AlertBody, CommandBody, MediaRef, RecallBody
from protocol.topics import Topics
from protocol.vocabulary import DEVICE_KINDS

log = logging.getLogger(__name__)
# After an alert, every device of the area fetches its media at once; the programmes (which carry the
# emergency for late joiners) go out this much later so they do not compete with that burst.
ALERT_PROGRAMMES_AFTER_S = 2.0
PROBE_VERSION = 10**12  # a programme version with more digits than any real one (size probes)
# Bounds for the size check before approval (check_sendable): a programme last sent this far below the limit
# cannot go over it with the new bulletin, so it is not compiled again.
ENTRY_PUNCTUATION = 64  # JSON around a bulletin's entry and id in a programme, and seq digits
MAX_PLAYS_PER_DAY = 48  # the most plays a bulletin may ask for a day (the engine places one per window)
ITEM_BYTES = 256  # one play in a programme's days (ids up to 64 characters, ISO times with offset)
REPLACEMENT_ROOM = 64 * 1024  # others' plays moved around a new one, and one more that now fits
KIND_VI = {"radio": "loa truyền thanh", "led": "bảng tin điện tử"}


def _n(value: float) -> str:
    """A whole number as Vietnamese write it: 1.234.567."""
    return f"{value:,.0f}".replace(",", ".")


def _kb(size: int) -> str:
    return f"{_n(size / 1024)} KB"


def _chars_over(text: str | None, size: int) -> int:
    """About how many characters of `text` make up the bytes over the limit (UTF-8, JSON-escaped)."""
    if not text:
        return 0
    per_char = len(text.encode("utf-8")) / len(text)
    return int((size - MAX_MESSAGE_BYTES) / per_char) + 1


class PublisherLike(Protocol):
    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        expiry_s: int | None = None,
        urgent: bool = False,
    ) -> asyncio.Future[None]: ...


class RecordingPublisher:
    """Keeps what would have been published (runs without a broker: API-only tests, CLI)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []

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
        self.messages.append((topic, payload, retain))
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


class PublishingService:
    def __init__(
        self,
        ctx: Context,
        areas: AreaService,
        programmes: ProgrammeService,
        envelopes: Envelopes,
        publisher: PublisherLike,
        *,
        media_path: Callable[[str], Path] | None = None,
        alert_audio: AlertAudio | None = None,
    ) -> None:
        self.ctx, self.areas, self.programmes = ctx, areas, programmes
        self.envelopes, self.publisher = envelopes, publisher
        self._media_path = media_path
        self._alert_audio = alert_audio
        self.topics = Topics(ctx.config.mqtt.topic_prefix)
        self._pending: dict[str, set[str]] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._later: set[asyncio.TimerHandle] = set()
        self.last_batch_s = 0.0
        # bytes of the programme last built per (commune, kind), forgotten as soon as it is to be rebuilt: the
        # size check before approval starts from it (check_sendable)
        self._programme_bytes: dict[tuple[str, str], int] = {}

    # --- alerts (urgent: latency matters)
    def _snap(self, bulletin_id: str) -> LiveBulletin:
        with self.ctx.db.session() as sess:
            found = load_live_bulletins(sess, ids=[bulletin_id])
        if not found:
            raise LookupError(f"no bulletin {bulletin_id!r} to publish")
        return found[0]

    def _alert_body(self, s: LiveBulletin, msg_type: str, now: datetime) -> tuple[AlertBody, datetime]:
        """The alert's body and its envelope expiry."""
        expires = s.valid_until or now
        info = s.info("radio" if "radio" in s.kinds else "led")
        body = AlertBody(
            identifier=s.id,
            msg_type=msg_type,
            status="Exercise" if s.exercise else "Actual",
            sent=now.isoformat(),
            expires=expires.isoformat(),
            areas=list(s.targets),
            bulletin=None if msg_type == "Cancel" else info,
            repeat=s.repeat_obj(),
            area_names=self._area_names(s.targets),
        )
        # A cancel must outlive the alert it cancels on agents that were offline; keep it 1 h at least.
        exp = max(expires, now) if msg_type != "Cancel" else max(expires, now) + timedelta(hours=1)
        return body, exp

    def _alert_wire(self, s: LiveBulletin, msg_type: str) -> tuple[bytes, datetime]:
        body, exp = self._alert_body(s, msg_type, self.ctx.now())
        media = body.bulletin.media if body.bulletin is not None else None
        audio = None
        if media is not None:
            compact = self._compact_audio(media)
            if compact is not None:  # the Opus copy rides in the alert; the MP3 stays downloadable by URL
                body = replace(body, alert_audio=compact[0])
                audio = compact[1]
            else:
                audio = self._inline_media(media)
        # One envelope for all the targets (the fan-out is per area, and signs once): its audience is their
        # alert topics, so it is refused on any other area's topic.
        audience = [self.topics.alert(t) for t in s.targets]
        wire = self.envelopes.make(
            "alert", body.to_dict(), audience=audience, expires_at=exp, attachments=[audio] if audio else []
        )
        if audio is not None and len(wire) > MAX_MESSAGE_BYTES:
            # the audio would push the alert over what agents accept: it goes by download instead
            log.warning("emergency %s: audio not attached (alert would be %d bytes)", s.id, len(wire))
            body = replace(body, alert_audio=None)
            wire = self.envelopes.make("alert", body.to_dict(), audience=audience, expires_at=exp)
        return wire, exp

    def check_sendable(self, sess: Session, bulletin_id: str) -> None:
        """Refuse (Invalid, saying what to shorten) the approval of `bulletin_id` when a message it makes the
        hub send would be over the agents' limit (protocol MAX_MESSAGE_BYTES): its alert (an emergency; its
        audio then goes by download, so only its text and fields count) and the programme of every commune
        and kind it reaches, compiled with it approved (unless the programme last sent there is so far below
        the limit that the bulletin cannot take it over: then nothing is compiled, which keeps an emergency's
        approval fast). Runs inside the approval's transaction, after the bulletin was marked approved and
        flushed: a refusal rolls it back, and nothing is published."""
        sess.flush()
        (s,) = load_live_bulletins(sess, ids=[bulletin_id])
        now = self.ctx.now()
        text_len = len(s.text or "")
        if s.priority == "emergency":
            body, exp = self._alert_body(s, "Alert", now)
            size = self.envelopes.size_of(
                "alert", body.to_dict(), audience=[self.topics.alert(t) for t in s.targets], expires_at=exp
            )
            if size > MAX_MESSAGE_BYTES:
                raise Invalid(
                    f"Bản tin khẩn cấp này tạo ra bản tin gửi thiết bị {_kb(size)}, quá giới hạn "
                    f"{_kb(MAX_MESSAGE_BYTES)} mà thiết bị nhận được, nên sẽ không phát được. "
                    f"Hãy rút ngắn phần chữ (hiện {_n(text_len)} ký tự; bớt ít nhất "
                    f"{_n(_chars_over(s.text, size))} ký tự) rồi gửi duyệt lại. "
                    "Bản tin chưa được duyệt, chưa gửi gì.",
                    field="text",
                    code="too_big_to_send",
                    extra={"bytes": size, "limit": MAX_MESSAGE_BYTES},
                )
        snap: Snapshot | None = None
        names = self.areas.all()
        # What the bulletin can add to a programme: its entry (once) and, unless an emergency (which takes no
        # item), its plays, at most one per window; plus room for the engine re-placing others around it.
        adds = {
            kind: len(canonical_json(s.info(kind, tuple(c for c, _ in s.languages)).to_dict()))
            + len(s.id)
            + ENTRY_PUNCTUATION
            for kind in s.kinds
        }
        if s.priority != "emergency":
            plays = self.ctx.config.programme.days_ahead * MAX_PLAYS_PER_DAY * ITEM_BYTES + REPLACEMENT_ROOM
            adds = {kind: n + plays for kind, n in adds.items()}
        for leaf in self.areas.leaves_under(list(s.targets)):
            for kind in s.kinds:
                known = self._programme_bytes.get((leaf, kind))
                if known is not None and known + adds[kind] <= MAX_MESSAGE_BYTES:
                    continue  # far enough below the limit: no need to compile it
                if snap is None:
                    snap = self.programmes.snapshot(sess)
                size = self._programme_size(snap, leaf, kind)
                if size > MAX_MESSAGE_BYTES:
                    where = names[leaf].name if leaf in names else leaf
                    raise Invalid(
                        f"Với bản tin này, chương trình phát {KIND_VI[kind]} của {where} sẽ lớn "
                        f"{_kb(size)}, quá giới hạn {_kb(MAX_MESSAGE_BYTES)} mà thiết bị nhận được, "
                        "nên sẽ không phát được. "
                        f"Hãy rút ngắn phần chữ của bản tin (hiện {_n(text_len)} ký tự) hoặc thu hồi bớt bản "
                        "tin đang phát ở địa bàn đó. Bản tin chưa được duyệt, chưa gửi gì.",
                        field="text",
                        code="too_big_to_send",
                        extra={"bytes": size, "limit": MAX_MESSAGE_BYTES, "area": leaf, "kind": kind},
                    )

    def _programme_size(self, snap: Snapshot, leaf: str, kind: str) -> int:
        """Bytes of the signed programme of (leaf, kind) compiled from `snap`, as it would be sent."""
        body = self.programmes.body(snap, leaf, kind, PROBE_VERSION).to_dict()
        return self.envelopes.size_of("programme", body, audience=[self.topics.program(leaf, kind)])

    def _check_programmes(
        self, sess: Session, pairs: Iterable[tuple[str, str]], *, change: str, advice: str, field: str
    ) -> None:
        """Refuse (Invalid too_big_to_send) a change of the programmes of `pairs` (commune, kind) that would
        make one of them over what agents accept (MAX_MESSAGE_BYTES): each is compiled from the change
        flushed inside its transaction, so a refusal saves nothing and publishes nothing. `change` starts
        the sentence ("Với lựa chọn này"), `advice` says what to do and that nothing was saved."""
        sess.flush()
        snap: Snapshot | None = None
        names = self.areas.all()
        for leaf, kind in pairs:
            if snap is None:
                snap = self.programmes.snapshot(sess)
            size = self._programme_size(snap, leaf, kind)
            if size > MAX_MESSAGE_BYTES:
                where = names[leaf].name if leaf in names else leaf
                raise Invalid(
                    f"{change}, chương trình phát {KIND_VI[kind]} của {where} sẽ lớn {_kb(size)}, "
                    f"quá giới hạn {_kb(MAX_MESSAGE_BYTES)} mà thiết bị nhận được, nên sẽ không phát được. "
                    f"{advice}",
                    field=field,
                    code="too_big_to_send",
                    extra={"bytes": size, "limit": MAX_MESSAGE_BYTES, "area": leaf, "kind": kind},
                )

    def check_choice(self, sess: Session, leaf: str, kinds: Iterable[str]) -> None:
        """Refuse (Invalid) a commune chair's choice (Art. 8.3) that would make the commune's programme of a
        kind over what agents accept (MAX_MESSAGE_BYTES). One commune: a few milliseconds."""
        self._check_programmes(
            sess,
            [(leaf, kind) for kind in kinds],
            change="Với lựa chọn này",
            advice="Hãy chọn bớt bản tin thông thường (hoặc chọn cho từng ngày thay vì suốt thời gian "
            "hiệu lực). Lựa chọn chưa được lưu.",
            field="selection",
        )

    def check_windows(
        self, sess: Session, area: str, kinds: Iterable[str], before: WindowTable, *, removal: bool = False
    ) -> None:
        """Refuse (Invalid) a change of broadcast windows (Art. 10: a rule, an occasion, or removing one) on
        `area` that would make the programme of a commune under it over what agents accept: more or longer
        windows let more bulletins in. Only the communes and kinds whose windows change on a day the hub
        publishes (yesterday, for a window crossing midnight, to the last day ahead) are compiled, with the
        change flushed inside its transaction; `before` is the window table read before the change."""
        sess.flush()
        after = self.programmes.windows.table(sess)
        dates = self.programmes.days()
        dates.insert(0, dates[0] - timedelta(days=1))

        def changes(leaf: str, kind: str) -> bool:
            return any(
                before.resolve(leaf, kind, d).windows != after.resolve(leaf, kind, d).windows for d in dates
            )

        leaves = self.areas.leaves_under([area])
        pairs = [(leaf, kind) for leaf in leaves for kind in kinds if changes(leaf, kind)]
        if removal:
            change = "Nếu xoá mục này"
            advice = "Hãy thu hồi bớt bản tin đang phát ở địa bàn đó trước. Chưa xoá gì."
        else:
            change = "Với khung giờ này"
            advice = (
                "Hãy đặt khung giờ ngắn hơn hoặc ít khung hơn, hoặc thu hồi bớt bản tin đang phát ở địa bàn "
                "đó. Khung giờ chưa được lưu."
            )
        field = "id" if removal else "windows"
        self._check_programmes(sess, pairs, change=change, advice=advice, field=field)

    def _area_names(self, paths: tuple[str, ...]) -> list[str]:
        known = self.areas.all()
        return [known[p].name if p in known else p for p in paths]

    def _compact_audio(self, ref: MediaRef) -> tuple[MediaRef, bytes] | None:
        """The Opus copy of the emergency's audio to attach (hub/services/alert_audio.py), or None when it
        cannot be made or is over media.alert_inline_kb (then the MP3 is attached if small enough)."""
        limit = self.ctx.config.media.alert_inline_kb * 1024
        if self._alert_audio is None or limit == 0 or estimated_size(ref.duration_ms) > limit:
            return None  # (too long to ride in the alert even as Opus: not transcoded at all)
        made = self._alert_audio.for_alert(ref)
        return made if made is not None and made[0].size <= limit else None

    def _inline_media(self, ref: MediaRef) -> bytes | None:
        """The emergency's audio, attached to the alert when it is small enough (media.alert_inline_kb): then
        no device downloads it before playing, which is what lets an emergency start at once on a thousand
        devices (and sooner on a slow link). None when it is too big or cannot be read; devices then
        download it as usual."""
        limit = self.ctx.config.media.alert_inline_kb * 1024
        if self._media_path is None or ref.size > limit:
            return None
        path = self._media_path(ref.sha256)
        try:
            data = path.read_bytes()
        except OSError as exc:
            log.error("emergency audio %s not inlined, devices will download it: %s", ref.sha256[:12], exc)
            return None
        if len(data) != ref.size or hashlib.sha256(data).hexdigest() != ref.sha256:
            log.error("emergency audio %s does not match its sha256 on disk: not inlined", ref.sha256[:12])
            return None
        return data

    def _keep(self, intent_id: int | None, wire: bytes, topics: list[str]) -> None:
        """Store the signed message of the intent it publishes before it is sent (hub/services/intents.py):
        a new leader after a failover sends these same bytes again."""
        if intent_id is not None:
            with self.ctx.db.session() as sess:
                if self.ctx.db.is_postgres:
                    # not waiting for the WAL flush (an emergency waits for this): lost only if the database
                    # server itself crashes now, and then a new leader signs the alert again (agents act on
                    # an alert's identifier once)
                    sess.execute(text("SET LOCAL synchronous_commit TO OFF"))
                store_wire(sess, intent_id, wire, topics)

    def _alert_signed(
        self, bulletin_id: str, msg_type: str, intent_id: int | None
    ) -> tuple[LiveBulletin, bytes, datetime]:
        """Worker thread: the bulletin, its signed alert (reads the audio to inline), kept for the intent."""
        s = self._snap(bulletin_id)
        wire, exp = self._alert_wire(s, msg_type)
        self._keep(intent_id, wire, [self.topics.alert(t) for t in s.targets])
        return s, wire, exp

    def send_stored(self, kind: str, wire: bytes, topics: Iterable[str]) -> list[asyncio.Future[None]]:
        """Send again the message an intent stored (a failover): the same bytes, on the same topics."""
        if kind == "command":
            return [self.publisher.publish(t, wire, qos=1, expiry_s=60, urgent=True) for t in topics]
        raw = json.loads(wire).get("envelope", {}).get("expires_at")
        left = (datetime.fromisoformat(raw) - self.ctx.now()).total_seconds() if raw else None
        expiry_s = max(1, int(left)) if left is not None else None
        return [self.publisher.publish(t, wire, qos=1, expiry_s=expiry_s, urgent=True) for t in topics]

    async def publish_alert(
        self, bulletin_id: str, msg_type: str = "Alert", *, intent_id: int | None = None
    ) -> list[asyncio.Future[None]]:
        """Publish on the alert topic of every target (urgent), then republish the affected programmes."""
        s, wire, exp = await asyncio.to_thread(self._alert_signed, bulletin_id, msg_type, intent_id)
        expiry_s = max(1, int((exp - self.ctx.now()).total_seconds()))
        futs = [
            self.publisher.publish(
                self.topics.alert(t), wire, qos=1, retain=False, expiry_s=expiry_s, urgent=True
            )
            for t in s.targets
        ]
        leaves = self.areas.leaves_under(s.targets)
        self._forget_sizes(leaves, s.kinds)  # their programmes change now, even if republished 2 s later
        if msg_type == "Cancel" or self._task is None:  # no republisher task (tests, CLI): no burst
            self.republish_soon(leaves, s.kinds)
        else:
            self._idle.clear()  # flush() waits for the delayed republish too

            def due(handle: list[asyncio.TimerHandle]) -> None:
                self._later.discard(handle[0])
                self.republish_soon(leaves, s.kinds)

            ref: list[asyncio.TimerHandle] = []
            ref.append(asyncio.get_running_loop().call_later(ALERT_PROGRAMMES_AFTER_S, due, ref))
            self._later.add(ref[0])
        return futs

    def _recall_signed(
        self, bulletin_id: str, reason: str, intent_id: int | None
    ) -> tuple[LiveBulletin, list[str], bytes]:
        s = self._snap(bulletin_id)
        topics = [self.topics.alert(t) for t in s.targets]
        wire = self.envelopes.make("recall", RecallBody([s.id], reason).to_dict(), audience=topics)
        self._keep(intent_id, wire, topics)
        return s, topics, wire

    async def publish_recall(
        self, bulletin_id: str, reason: str, *, intent_id: int | None = None
    ) -> list[asyncio.Future[None]]:
        # a thread: the seq may need a new block from the database
        s, topics, wire = await asyncio.to_thread(self._recall_signed, bulletin_id, reason, intent_id)
        futs = [self.publisher.publish(topic, wire, qos=1, urgent=True) for topic in topics]
        self.republish_soon(self.areas.leaves_under(s.targets), s.kinds)
        return futs

    def _command_signed(
        self, topic: str, body: dict[str, Any], command_id: str, expires_at: datetime, intent_id: int | None
    ) -> bytes:
        wire = self.envelopes.make("command", body, audience=[topic], expires_at=expires_at, id_=command_id)
        self._keep(intent_id, wire, [topic])
        return wire

    async def publish_command(
        self,
        device_id: str,
        command: str,
        args: dict[str, Any],
        command_id: str,
        expires_at: datetime,
        *,
        intent_id: int | None = None,
    ) -> asyncio.Future[None]:
        topic = self.topics.cmd(device_id)
        body = CommandBody(command, args).to_dict()
        wire = await asyncio.to_thread(  # the seq may need a new block from the database
            self._command_signed, topic, body, command_id, expires_at, intent_id
        )
        return self.publisher.publish(topic, wire, qos=1, expiry_s=60, urgent=True)

    # --- programmes
    def republish_soon(self, leaves: list[str] | None = None, kinds: Any = DEVICE_KINDS) -> None:
        """Queue communes (None = all) for republishing; the republisher task does it in order."""
        for leaf in self.areas.leaves() if leaves is None else leaves:
            self._pending.setdefault(leaf, set()).update(kinds)
            self._forget_sizes([leaf], kinds)
        if self._pending:
            self._idle.clear()
            self._wake.set()

    def _forget_sizes(self, leaves: list[str], kinds: Any) -> None:
        for leaf in leaves:
            for kind in kinds:
                self._programme_bytes.pop((leaf, kind), None)

    async def flush(self, timeout: float = 60.0) -> None:  # noqa: ASYNC109 - a bound, not a cancel scope
        """Wait until every queued republish went to the publisher (tests, CLI)."""
        if self._task is None:
            await self._drain_once()
            return
        await asyncio.wait_for(self._idle.wait(), timeout)

    def start(self) -> asyncio.Task[None]:
        """Run the republisher as a task of its own (tests, benches; HubRuntime owns run() in its group)."""
        self._task = asyncio.create_task(self.run(), name="nguon-hub-republisher")
        return self._task

    async def stop(self) -> None:
        for handle in self._later:  # a stopping hub republishes everything at its next start
            handle.cancel()
        self._later.clear()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """The republisher's task: build and publish queued programmes in order, until cancelled."""
        self._task = asyncio.current_task()
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                try:
                    await self._drain_once()
                except Exception:  # keep the task alive; the next request retries
                    log.exception("republishing failed")
                if not self._pending and not self._later:
                    self._idle.set()
        finally:
            self._task = None

    async def _drain_once(self) -> None:
        batch, self._pending = self._pending, {}
        if not batch:
            return
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        out = await asyncio.to_thread(self._build, batch)
        for topic, wire in out:
            self.publisher.publish(topic, wire, qos=1, retain=True)
        self.last_batch_s = loop.time() - t0

    def _build(self, batch: dict[str, set[str]]) -> list[tuple[str, bytes]]:
        """Compile, version and sign (worker thread): one transaction for the whole batch."""
        out = []
        with self.ctx.db.session() as sess:
            snap = self.programmes.snapshot(sess)
            rows = {
                (r.area_path, r.kind): r
                for r in sess.scalars(
                    select(PublishedProgramme).where(PublishedProgramme.area_path.in_(list(batch)))
                )
            }
            now = self.ctx.now()
            for leaf in sorted(batch):
                for kind in sorted(batch[leaf]):
                    row = rows.get((leaf, kind))
                    version = (row.version if row else 0) + 1
                    body = self.programmes.body(snap, leaf, kind, version).to_dict()
                    if row is None:
                        row = PublishedProgramme(
                            area_path=leaf, kind=kind, version=version, body=body, published_at=now
                        )
                        sess.add(row)
                    else:
                        row.version, row.body, row.published_at = version, body, now
                    topic = self.topics.program(leaf, kind)
                    wire = self.envelopes.make("programme", body, audience=[topic])
                    if kind not in self._pending.get(leaf, ()):  # not changed again since this batch began
                        self._programme_bytes[(leaf, kind)] = len(wire)
                    if len(wire) > MAX_MESSAGE_BYTES:  # changes are checked (check_*); a recall is not
                        log.error("programme %s/%s: %d bytes, over the agents' limit", leaf, kind, len(wire))
                    out.append((topic, wire))
        return out
