"""Reports and CAP alerts reach the central peer (a real `python -m hub central serve` process) after it was
down for an hour, each once; the central system can also pull a report, signed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import update

from hub.central.signature import sign_headers
from hub.models import CentralOutbox
from hub.roles import SYSTEM
from tests.central.conftest import central_config
from tests.hub.conftest import running_hub

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def peer_process(port: int, data: Path, hub_key: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub",
            "central",
            "serve",
            "--port",
            str(port),
            "--data",
            str(data),
            "--hub-key",
            hub_key,
            "--max-skew-s",
            "7200",
        ],  # the test moves the hub's clock an hour ahead
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


async def _received(port: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/received") as r:
        return dict(await r.json())


async def _wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            await _received(port)
            return
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise AssertionError("the central peer did not start")


async def test_reports_reach_the_peer_after_an_hour_down_each_once(
    tmp_path: Path, free_tcp_port: int
) -> None:
    key = Ed25519PrivateKey.generate()
    cfg = central_config(
        tmp_path, key, peer_url=f"http://127.0.0.1:{free_tcp_port}", retry_s=30, retry_max_s=600
    )
    async with running_hub(cfg) as h:
        h.clock.set(datetime.now(UTC).replace(microsecond=0))  # the peer checks signatures on its own clock
        out = h.s.central_outbox
        status, b = await h.call(
            "POST",
            "/api/v1/bulletins",
            "editor67",
            json={
                "title": "Sạt lở đất",
                "priority": "emergency",
                "form": "text",
                "text": "Bà con tránh xa taluy.",
                "targets": ["67/660"],
                "kinds": ["radio"],
            },
        )
        assert status == 201
        status, _ = await h.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
        assert status == 200
        day = h.s.ctx.local_now().date()
        assert len(out.enqueue_reports(day)) == 3
        assert out.pending() == 4  # the three reports and the emergency as CAP
        # an hour with the peer down: every try fails, nothing is lost
        for _ in range(12):
            assert await out.send_due() == 0
            h.clock.advance(300)
        with h.s.ctx.db.session() as sess:
            attempts = [r.attempts for r in sess.query(CentralOutbox).order_by(CentralOutbox.id)]
        assert attempts[0] >= 4 and out.pending() == 4
        with peer_process(free_tcp_port, tmp_path / "peer", h.s.envelopes.key.public_b64) as proc:
            await _wait_up(free_tcp_port, proc)
            h.clock.advance(600)
            assert await out.send_due() == 4 and out.pending() == 0
            assert out.enqueue_reports(day) == []  # the same day again queues nothing
            # an answer lost on the way: the hub sends that report again, the peer keeps it once
            with h.s.ctx.db.session() as sess:
                sess.execute(update(CentralOutbox).where(CentralOutbox.kind == "plays").values(sent_at=None))
            assert await out.send_due() == 1
            got = await _received(free_tcp_port)
        keys = sorted(r["key"] for r in got["received"])
        assert (
            keys == sorted([f"bulletins:{day}", f"plays:{day}", f"terminals:{day}", f"cap:67-{b['id']}"])
            and got["posts"] == 5
        )
        rows = [line for line in (tmp_path / "peer" / "received.jsonl").read_text().splitlines() if line]
        assert len(rows) == 4
        report = next(r for r in map(json.loads, rows) if r["kind"] == "bulletins")
        assert report["doc"]["items"][0]["id"] == b["id"] and report["doc"]["province"]["code"] == "67"


async def test_the_central_system_pulls_a_report_signed(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    async with running_hub(central_config(tmp_path, key)) as h:
        day = h.s.ctx.local_now().date()
        path = f"/api/v1/central/reports/terminals?date={day}"
        r = await h.client.get(path, headers=sign_headers(key, "GET", path, b"", h.clock.now()))
        assert r.status == 200, await r.text()
        doc = await r.json()
        assert doc["schema"] == "nguon-central-report/1" and doc["kind"] == "terminals"
        other = Ed25519PrivateKey.generate()
        r = await h.client.get(path, headers=sign_headers(other, "GET", path, b"", h.clock.now()))
        assert r.status == 401
        r = await h.client.get(path)
        assert r.status == 401
        bad = "/api/v1/central/reports/secrets"
        r = await h.client.get(bad, headers=sign_headers(key, "GET", bad, b"", h.clock.now()))
        assert r.status == 422
        refused = h.s.audit(SYSTEM, action="central.refused")
        assert {e["detail"]["code"] for e in refused} == {"bad_signature", "unsigned"}
