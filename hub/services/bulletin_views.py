"""What a bulletin looks like to its reader: the API's and the pages' bulletin (with its versions, review
state, speech and the actions the reader may take), and the lists and titles.

The results are frozen pydantic models (BulletinSummary in lists, BulletinView after a change,
BulletinDetail when read alone); the API serialises them as they are and its OpenAPI document shows their
schemas, so the JSON and its description cannot drift apart."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import NotFound
from hub.models import Bulletin, BulletinTarget, BulletinVersion, Media, RecallConfirmation, Speech, User
from hub.roles import Actor
from hub.search import matches, search_words
from hub.services.base import Context, require
from hub.services.bulletin_checks import BulletinChecks, load
from hub.services.languages import CATALOGUE
from hub.services.lifecycle import STATUS_VI
from hub.services.review import ReviewPolicy
from protocol.topics import covers
from protocol.vocabulary import LIVE_STATUSES, BulletinStatus, DeviceKind, Origin, Priority, Subject


def content_of(b: Bulletin) -> dict[str, Any]:
    return {
        "title": b.title,
        "priority": b.priority,
        "form": b.form,
        "text": b.text,
        "media": b.media_sha256,
        "subtitles": b.subtitles_sha256,
        "targets": b.target_paths,
        "kinds": list(b.kinds),
        "valid_from": b.valid_from.isoformat() if b.valid_from else None,
        "valid_until": b.valid_until.isoformat() if b.valid_until else None,
        "plays_per_day": b.plays_per_day,
        "sensitive": b.sensitive,
        "exercise": b.exercise,
        "repeat": b.repeat,
        "after_interrupt": b.after_interrupt,
        "origin": b.origin,
        "subject": b.subject,
        "voice": b.voice,
        "language_versions": list(b.language_versions) if b.language_versions else None,
    }


def language_infos(sess: Session, b: Bulletin) -> list[LanguageVersionInfo]:
    out = []
    for v in b.language_versions or []:
        m = sess.get(Media, v["media"])
        out.append(LanguageVersionInfo(
            language=v["language"], name=CATALOGUE.get(v["language"], v["language"]), media=v["media"],
            media_url=f"/media/{v['media']}", duration_ms=m.duration_ms if m is not None else 0,
        ))  # fmt: skip
    return out


_PRIORITY_ORDER = {"emergency": 0, "priority": 1, "normal": 2}
BULLETIN_SORTS: dict[str, Callable[[tuple[Any, str]], Any]] = {
    "created": lambda r: (r[0].created_at, r[0].id),
    "title": lambda r: (r[0].title.casefold(), r[0].id),
    "status": lambda r: (STATUS_VI.get(r[1], r[1]), r[0].created_at),
    "priority": lambda r: (_PRIORITY_ORDER.get(r[0].priority, 9), r[0].created_at),
}


def effective_status(b: Any, now: datetime) -> str:
    """The status a person sees (a bulletin or a row with its status and valid_until)."""
    if b.status in LIVE_STATUSES and b.valid_until is not None and b.valid_until <= now:
        return "finished"
    return str(b.status)


class _Result(BaseModel):
    """A service's answer: read-only, and exactly the fields it has (the API's JSON and OpenAPI schema)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    if not TYPE_CHECKING:  # hidden from mypy: typed code reads attributes (`b.status`)

        def __getitem__(self, name: str) -> Any:
            """`b["status"]`, as the dict these results replaced was read: for untyped callers (tests,
            scripts) written against it; to be dropped once they read attributes."""
            if name not in type(self).model_fields:
                raise KeyError(name)
            return getattr(self, name)


class ReviewGroup(_Result):
    code: str
    name: str
    signed: bool


class Signoff(_Result):
    username: str | None
    group: str | None
    group_name: str
    at: str = Field(description="ISO 8601")


class ReviewState(_Result):
    """The review of a sensitive bulletin's current version (hub/services/review.py)."""

    needed: int
    groups: list[ReviewGroup]
    signoffs: list[Signoff]


class SpeechInfo(_Result):
    """How the current version of a text bulletin was spoken."""

    sha256: str
    engine: str
    voice: str
    normalized_text: str


class LanguageVersionInfo(_Result):
    """A bản tiếng dân tộc: its language and audio (played after the Vietnamese where it is used)."""

    language: str = Field(description="ISO 639-3 code, e.g. rad (Ê Đê)")
    name: str
    media: str = Field(description="sha256 of the audio")
    media_url: str
    duration_ms: int


class VersionInfo(_Result):
    version: int
    created_at: str = Field(description="ISO 8601")
    created_by: str | None
    changed: list[str] = Field(description="fields changed from the version before")
    content: dict[str, Any]


class RecallConfirmationInfo(_Result):
    device_id: str
    confirmed_at: str = Field(description="ISO 8601")


