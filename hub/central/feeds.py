"""CAP feeds in (docs/CENTRAL.md): the hub follows Atom or RSS feeds of CAP alerts (a national disaster
agency's, for instance), each with a rule (`[[central.feeds]]`: areas, severities, urgencies; air at once
or queue for an editor's approval).

Each entry's CAP document (linked with type application/cap+xml, or the entry's link) is read with the same
safe parser and schema as the central system's requests, then handled by `CentralLink.handle` with the rule:
idempotent by sender/identifier/sent, Update and Cancel by references, an expired alert skipped. The feeds
are trusted as the operator configured them (their URL, ideally HTTPS); what an alert says is checked like
any other. The origin is the province's (only the signed interface gives `central`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from lxml import etree

from hub.central.cap import CapError, parse, refuse_dtd, safe_parser
from hub.central.inbound import CentralLink, Outcome
from hub.config import CapFeedRule
from hub.errors import ServiceError
from hub.roles import Actor

log = logging.getLogger(__name__)
ATOM = "{http://www.w3.org/2005/Atom}"
MAX_FEED_BYTES = 2 * 1024 * 1024
MAX_CAP_BYTES = 8 * 1024 * 1024
FEED_ACTOR = Actor(user_id=None, username="cap-feed", role="admin", area_path=None)


def cap_links(feed: bytes, base: str) -> list[str]:
    """The CAP documents an Atom or RSS feed links to, in its order."""
    doc = etree.fromstring(feed, safe_parser()).getroottree()
    refuse_dtd(doc)
    root = doc.getroot()
    out: list[str] = []
    for entry in root.iter(f"{ATOM}entry"):
        links = entry.findall(f"{ATOM}link")
        cap = [lk for lk in links if (lk.get("type") or "").endswith("cap+xml")] or links[:1]
        out += [str(lk.get("href")) for lk in cap if lk.get("href")]
    for item in root.iter("item"):  # RSS 2.0
        link = item.findtext("link")
        if link:
            out.append(link.strip())
    return [u if "://" in u else base.rstrip("/") + "/" + u.lstrip("/") for u in out]


class FeedReader:
    def __init__(self, link: CentralLink) -> None:
        self.link = link
        self.ctx = link.ctx
        self._seen: set[str] = set()  # CAP documents already handled (or skipped) by this process

    async def _get(self, http: aiohttp.ClientSession, url: str, limit: int) -> bytes:
        async with http.get(url) as r:
            if r.status != 200:
                raise CapError(f"{url[:200]}: HTTP {r.status}", code="feed_unreachable")
            body = await r.content.read(limit + 1)
            if len(body) > limit:
                raise CapError(f"{url[:200]}: quá {limit // 1024} KiB", code="cap_too_big")
            return body

    async def poll(self, rule: CapFeedRule, http: aiohttp.ClientSession) -> list[Outcome]:
        """Read the feed once; handle each CAP document not seen yet. A document refused is audited once."""
        out: list[Outcome] = []
        try:
            links = cap_links(await self._get(http, rule.url, MAX_FEED_BYTES), rule.url.rsplit("/", 1)[0])
        except (aiohttp.ClientError, TimeoutError, etree.XMLSyntaxError, ServiceError) as exc:
            log.warning("CAP feed %s: %s", rule.url, exc)
            return out
        for url in links:
            if url in self._seen:
                continue
            self._seen.add(url)
            outcome = await self._one(rule, http, url)
            if outcome is not None:
                out.append(outcome)
        return out

    async def _one(self, rule: CapFeedRule, http: aiohttp.ClientSession, url: str) -> Outcome | None:
        alert = None
        try:
            body = await self._get(http, url, MAX_CAP_BYTES)
            alert = parse(body)
            return await self.link.handle(FEED_ACTOR, alert, body, feed=rule)
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._seen.discard(url)  # try again at the next poll
            log.warning("CAP feed %s: %s: %s", rule.url, url, exc)
        except ServiceError as exc:
            if exc.code not in ("expired", "outside_rule"):  # old entries and other areas are the usual
                detail: dict[str, Any] = {"feed": rule.name or rule.url, "url": url, "code": exc.code}
                detail["message"] = exc.message
                await asyncio.to_thread(
                    self.ctx.audit_now,
                    FEED_ACTOR,
                    "feed.refused",
                    alert.identifier if alert else "",
                    outcome="failed",
                    detail=detail,
                )
        return None

    async def run(self) -> None:
        """Owned task of the hub: poll each feed every `poll_s`."""
        rules = self.ctx.config.central.feeds
        due = [0.0] * len(rules)
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            while True:
                for i, rule in enumerate(rules):
                    if loop.time() >= due[i]:
                        due[i] = loop.time() + rule.poll_s
                        try:
                            await self.poll(rule, http)
                        except Exception:
                            log.exception("CAP feed %s", rule.url)
                await asyncio.sleep(1.0)
