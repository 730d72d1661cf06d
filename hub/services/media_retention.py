"""The media store's retention ([media] retention_days, docs/OPERATIONS.md "Disk"): run by the midnight job.

A media file is deleted when it is older than the retention and no bulletin still needs it. A bulletin
needs its files (its media, subtitles, language versions, the speech of each version, and what its older
versions named) unless it ended before the cutoff: finished, recalled or cancelled, and its last moment
(valid_until, recalled_at, cancelled_at, updated_at, whichever is latest) before it. Drafts, bulletins in
review, rejected ones (they may be submitted again), approved and on-air ones always keep theirs. The
cutoff is never nearer than the raw play reports' retention (RAW_RETENTION_DAYS), so a file stays while
any report of its plays is kept. The bulletin's record stays whole (title, text, versions, who approved,
its plays); its file then answers 404. A media row no bulletin or speech names is deleted with its file;
one they name stays (the foreign keys; the record of what was broadcast).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.db import Database
from hub.models import Bulletin, BulletinVersion, Media, Speech
from hub.services.rollups import RAW_RETENTION_DAYS

log = logging.getLogger(__name__)
ENDED = ("finished", "recalled", "cancelled")
_BATCH = 500


def _latest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _shas(content: dict[str, Any] | None) -> Iterable[str]:
    if not content:
        return
    for name in ("media", "subtitles"):
        if isinstance(content.get(name), str):
            yield content[name]
    for v in content.get("language_versions") or []:
        if isinstance(v, dict) and isinstance(v.get("media"), str):
            yield v["media"]


def _bulletin_shas(r: Any) -> set[str]:
    return set(_shas({"media": r.media_sha256, "subtitles": r.subtitles_sha256,
                      "language_versions": r.language_versions}))


def _needed(sess: Session, cutoff: datetime) -> tuple[set[str], set[str]]:
    """(files some bulletin still needs, files any bulletin or speech names)."""
    keeping: set[str] = set()
    needed: set[str] = set()
    named: set[str] = set()
    for r in sess.execute(select(
        Bulletin.id, Bulletin.status, Bulletin.media_sha256, Bulletin.subtitles_sha256,
        Bulletin.language_versions, Bulletin.valid_until, Bulletin.recalled_at, Bulletin.cancelled_at,
        Bulletin.updated_at,
    )):
        shas = _bulletin_shas(r)
        named |= shas
        ended = _latest(r.valid_until, r.recalled_at, r.cancelled_at, r.updated_at)
        if r.status not in ENDED or ended is None or ended >= cutoff:
            keeping.add(r.id)
            needed |= shas
    versions = sess.execute(select(BulletinVersion.bulletin_id, BulletinVersion.content))
    spoken = sess.execute(select(Speech.bulletin_id, Speech.media_sha256))
    for bulletin_id, shas in [*((b, set(_shas(c))) for b, c in versions), *((b, {m}) for b, m in spoken)]:
        named |= shas
        if bulletin_id in keeping:
            needed |= shas
    return needed, named


def prune_media(
    db: Database, path_for: Callable[[str], Path], extra_copies: Callable[[str], Path], now: datetime,
    days: int,
) -> dict[str, int]:
    """Delete the media files (and unreferenced rows) past the retention; {"files", "bytes", "rows"}."""
    out = {"files": 0, "bytes": 0, "rows": 0}
    if days <= 0:
        return out
    cutoff = now - timedelta(days=max(days, RAW_RETENTION_DAYS))
    with db.session() as sess:
        needed, named = _needed(sess, cutoff)
        old = sess.execute(select(Media.sha256, Media.size).where(Media.created_at < cutoff)).all()
    with db.session() as sess:  # a bulletin written since the reading above may have named an old file again
        for r in sess.execute(select(Bulletin.media_sha256, Bulletin.subtitles_sha256,
                                     Bulletin.language_versions).where(Bulletin.updated_at >= now)):
            needed |= _bulletin_shas(r)
    gone_rows: list[str] = []
    for sha, size in old:
        if sha in needed:
            continue
        path = path_for(sha)
        if path.exists():
            path.unlink(missing_ok=True)
            out["files"] += 1
            out["bytes"] += int(size or 0)
        extra_copies(sha).unlink(missing_ok=True)  # the Opus copy an alert carried
        if sha not in named:
            gone_rows.append(sha)
    for i in range(0, len(gone_rows), _BATCH):
        with db.session() as sess:
            batch = gone_rows[i:i + _BATCH]
            res = sess.execute(delete(Media).where(Media.sha256.in_(batch)))
            out["rows"] += int(getattr(res, "rowcount", 0) or 0)
    if out["files"]:
        log.info("media retention: %(files)d files (%(bytes)d bytes) of long-ended bulletins deleted", out)
    return out
