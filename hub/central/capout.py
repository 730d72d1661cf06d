"""CAP out: every emergency the province sends, as CAP 1.2, so other channels (apps, web portals, cell
broadcast, the central system) can relay it (docs/CENTRAL.md).

- `GET /api/v1/cap/alerts.atom`: an Atom feed of the current emergencies (approved or on air, not expired);
- `GET /api/v1/cap/alerts/{id}.xml`: one emergency as CAP 1.2 (msgType Cancel once cancelled or recalled).
Both are signed by the hub's key (the headers of hub/central/signature.py over the exact bytes; the key is
at `GET /api/v1/keys`). Each emergency is also pushed to the central peer through the outbox (outbox.py).
"""

from __future__ import annotations

import hashlib

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.central import capwrite
from hub.errors import NotFound
from hub.models import Bulletin, Media
from hub.services.areas import AreaService
from hub.services.base import Context
from protocol.vocabulary import LIVE_STATUSES

ATOM = "http://www.w3.org/2005/Atom"
STOPPED = ("cancelled", "recalled")


def identifier_of(province_code: str, bulletin_id: str) -> str:
    return f"{province_code}-{bulletin_id}"


def _sha1(path: str) -> str | None:
    h = hashlib.sha1()  # noqa: S324 - CAP 1.2 names SHA-1 for <digest>
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


class CapOut:
    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx = ctx
        self._areas = areas

    @property
    def sender(self) -> str:
        return self.ctx.config.central.cap_sender

    def _province_code(self) -> str:
        roots = [a for a in self._areas.all().values() if a.parent_path is None]
        return roots[0].code if roots else "00"

    def _base(self, base_url: str) -> str:
        return (self.ctx.config.http.public_url or base_url).rstrip("/")

    def alert(self, sess: Session, b: Bulletin, base_url: str) -> capwrite.AlertOut:
        code = self._province_code()
        ident = identifier_of(code, b.id)
        sent = b.approved_at or b.created_at
        areas = self._areas.all()
        paths = b.target_paths
        info = capwrite.InfoOut(
            event=b.title,
            urgency="Immediate",
            severity="Severe",
            certainty="Likely",
            category="Safety",
            headline=b.title,
            description=b.text or "",
            sender_name="Hệ thống thông tin nguồn tỉnh",
            effective=b.valid_from,
            expires=b.valid_until,
            parameters=[("NGUON-PRIORITY", b.priority), ("NGUON-ORIGIN", b.origin)],
            resources=self._resources(sess, b, base_url),
            areas=[
                capwrite.AreaOut(
                    description=", ".join(areas[p].name for p in paths if p in areas) or ", ".join(paths),
                    geocodes=[("VN-DVHC", areas[p].code) for p in paths if p in areas],
                )
            ],
        )
        status = "Exercise" if b.exercise else "Actual"
        if b.status in STOPPED:
            stopped = b.cancelled_at or b.recalled_at or b.updated_at
            return capwrite.AlertOut(
                identifier=f"{ident}-cancel",
                sender=self.sender,
                sent=stopped,
                status=status,
                msg_type="Cancel",
                references=[(self.sender, ident, sent)],
                infos=[info],
            )
        return capwrite.AlertOut(identifier=ident, sender=self.sender, sent=sent, status=status, infos=[info])

    def _resources(self, sess: Session, b: Bulletin, base_url: str) -> list[capwrite.ResourceOut]:
        if not b.media_sha256:
            return []
        m = sess.get(Media, b.media_sha256)
        if m is None or m.kind != "audio":
            return []
        return [
            capwrite.ResourceOut(
                description=b.title,
                mime_type=m.mime,
                size=m.size,
                uri=f"{self._base(base_url)}/media/{m.sha256}",
                digest=_sha1(m.path),
            )
        ]

    def emergency(self, sess: Session, bulletin_id: str) -> Bulletin:
        b = sess.get(Bulletin, bulletin_id)
        if b is None or b.priority != "emergency" or b.approved_at is None:
            raise NotFound(f"Không có bản tin khẩn cấp '{bulletin_id}' đã phát.", field="id")
        return b

    def xml(self, bulletin_id: str, base_url: str = "") -> bytes:
        with self.ctx.db.session() as sess:
            return capwrite.write(self.alert(sess, self.emergency(sess, bulletin_id), base_url))

    def current(self, sess: Session) -> list[Bulletin]:
        now = self.ctx.now()
        rows = sess.scalars(
            select(Bulletin)
            .where(Bulletin.priority == "emergency", Bulletin.status.in_(LIVE_STATUSES))
            .order_by(Bulletin.approved_at.desc())
            .limit(200)
        ).all()
        return [b for b in rows if b.valid_until is None or b.valid_until > now]

    def feed(self, base_url: str) -> bytes:
        """Atom 1.0 of the current emergencies, each entry linking to its CAP document."""
        base = self._base(base_url)
        now = self.ctx.now()
        root = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})  # type: ignore[dict-item]

        def sub(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
            el = etree.SubElement(parent, f"{{{ATOM}}}{name}", attrs)
            if text is not None:
                el.text = text
            return el

        sub(root, "id", f"{base}/api/v1/cap/alerts.atom")
        sub(root, "title", "Bản tin khẩn cấp - Hệ thống thông tin nguồn tỉnh")
        sub(root, "updated", capwrite.cap_time(now))
        sub(root, "link", rel="self", href=f"{base}/api/v1/cap/alerts.atom")
        author = sub(root, "author")
        sub(author, "name", self.sender)
        with self.ctx.db.session() as sess:
            for b in self.current(sess):
                entry = sub(root, "entry")
                sub(entry, "id", identifier_of(self._province_code(), b.id))
                sub(entry, "title", b.title)
                sub(entry, "updated", capwrite.cap_time(b.updated_at or now))
                sub(entry, "summary", (b.text or "")[:500])
                sub(
                    entry,
                    "link",
                    rel="alternate",
                    type="application/cap+xml",
                    href=f"{base}/api/v1/cap/alerts/{b.id}.xml",
                )
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