class BulletinSummary(_Result):
    """A bulletin as lists show it (times are ISO 8601 strings)."""

    id: str
    status: BulletinStatus = Field(description="finished once valid_until passed, whatever is stored")
    title: str
    priority: Priority
    form: str
    text: str | None
    media: str | None = Field(description="sha256 of the media file")
    subtitles: str | None = Field(description="sha256 of the WebVTT subtitles")
    targets: list[str]
    kinds: list[DeviceKind]
    valid_from: str | None
    valid_until: str | None
    plays_per_day: int
    sensitive: bool
    exercise: bool
    repeat: dict[str, int]
    after_interrupt: str
    origin: Origin
    subject: Subject = Field(Subject.OTHER, description="lĩnh vực (protocol.vocabulary.SUBJECTS)")
    voice: str | None = Field(description="chosen voice: an installed neural voice's id or espeak-ng; "
                              "null = the province's default when spoken (speech says what spoke)")
    language_versions: list[dict[str, str]] | None = Field(
        None, description="bản tiếng dân tộc as saved: [{language, media}]")
    version: int
    duration_ms: int
    created_at: str
    submitted_at: str | None
    approved_at: str | None
    rejected_reason: str | None
    recalled_at: str | None
    recall_reason: str | None
    cancelled_at: str | None
    media_url: str | None
    status_label: str


class BulletinView(BulletinSummary):
    """A bulletin as its reader gets it after reading or changing it: with its review, the actions the
    reader may take now (`actions`), its author and its speech."""

    review: ReviewState | None
    actions: list[str]
    created_by: str | None
    speech: SpeechInfo | None
    languages: list[LanguageVersionInfo] = Field(
        default_factory=list, description="the language versions with names, audio and durations")


class BulletinDetail(BulletinView):
    """One bulletin with every saved version and the devices that confirmed its recall."""

    versions: list[VersionInfo]
    recall_confirmations: list[RecallConfirmationInfo]


class BulletinList(_Result):
    bulletins: list[BulletinSummary]


