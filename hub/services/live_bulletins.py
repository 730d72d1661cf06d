"""The approved bulletins as the programme engine and the agents see them (LiveBulletin), loaded in one set
of queries with their media (hub/services/programmes.py compiles from them, publishing.py sends them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import Bulletin, Media
from hub.services.languages import CATALOGUE
from protocol.messages import BulletinInfo, LanguageVersion, MediaRef, Repeat
from protocol.topics import covers
from protocol.vocabulary import LIVE_STATUSES

LED_TEXT_MS = 20_000  # how long an LED board shows a text bulletin without speech


@dataclass(frozen=True)
class LiveBulletin:
    """An approved bulletin as the engine and the agents see it."""

    id: str
    title: str
    priority: str
    origin: str
    form: str
    kinds: tuple[str, ...]
    targets: tuple[str, ...]
    duration_ms: int
    plays_per_day: int
    valid_from: datetime | None
    valid_until: datetime | None
    approved_at: datetime | None
    text: str | None
    media: MediaRef | None
    subtitles: MediaRef | None
    after_interrupt: str
    exercise: bool
    repeat: dict[str, Any]
    # bản tiếng dân tộc: (ISO 639-3 code, audio), played after the Vietnamese where the commune uses it
    languages: tuple[tuple[str, MediaRef], ...] = ()

    def covers(self, leaf: str) -> bool:
        return any(covers(t, leaf) for t in self.targets)

    def versions_for(
        self, kind: str, used: tuple[str, ...], names: dict[str, str] | None = None
    ) -> list[LanguageVersion]:
        """The language versions a commune using `used` plays after the Vietnamese (loudspeakers only),
        named as the commune names its languages (`names`), else as the catalogue does."""
        if kind != "radio" or not used:
            return []
        said = {**CATALOGUE, **(names or {})}
        return [LanguageVersion(c, said.get(c, c), m) for c, m in self.languages if c in used]

    def info(
        self, kind: str, used: tuple[str, ...] = (), names: dict[str, str] | None = None
    ) -> BulletinInfo:
        media = self.media
        if kind == "led" and self.form == "text":
            media = None  # the board shows the text itself
        versions = self.versions_for(kind, used, names)
        return BulletinInfo(
            id=self.id,
            title=self.title,
            priority=self.priority,
            origin=self.origin,
            form=self.form,
            duration_ms=self.duration_for(kind, used),
            valid_from=self.valid_from.isoformat() if self.valid_from else None,
            valid_until=self.valid_until.isoformat() if self.valid_until else None,
            text=self.text,
            media=media,
            subtitles=self.subtitles,
            after_interrupt=self.after_interrupt,
            exercise=self.exercise,
            repeat=self.repeat_obj() if self.priority == "emergency" else None,
            languages=versions,
        )

    def repeat_obj(self) -> Repeat:
        """The emergency's repeat pattern (same on the alert and, for late joiners, in the programme)."""
        return Repeat(
            **{k: int(v) for k, v in self.repeat.items() if k in ("count", "interval_s", "then_every_s")}
        )

    def duration_for(self, kind: str, used: tuple[str, ...] = ()) -> int:
        """How long it takes on `kind` in a commune using the languages `used`: the Vietnamese, then each
        language version played there (docs/PROTOCOL.md, "Language versions")."""
        if self.duration_ms > 0:
            return self.duration_ms + sum(v.media.duration_ms for v in self.versions_for(kind, used))
        return LED_TEXT_MS if kind == "led" else 0


def media_ref(m: Media) -> MediaRef:
    return MediaRef(
        sha256=m.sha256, size=m.size, url=f"/media/{m.sha256}", mime=m.mime, duration_ms=m.duration_ms
    )


def load_live_bulletins(
    sess: Session, *, statuses: tuple[str, ...] = LIVE_STATUSES, ids: list[str] | None = None
) -> list[LiveBulletin]:
    q = select(Bulletin)
    q = q.where(Bulletin.id.in_(ids)) if ids is not None else q.where(Bulletin.status.in_(statuses))
    rows = sess.scalars(q).all()
    shas = {r.media_sha256 for r in rows if r.media_sha256} | {
        r.subtitles_sha256 for r in rows if r.subtitles_sha256
    } | {v["media"] for r in rows for v in r.language_versions or []}
    medias = {m.sha256: m for m in sess.scalars(select(Media).where(Media.sha256.in_(shas)))} if shas else {}
    found = []
    for r in rows:
        media = medias.get(r.media_sha256 or "")
        subs = medias.get(r.subtitles_sha256 or "")
        snap = LiveBulletin(
            id=r.id,
            title=r.title,
            priority=r.priority,
            origin=r.origin,
            form=r.form,
            kinds=tuple(r.kinds),
            targets=tuple(r.target_paths),
            duration_ms=r.duration_ms,
            plays_per_day=r.plays_per_day,
            valid_from=r.valid_from,
            valid_until=r.valid_until,
            approved_at=r.approved_at,
            text=r.text,
            media=media_ref(media) if media else None,
            subtitles=media_ref(subs) if subs else None,
            after_interrupt=r.after_interrupt,
            exercise=r.exercise,
            repeat=dict(r.repeat or {}),
            languages=tuple(
                (v["language"], media_ref(medias[v["media"]]))
                for v in r.language_versions or []
                if v["media"] in medias
            ),
        )
        found.append(snap)
    return found
