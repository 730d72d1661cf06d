"""CAP feeds in: the hub follows an Atom and an RSS feed (served here by a real HTTP server), each with a
rule: severity, urgency and areas filter; one airs at once, the other queues for an editor; read twice, each
alert is one bulletin; a broken entry is audited, an expired one skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from hub.central.feeds import FeedReader
from hub.config import CapFeedRule
from hub.models import Bulletin
from hub.roles import SYSTEM
from tests.central.conftest import DATA, alerts, vi_alert
from tests.hub.conftest import T0, make_config, running_hub


@asynccontextmanager
async def feed_server(files: dict[str, bytes]) -> AsyncIterator[str]:
    async def serve(request: web.Request) -> web.Response:
        body = files.get(request.path)
        return web.Response(body=body) if body is not None else web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def atom(links: list[str]) -> bytes:
    link = '<link rel="alternate" type="application/cap+xml" href="{}"/>'
    entries = "".join(f"<entry><id>{u}</id><title>x</title>{link.format(u)}</entry>" for u in links)
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{entries}</feed>'.encode()


async def test_feeds_filter_and_air_or_queue(tmp_path: Path) -> None:
    files = {
        "/cap/f1.xml": vi_alert("f1", codes=("24611",), headline="Lũ quét ở Nghĩa Đức"),
        "/cap/f2.xml": vi_alert("f2", codes=("24611",), urgency="Future", severity="Minor"),
        "/cap/f3.xml": vi_alert("f3", sent=T0 - timedelta(hours=3), expires=T0 - timedelta(hours=1)),
        "/cap/f4.xml": (DATA / "invalid.cap").read_bytes(),
        "/cap/f5.xml": vi_alert("f5", codes=("24658",)),  # Đắk Glong: outside the rule's district
        "/cap/f6.xml": vi_alert(
            "f6", codes=("67",), urgency="Expected", severity="Moderate", headline="Nắng nóng"
        ),
    }
    files["/atom.xml"] = atom([f"/cap/f{i}.xml" for i in range(1, 6)])
    files["/rss.xml"] = b'<rss version="2.0"><channel><item><link>/cap/f6.xml</link></item></channel></rss>'
    async with feed_server(files) as base:
        air = CapFeedRule(url=f"{base}/atom.xml", name="Tổng cục PCTT", areas=["660"], action="air")
        queue = CapFeedRule(
            url=f"{base}/rss.xml",
            severities=["Moderate"],
            urgencies=["Expected"],
            areas=["661"],
            action="queue",
        )
        async with running_hub(make_config(tmp_path)) as h:
            reader = FeedReader(h.s.central)
            async with aiohttp.ClientSession() as http:
                got = await reader.poll(air, http) + await reader.poll(queue, http)
                assert [(o.outcome, o.bulletin_id is not None) for o in got] == [
                    ("aired", True),
                    ("filtered", False),
                    ("waiting", True),
                ]
                aired = h.s.bulletins.get(SYSTEM, got[0].bulletin_id)
                assert aired["status"] == "approved" and aired["origin"] == "province"
                assert aired["targets"] == ["67/660/24611"] and aired["title"] == "Lũ quét ở Nghĩa Đức"
                waiting = h.s.bulletins.get(SYSTEM, got[2].bulletin_id)
                # a province-wide alert, narrowed to the rule's district; an editor approves it
                assert waiting["status"] == "submitted" and waiting["targets"] == ["67/661"]
                assert waiting["priority"] == "priority"
                assert [a.identifier for _, a in alerts(h)] == [aired["id"]]
                refused = h.s.audit(SYSTEM, action="feed.refused")
                assert [r["detail"]["code"] for r in refused] == ["cap_invalid"]
                # read again, and by a restarted reader: nothing new
                assert await reader.poll(air, http) == []
                again = await FeedReader(h.s.central).poll(air, http)
                assert [o.duplicate for o in again if o.outcome != "filtered"] == [True]
                assert h.count(Bulletin) == 2