class BulletinViews:
    def __init__(self, ctx: Context, review: ReviewPolicy, checks: BulletinChecks) -> None:
        self.ctx, self.review, self.checks = ctx, review, checks

    def get(self, actor: Actor, bulletin_id: str) -> BulletinDetail:
        require(actor, "read")
        with self.ctx.db.session() as sess:
            b = load(sess, bulletin_id)
            if not any(actor.sees(t) for t in b.target_paths):
                raise NotFound(f"Không có bản tin '{bulletin_id}'.", field="id")
            confirmations = [
                RecallConfirmationInfo(device_id=r.device_id, confirmed_at=r.confirmed_at.isoformat())
                for r in sess.scalars(
                    select(RecallConfirmation)
                    .where(RecallConfirmation.bulletin_id == b.id)
                    .order_by(RecallConfirmation.confirmed_at)
                )
            ]
            return BulletinDetail(
                **self._summary_fields(b),
                **self._view_fields(sess, b, actor),
                versions=self._versions(sess, b.id),
                recall_confirmations=confirmations,
            )

    def view(self, sess: Session, b: Bulletin, actor: Actor) -> BulletinView:
        """The bulletin as `actor` gets it back from a change (with the actions open to them now)."""
        return BulletinView(**self._summary_fields(b), **self._view_fields(sess, b, actor))

    @staticmethod
    def _versions(sess: Session, bulletin_id: str) -> list[VersionInfo]:
        """Every saved version with who saved it and which fields changed from the one before."""
        rows = sess.scalars(
            select(BulletinVersion)
            .where(BulletinVersion.bulletin_id == bulletin_id)
            .order_by(BulletinVersion.version)
        ).all()
        users = {
            u.id: u.username
            for u in sess.scalars(
                select(User).where(User.id.in_({v.created_by for v in rows if v.created_by is not None}))
            )
        }
        out: list[VersionInfo] = []
        prev: dict[str, Any] | None = None
        for v in rows:
            changed = sorted(k for k in v.content if prev.get(k) != v.content[k]) if prev is not None else []
            out.append(
                VersionInfo(
                    version=v.version,
                    created_at=v.created_at.isoformat(),
                    created_by=users.get(v.created_by) if v.created_by else None,
                    changed=changed,
                    content=v.content,
                )
            )
            prev = v.content
        return out

    def list(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        priority: str | None = None,
        area: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[BulletinSummary]:
        require(actor, "read")
        with self.ctx.db.session() as sess:
            q = select(Bulletin).order_by(Bulletin.created_at.desc(), Bulletin.id)
            if status:
                q = q.where(Bulletin.status == status)
            if priority:
                q = q.where(Bulletin.priority == priority)
            out = []
            for b in sess.scalars(q):
                paths = b.target_paths
                if not any(actor.sees(t) for t in paths):
                    continue
                if area and not any(covers(t, area) or covers(area, t) for t in paths):
                    continue
                out.append(b)
            return [BulletinSummary(**self._summary_fields(b)) for b in out[offset : offset + limit]]

    def search(
        self,
        actor: Actor,
        *,
        q: str = "",
        status: str | tuple[str, ...] | None = None,
        priority: str | None = None,
        area: str | None = None,
        created_by: int | None = None,
        names: Mapping[str, str] | None = None,
        sort: str = "created",
        desc: bool = True,
        limit: int = 50,
        offset: int = 0,
        within: bool = False,
    ) -> tuple[builtins.list[BulletinSummary], int]:
        """One page of the bulletins the caller sees and the count of all that match: `q` searches the
        title, the id and the target areas' names (`names`: path -> name; hub.search); BULLETIN_SORTS."""
        require(actor, "read")
        names = names or {}
        words, now = search_words(q), self.ctx.now()
        with self.ctx.db.session() as sess:
            # the columns a search and a sort need, not whole bulletins: a province has thousands
            cols = (Bulletin.id, Bulletin.title, Bulletin.priority, Bulletin.status, Bulletin.valid_until,
                    Bulletin.created_at)  # fmt: skip
            query = select(*cols).where(Bulletin.priority == priority) if priority else select(*cols)
            if created_by is not None:
                query = query.where(Bulletin.created_by == created_by)
            wanted = (status,) if isinstance(status, str) else status
            if wanted and "finished" not in wanted:  # a live one may read "finished": checked below
                query = query.where(Bulletin.status.in_(wanted))
            targets: dict[str, builtins.list[str]] = {}
            for bid, path in sess.execute(
                select(BulletinTarget.bulletin_id, BulletinTarget.area_path).where(
                    BulletinTarget.bulletin_id.in_(query.with_only_columns(Bulletin.id))
                )
            ):
                targets.setdefault(bid, []).append(path)
            found: builtins.list[tuple[Any, str]] = []
            for b in sess.execute(query):
                paths = targets.get(b.id, [])
                if not any(actor.sees(t) for t in paths):
                    continue
                if within and not all(actor.covers(t) for t in paths):
                    continue
                if area and not any(covers(t, area) or covers(area, t) for t in paths):
                    continue
                st = effective_status(b, now)
                if wanted and st not in wanted:
                    continue
                if not matches(words, b.title, b.id, *(names[t] for t in paths if t in names)):
                    continue
                found.append((b, st))
            found.sort(key=BULLETIN_SORTS[sort], reverse=desc)
            ids = [b.id for b, _ in found[offset : offset + limit]]
            rows = {b.id: b for b in sess.scalars(select(Bulletin).where(Bulletin.id.in_(ids)))}
            return [BulletinSummary(**self._summary_fields(rows[i])) for i in ids], len(found)

    def titles(self, actor: Actor, ids: Iterable[str]) -> dict[str, str]:
        """Titles of these bulletins, whatever their status, that the caller may see (devices page)."""
        require(actor, "read")
        wanted = sorted(set(ids))
        out: dict[str, str] = {}
        with self.ctx.db.session() as sess:
            for i in range(0, len(wanted), 500):
                for b in sess.scalars(select(Bulletin).where(Bulletin.id.in_(wanted[i : i + 500]))):
                    if any(actor.sees(t) for t in b.target_paths):
                        out[b.id] = b.title
        return out

    def _summary_fields(self, b: Bulletin) -> dict[str, Any]:
        status = effective_status(b, self.ctx.now())
        return {
            "id": b.id,
            "status": status,
            **content_of(b),
            "version": b.version,
            "duration_ms": b.duration_ms,
            "created_at": b.created_at.isoformat(),
            "submitted_at": b.submitted_at.isoformat() if b.submitted_at else None,
            "approved_at": b.approved_at.isoformat() if b.approved_at else None,
            "rejected_reason": b.rejected_reason,
            "recalled_at": b.recalled_at.isoformat() if b.recalled_at else None,
            "recall_reason": b.recall_reason,
            "cancelled_at": b.cancelled_at.isoformat() if b.cancelled_at else None,
            "media_url": f"/media/{b.media_sha256}" if b.media_sha256 else None,
            "status_label": STATUS_VI.get(status, status),
        }

    def _view_fields(self, sess: Session, b: Bulletin, actor: Actor) -> dict[str, Any]:
        creator = sess.get(User, b.created_by) if b.created_by else None
        sp = sess.scalar(select(Speech).where(Speech.bulletin_id == b.id, Speech.version == b.version))
        speech = (
            SpeechInfo(
                sha256=sp.media_sha256, engine=sp.engine, voice=sp.voice, normalized_text=sp.normalized_text
            )
            if sp
            else None
        )
        return {
            "review": self.review.state(sess, b) if b.sensitive else None,
            "actions": self.checks.actions(sess, actor, b),
            "created_by": creator.username if creator else None,
            "speech": speech,
            "languages": language_infos(sess, b),
        }
