"""Live announcements: an authorised person speaks into the microphone and every loudspeaker of the chosen
areas plays it (docs/PROTOCOL.md, "Live announcements").

A session is a bulletin from its first second (status `on_air`, its areas, who spoke), so the agents' play
reports are believed like any other; it is not a programme item (its validity ends when it starts). From its
start, the hub repeats a signed `live` start message on the alert topic of each area, with a listening
token that opens this session's mount on the stream server only, for `stream.token_ttl_s`. Stopping, the
speaker's connection lost for more than `stream.grace_s`, or `stream.max_live_s` ends it: a `live` stop goes
out, and the recording (the very MP3 the loudspeakers heard) becomes the bulletin's audio (`finished`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hub.errors import Conflict, Forbidden, Invalid, NotFound
from hub.livefeed import Feeder, FeedError
from hub.models import Bulletin, BulletinTarget
from hub.roles import Actor
from hub.services.areas import AreaService
from hub.services.base import Context, deny, new_id, require
from hub.services.media import MediaService
from hub.services.publishing import PublisherLike
from hub.services.tokens import LiveTokens
from hub.signing import Envelopes
from protocol.messages import LIVE_PRIORITIES, LiveBody
from protocol.topics import Topics, covers
from protocol.vocabulary import BulletinStatus

log = logging.getLogger(__name__)

MAX_SESSIONS = 20
MAX_AREAS = 50
TITLE_MAX = 200
PUBLISH_WAIT_S = 5.0
FIRST_CONNECT_S = 30.0
LEVEL_ORIGIN = {"province": "province", "district": "district", "commune": "commune"}
PRIORITY_VI = {"emergency": "khẩn cấp", "priority": "ưu tiên"}


def permission(priority: str) -> str:
    """The action (hub/roles.py) a live session of this priority needs on each of its areas."""
    return f"live.{priority}"


@dataclass
class LiveSession:
    id: str
    speaker: Actor
    areas: tuple[str, ...]
    priority: str
    title: str
    started_at: datetime
    recording: Any  # Path of the MP3 recording
    feeder: Feeder | None = None
    lost_at: float | None = field(default_factory=time.monotonic)  # not connected since (None: connected)
    stop_reason: str = ""
    announced: bool = False
    ever_connected: bool = False
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def mount(self) -> str:
        return f"/live/{self.id}.mp3"

    def to_dict(self) -> dict[str, Any]:
        on_air = self.feeder is not None and self.feeder.first_audio.is_set()
        state = "ended" if self.done.is_set() else ("on_air" if on_air else "waiting")
        return {
            "id": self.id,
            "state": state,
            "priority": self.priority,
            "title": self.title,
            "areas": list(self.areas),
            "speaker": self.speaker.username,
            "started_at": self.started_at.isoformat(),
            "connected": self.lost_at is None,
            "end_reason": self.stop_reason,
            "bytes": self.feeder.bytes_out if self.feeder is not None else 0,
        }


class LiveService:
    def __init__(
        self,
        ctx: Context,
        *,
        areas: AreaService,
        media: MediaService,
        envelopes: Envelopes,
        publisher: PublisherLike,
        topics: Topics,
    ) -> None:
        self.ctx, self.areas, self.media = ctx, areas, media
        self.envelopes, self.publisher, self.topics = envelopes, publisher, topics
        self.tokens = LiveTokens()
        self.sessions: dict[str, LiveSession] = {}
        self.dir = ctx.config.data_dir / "live"

    @property
    def cfg(self) -> Any:
        return self.ctx.config.stream

    def stream_url(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.port}"

    def public_stream_url(self) -> str:
        return (self.cfg.public_url or self.stream_url()).rstrip("/")

    # --- starting
    def _check_start(self, actor: Actor, areas: list[str], priority: str, title: str) -> tuple[str, ...]:
        if not self.cfg.enabled:
            raise Conflict("Phát trực tiếp chưa được bật trên hệ thống này (cấu hình [stream]).")
        if priority not in LIVE_PRIORITIES:
            raise Invalid("Mức ưu tiên là 'emergency' (khẩn cấp) hoặc 'priority' (ưu tiên).",
                          field="priority")
        if not areas or len(areas) > MAX_AREAS or len(set(areas)) != len(areas):
            raise Invalid(f"Chọn từ 1 đến {MAX_AREAS} khu vực khác nhau.", field="areas")
        if len(title) > TITLE_MAX:
            raise Invalid(f"Tiêu đề dài tối đa {TITLE_MAX} ký tự.", field="title")
        for path in areas:
            self.areas.get(path, field="areas")
            require(actor, permission(priority), path, area=path)
        if len(self.sessions) >= MAX_SESSIONS:
            raise Conflict(f"Đang có {len(self.sessions)} buổi phát trực tiếp; chờ một buổi kết thúc.")
        for s in self.sessions.values():
            busy = [a for a in areas for b in s.areas if covers(a, b) or covers(b, a)]
            if busy:
                raise Conflict(
                    f"Khu vực {busy[0]} đang có phát trực tiếp của {s.speaker.username}; "
                    "chờ buổi đó kết thúc.",
                    field="areas",
                )
        return tuple(sorted(areas))

    def _create_bulletin(self, actor: Actor, s: LiveSession) -> None:
        level = self.areas.get(actor.area_path).level if actor.area_path else "province"
        with self.ctx.tx(actor) as sess:
            b = Bulletin(
                id=s.id,
                title=s.title,
                priority=s.priority,
                form="audio",
                origin=LEVEL_ORIGIN.get(level, "province"),
                text=f"Phát trực tiếp ({PRIORITY_VI[s.priority]}) từ micrô của {actor.username}.",
                status=BulletinStatus.ON_AIR.value,
                kinds=["radio"],
                repeat={},
                # valid only until it starts: never a programme item, only a live session
                valid_from=s.started_at,
                valid_until=s.started_at,
                created_by=actor.user_id,
                created_at=s.started_at,
                updated_at=s.started_at,
                submitted_at=s.started_at,
                approved_at=s.started_at,
                approved_by=actor.user_id,
                version=1,
            )
            b.targets = [BulletinTarget(area_path=a) for a in s.areas]
            sess.add(b)
            self.ctx.audit(sess, actor, "live.start", s.id,
                           detail={"areas": list(s.areas), "priority": s.priority, "title": s.title})

    async def start(
        self, actor: Actor, *, areas: list[str], priority: str, title: str = ""
    ) -> dict[str, Any]:
        title = title.strip()
        paths = await asyncio.to_thread(self._check_start, actor, areas, priority, title)
        now = self.ctx.now()
        sid = new_id("live")
        local = now.astimezone(self.ctx.tz).strftime("%H:%M %d/%m/%Y")
        s = LiveSession(
            id=sid, speaker=actor, areas=paths, priority=priority,
            title=title or f"Phát trực tiếp {local}", started_at=now, recording=self.dir / f"{sid}.mp3",
        )
        await asyncio.to_thread(self._create_bulletin, actor, s)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sessions[sid] = s
        s.task = asyncio.get_running_loop().create_task(self._supervise(s), name=f"live:{sid}")
        log.info("live %s started by %s for %s (%s)", sid, actor.username, ",".join(paths), priority)
        return s.to_dict()

    def get(self, actor: Actor, session_id: str) -> LiveSession:
        s = self.sessions.get(session_id)
        if s is None:
            raise NotFound(f"Không có buổi phát trực tiếp {session_id[:40]} đang diễn ra.", field="id")
        if not (actor.user_id == s.speaker.user_id and actor.username == s.speaker.username) and not all(
            actor.may(permission(s.priority)) and actor.covers(a) for a in s.areas
        ):
            raise deny(permission(s.priority), session_id,
                       "Buổi phát trực tiếp này không thuộc quyền của bạn.")
        return s

    # --- the speaker's connection
    async def connect(self, actor: Actor, session_id: str) -> LiveSession:
        """The speaker's microphone connects (again, within the grace period): a new encoder, same mount."""
        s = self.get(actor, session_id)
        if actor.user_id != s.speaker.user_id:
            raise Forbidden("Chỉ người đã bắt đầu buổi phát mới nói được vào buổi đó.")
        if s.lost_at is None:
            raise Conflict("Micrô của buổi phát này đang kết nối ở nơi khác.")
        if s.stop_reason:
            raise Conflict("Buổi phát trực tiếp đã kết thúc.")
        feeder = Feeder(stream_url=self.stream_url(), mount=s.mount, password=self.cfg.source_password(),
                        recording=s.recording, bitrate=self.cfg.bitrate, on_audio=s.wake.set)
        try:
            await feeder.start()
        except FeedError as exc:
            raise Conflict(str(exc)) from exc
        s.feeder, s.lost_at, s.ever_connected = feeder, None, True
        s.wake.set()
        return s

    async def feed(self, s: LiveSession, chunk: bytes) -> None:
        if s.feeder is None or s.stop_reason:
            raise FeedError("buổi phát không còn nhận âm thanh")
        await s.feeder.write(chunk)

    async def disconnect(self, s: LiveSession) -> None:
        """The speaker's connection ended: the encoder finishes; the session waits `grace_s` for a return."""
        feeder, s.feeder = s.feeder, None
        if s.lost_at is None:
            s.lost_at = time.monotonic()
        if feeder is not None:
            err = await feeder.close()
            if err:
                log.warning("live %s: encoder said %s", s.id, err)
        s.wake.set()

    async def stop(self, actor: Actor, session_id: str, reason: str = "người nói kết thúc") -> dict[str, Any]:
        s = self.get(actor, session_id)
        s.stop_reason = s.stop_reason or reason
        s.wake.set()
        await asyncio.wait_for(asyncio.shield(s.done.wait()), 30)
        return s.to_dict()

    # --- the session's life
    async def _supervise(self, s: LiveSession) -> None:
        cfg = self.cfg
        deadline = time.monotonic() + cfg.max_live_s
        next_refresh: float | None = None
        try:
            while not s.stop_reason:
                s.wake.clear()
                now = time.monotonic()
                waits = [deadline - now]
                if now >= deadline:
                    s.stop_reason = f"hết thời lượng tối đa ({cfg.max_live_s} s)"
                    break
                if s.lost_at is not None:
                    # the first connection may take a phone a moment more (microphone permission)
                    grace = cfg.grace_s if s.ever_connected else max(cfg.grace_s, FIRST_CONNECT_S)
                    if now - s.lost_at >= grace:
                        s.stop_reason = (f"mất kết nối với người nói quá {grace:g} s" if s.ever_connected
                                         else f"không nhận được tiếng từ micrô sau {grace:g} s")
                        break
                    waits.append(s.lost_at + grace - now)
                # announced at once, before the first word: the loudspeakers power up and connect while
                # the speaker's microphone does (a mount not fed yet answers 404; agents retry)
                if next_refresh is None or now >= next_refresh:
                    await self._publish(s, "start")
                    s.announced = True
                    next_refresh = time.monotonic() + cfg.refresh_s
                waits.append(next_refresh - now)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(min(waits), 0.01)):
                        await s.wake.wait()
        finally:
            await asyncio.shield(self._finish(s))

    async def _finish(self, s: LiveSession) -> None:
        try:
            if s.announced:
                with contextlib.suppress(Exception):
                    await self._publish(s, "stop")
            await self.disconnect(s)
            await asyncio.to_thread(self._keep_recording, s)
        except Exception:
            log.exception("live %s: could not finish cleanly", s.id)
        finally:
            self.sessions.pop(s.id, None)
            s.done.set()
            log.info("live %s ended: %s", s.id, s.stop_reason)

    def _keep_recording(self, s: LiveSession) -> None:
        """The recording becomes the bulletin's audio; a session where nobody spoke is cancelled."""
        data = s.recording.read_bytes() if s.recording.exists() else b""
        media: dict[str, Any] | None = None
        if data:
            try:
                media = self.media.upload(s.speaker, data, filename=f"{s.id}.mp3", purpose="radio")
            except (Invalid, Forbidden) as exc:
                log.error("live %s: recording not kept: %s", s.id, exc)
        now = self.ctx.now()
        with self.ctx.tx() as sess:
            b = sess.get(Bulletin, s.id)
            if b is None:
                return
            b.status = (BulletinStatus.FINISHED if media else BulletinStatus.CANCELLED).value
            b.updated_at = b.valid_until = now
            if media is not None:
                b.media_sha256, b.duration_ms = media["sha256"], int(media.get("duration_ms") or 0)
            else:
                b.cancelled_at = now
            self.ctx.audit(sess, s.speaker, "live.end", s.id,
                           detail={"reason": s.stop_reason, "recorded": bool(media), "bytes": len(data)})
        s.recording.unlink(missing_ok=True)

    async def _publish(self, s: LiveSession, action: str) -> None:
        now = self.ctx.now()
        expires = now + timedelta(seconds=self.cfg.token_ttl_s)
        body = LiveBody(
            session_id=s.id, action=action, priority=s.priority, title=s.title,
            stream_url=self.public_stream_url() + s.mount if action == "start" else "",
            token=self.tokens.make(s.id, expires) if action == "start" else "",
            token_expires=expires.isoformat() if action == "start" else "",
            areas=list(s.areas),
        )
        topics = [self.topics.alert(a) for a in s.areas]
        wire = await asyncio.to_thread(
            self.envelopes.make, "live", body.to_dict(), audience=topics, expires_at=expires
        )
        ttl = self.cfg.token_ttl_s
        futs = [self.publisher.publish(t, wire, qos=1, expiry_s=ttl, urgent=True) for t in topics]
        _, pending = await asyncio.wait(futs, timeout=PUBLISH_WAIT_S)
        if pending:
            log.warning("live %s: %s not confirmed by the broker within %.0f s", s.id, action, PUBLISH_WAIT_S)

    # --- the stream server's question
    def listener_allowed(self, mount: str, token: str) -> str:
        """Why Icecast must refuse this listener ("" to let it in): a live session's mount and its token."""
        if not (mount.startswith("/live/") and mount.endswith(".mp3")):
            return "unknown mount"
        sid = mount[len("/live/"):-len(".mp3")]
        s = self.sessions.get(sid)
        if s is None or s.stop_reason:
            return "no such live session"
        return self.tokens.check(sid, token, self.ctx.now())

    async def aclose(self) -> None:
        """Hub stop: every session ends (agents get their stop), recordings kept."""
        for s in list(self.sessions.values()):
            s.stop_reason = s.stop_reason or "trung tâm dừng"
            s.wake.set()
        tasks = [s.task for s in list(self.sessions.values()) if s.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=30)
