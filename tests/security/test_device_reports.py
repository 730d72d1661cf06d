"""Device reports checked (docs/SECURITY.md), against a real Mosquitto configured as a province's and a real
hub: each device publishes, with its own broker login, on its own event and status topics (all the ACL
lets it do). The hub believes a play, a recall confirmation or a "playing" status only for what it sent to
that device (its commune, its kind, a published bulletin; a recall only of a recalled one); anything else is
a bounded device anomaly shown on Thiết bị, and no bulletin changes state. Messages are bounded: a 20 MB
event or a 2 MB `rejected` event (through a broker without size limits) is one small row, not 20 MB or an
audit entry.

Before: a play from anyone flipped an approved bulletin to on_air, a recall confirmation was stored from
any device, and a big event was stored whole (a `rejected` one twice: as an event and in the audit log).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from sqlalchemy import func, select

from hub.app import HubRuntime
from hub.models import (
    AuditEntry,
    Bulletin,
    DeviceAnomaly,
    DeviceEventRow,
    FirstSeenPlaying,
    Play,
    RecallConfirmation,
)
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from hub.services import Services, reports
from protocol.topics import Topics
from tests.agent.harness import wait_until
from tests.hub.conftest import PASSWORD, make_config
from tests.security.province_broker import SAMPLE_TREE, ProvinceBroker, province_broker

T = Topics()
OTHER_COMMUNE, RADIO, LED = "loa-24611-1", "loa-24613-1", "bang-24613-1"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
TEXT = {
    "title": "Thông báo lịch tiêm chủng",
    "priority": "priority",
    "form": "text",
    "text": "UBND phường thông báo lịch tiêm chủng ngày 25/11.",
    "targets": ["67/660/24613"],
    "kinds": ["radio"],
}


def _count(s: Services, model: Any, *where: Any) -> int:
    with s.ctx.db.session() as sess:
        return int(sess.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _status_of(s: Services, bid: str) -> str:
    with s.ctx.db.session() as sess:
        b = sess.get(Bulletin, bid)
        assert b is not None
        return b.status


def play(device: str, bid: str, n: int = 1) -> dict[str, Any]:
    return {
        "id": f"{device}:{uuid.uuid4().hex}:{n}",
        "device_id": device,
        "type": "play",
        "at": "2026-11-23T05:01:00+07:00",
        "data": {
            "bulletin_id": bid,
            "outcome": "completed",
            "scheduled_at": "2026-11-23T05:00:00+07:00",
            "started_at": "2026-11-23T05:00:00+07:00",
            "ended_at": "2026-11-23T05:01:00+07:00",
            "emergency": False,
        },
    }


def event(device: str, typ: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{device}:{uuid.uuid4().hex}",
        "device_id": device,
        "type": typ,
        "at": "2026-11-23T05:01:00+07:00",
        "data": data,
    }


class Province:
    """The hub on the province's broker, its API and web pages as an editor and an operator."""

    def __init__(self, rt: HubRuntime, pb: ProvinceBroker) -> None:
        assert rt.services is not None
        self.rt, self.pb, self.s = rt, pb, rt.services
        self.http = aiohttp.ClientSession(rt.url, timeout=aiohttp.ClientTimeout(total=30))
        self._tokens: dict[str, str] = {}

    async def call(self, method: str, path: str, who: str = "editor67", **kw: Any) -> tuple[int, Any]:
        if who not in self._tokens:
            r = await self.http.post("/api/v1/auth/login", json={"username": who, "password": PASSWORD})
            assert r.status == 200, await r.text()
            self._tokens[who] = (await r.json())["token"]
        r = await self.http.request(
            method, f"/api/v1{path}", headers={"Authorization": f"Bearer {self._tokens[who]}"}, **kw
        )
        return r.status, await r.json()

    async def approved(self, **over: Any) -> str:
        st, b = await self.call("POST", "/bulletins", json={**TEXT, **over})
        assert st == 201, b
        st, out = await self.call("POST", f"/bulletins/{b['id']}/approve")
        assert st == 200, out
        return str(b["id"])

    async def devices_page(self, who: str = "vanhanh") -> str:
        async with aiohttp.ClientSession(
            self.rt.url, cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=30)
        ) as browser:
            r = await browser.get("/login")
            token = CSRF_RE.search(await r.text())
            assert token
            r = await browser.post(
                "/login",
                data={"username": who, "password": PASSWORD, "csrf": token.group(1), "next": "/devices"},
            )
            assert r.status == 200 and r.url.path == "/devices", r.url
            return await r.text()

    async def report(self, device: str, payload: Any, *, topic: str | None = None) -> None:
        """Publish as `device`, with its own login, on its own event topic (or `topic`)."""
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        async with self.pb.device_client(device) as c:
            await c.publish(topic or T.event(device), raw, qos=1, timeout=30)

    def anomalies(self, device: str, code: str | None = None) -> int:
        where = [DeviceAnomaly.device_id == device] + ([DeviceAnomaly.code == code] if code else [])
        return _count(self.s, DeviceAnomaly, *where)


@pytest.fixture
async def province(tmp_path: Path) -> AsyncIterator[Province]:
    with province_broker(tmp_path) as pb:
        async with HubRuntime(pb.hub_config(), scheduler=False) as rt:
            assert rt.services is not None and rt.ingest is not None
            s = rt.services
            s.areas.import_tree(SAMPLE_TREE, SYSTEM)
            for g in pb.devices:
                s.devices.register(SYSTEM, device_id=g.id, kind=g.kind, area=g.area)
            s.accounts.create_user(SYSTEM, username="editor67", password=PASSWORD, role="editor", area="67")
            s.accounts.create_user(SYSTEM, username="vanhanh", password=PASSWORD, role="operator", area="67")
            await wait_until(rt.ingest.connected.is_set, 10, "the hub's ingest")
            p = Province(rt, pb)
            try:
                yield p
            finally:
                await p.http.close()


async def test_a_play_is_believed_only_for_what_was_sent_to_that_device(province: Province) -> None:
    p, s = province, province.s
    bid = await p.approved()  # radio, commune 24613
    unapproved_st, draft = await p.call("POST", "/bulletins", json={**TEXT, "title": "Chưa duyệt"})
    assert unapproved_st == 201
    audit_before = _count(s, AuditEntry)

    await p.report(OTHER_COMMUNE, play(OTHER_COMMUNE, bid))  # another commune
    await p.report(LED, play(LED, bid))  # the right commune, but an LED board: a radio bulletin
    await p.report(RADIO, [play(RADIO, draft["id"]), play(RADIO, "b-khong-co")])  # not approved; unknown
    await wait_until(
        lambda: (
            p.anomalies(RADIO, "not_sent") == 2 and p.anomalies(OTHER_COMMUNE) == 1 and p.anomalies(LED) == 1
        ),
        10,
        "three devices' anomalies",
    )
    assert _status_of(s, bid) == "approved" and _status_of(s, draft["id"]) != "on_air"
    assert _count(s, Play) == 0 and _count(s, AuditEntry) == audit_before
    st, plays = await p.call("GET", f"/plays?bulletin={bid}")
    assert st == 200 and plays["plays"] == []

    # the same forged report again (a redelivery) counts once
    forged = play(OTHER_COMMUNE, bid)
    await p.report(OTHER_COMMUNE, forged)
    await p.report(OTHER_COMMUNE, forged)
    await wait_until(lambda: p.anomalies(OTHER_COMMUNE) == 2, 10, "the forged play counted")
    await asyncio.sleep(0.3)
    assert p.anomalies(OTHER_COMMUNE) == 2

    # the device it was sent to is believed: the bulletin goes on air
    await p.report(RADIO, play(RADIO, bid))
    await wait_until(lambda: _count(s, Play) == 1, 10, "the true play")
    assert _status_of(s, bid) == "on_air"

    # what the operator sees: the API's problems and the Thiết bị page, in Vietnamese
    st, body = await p.call("GET", "/devices", "vanhanh")
    problems = {d["id"]: d["problems"] for d in body["devices"]}
    odd = next(x for x in problems[OTHER_COMMUNE] if x["code"] == "anomaly")
    assert odd == {"code": "anomaly", "value": 2, "reasons": ["not_sent"]}
    assert next(x for x in problems[RADIO] if x["code"] == "anomaly")["value"] == 2
    html = await p.devices_page()
    assert "2 báo cáo bất thường trong 24 giờ qua, không được ghi nhận" in html
    assert "báo đã phát bản tin không gửi cho thiết bị này" in html


async def test_a_recall_confirmation_is_believed_only_from_a_device_it_was_recalled_for(
    province: Province,
) -> None:
    p, s = province, province.s
    bid = await p.approved()
    # not recalled yet: a confirmation is a lie even from the right device
    await p.report(RADIO, event(RADIO, "recall_confirmed", {"bulletin_id": bid}))
    await wait_until(lambda: p.anomalies(RADIO, "not_recalled") == 1, 10, "an early confirmation")
    st, out = await p.call("POST", f"/bulletins/{bid}/recall", json={"reason": "Sai ngày"})
    assert st == 200 and out["status"] == "recalled"
    await p.report(OTHER_COMMUNE, event(OTHER_COMMUNE, "recall_confirmed", {"bulletin_id": bid}))
    await p.report(LED, event(LED, "recall_confirmed", {"bulletin_id": bid}))  # not sent to LED boards
    await wait_until(
        lambda: p.anomalies(OTHER_COMMUNE, "not_recalled") == 1 and p.anomalies(LED, "not_recalled") == 1,
        10,
        "confirmations from others",
    )
    assert _count(s, RecallConfirmation) == 0
    await p.report(RADIO, event(RADIO, "recall_confirmed", {"bulletin_id": bid}))
    await wait_until(lambda: _count(s, RecallConfirmation) == 1, 10, "the true confirmation")
    st, dl = await p.call("GET", f"/bulletins/{bid}/deliveries")
    assert st == 200 and dl["recall_confirmed"] == 1
    assert [d["device_id"] for d in dl["devices"] if d["recall_confirmed_at"]] == [RADIO]
    assert _status_of(s, bid) == "recalled"


async def test_a_playing_status_proves_nothing_for_an_emergency_not_sent_to_that_device(
    province: Province,
) -> None:
    p, s = province, province.s
    eid = await p.approved(priority="emergency", title="Lũ quét", kinds=["radio", "led"])
    status = {
        "device_id": OTHER_COMMUNE,
        "kind": "radio",
        "area": "67/660/24611",
        "state": "emergency",
        "now_playing": eid,
        "at": "2026-11-23T05:00:01+07:00",
    }
    for _ in range(3):  # heartbeats: counted once
        await p.report(OTHER_COMMUNE, status, topic=T.status(OTHER_COMMUNE))
    await p.report(
        LED, {**status, "device_id": LED, "kind": "led", "area": "67/660/24613"}, topic=T.status(LED)
    )
    await wait_until(lambda: _count(s, FirstSeenPlaying) == 1, 10, "the LED board's true status")
    await wait_until(lambda: p.anomalies(OTHER_COMMUNE, "status_not_sent") == 1, 10, "the false status")
    await asyncio.sleep(0.3)
    assert p.anomalies(OTHER_COMMUNE) == 1
    st, dl = await p.call("GET", f"/bulletins/{eid}/deliveries")
    assert st == 200 and dl["confirmed"] == 1 and OTHER_COMMUNE not in [d["device_id"] for d in dl["devices"]]


async def test_reports_and_commands_of_the_wrong_shape_are_anomalies(province: Province) -> None:
    p, s = province, province.s
    await p.report(RADIO, b"\xff not json")
    await p.report(RADIO, [{"type": "play"}])  # no id
    await p.report(RADIO, [event(RADIO, "reboot_now", {})])  # no such event type
    await p.report(
        RADIO, [event(RADIO, "command_result", {"command_id": "c-not-mine", "command": "stop", "ok": True})]
    )
    await p.report(RADIO, [event(RADIO, "error", {"code": "x"})] * (reports.MAX_EVENTS_PER_MESSAGE + 1))
    codes = ("malformed", "unknown_type", "unknown_command", "too_many")
    await wait_until(lambda: p.anomalies(RADIO) == 5, 10, "five anomalies")
    assert {c: p.anomalies(RADIO, c) for c in codes} == {
        "malformed": 2,
        "unknown_type": 1,
        "unknown_command": 1,
        "too_many": 1,
    }
    assert _count(s, DeviceEventRow) == 0


async def test_a_big_rejected_event_is_one_bounded_row(province: Province) -> None:
    """Through the province's broker (1.25 MiB limit): a 1 MB `rejected` event reaches the hub and is one
    anomaly row; a small one with a long detail is kept, cut, with one bounded audit entry."""
    p, s = province, province.s
    audit_before = _count(s, AuditEntry)
    big = event(
        RADIO, "rejected", {"reason": "bad_signature", "topic": T.alert("67"), "detail": "x" * 1_000_000}
    )
    await p.report(RADIO, big)
    await wait_until(lambda: p.anomalies(RADIO, "oversized") == 1, 15, "the big event refused")
    assert _count(s, DeviceEventRow) == 0 and _count(s, AuditEntry) == audit_before
    small = event(
        RADIO,
        "rejected",
        {"reason": "bad_signature" * 10, "topic": "t" * 1000, "detail": "y" * 2000, "extra": "z" * 1000},
    )
    await p.report(RADIO, small)
    await wait_until(lambda: _count(s, DeviceEventRow) == 1, 10, "the small rejected event")
    with s.ctx.db.session() as sess:
        row = sess.scalars(select(DeviceEventRow)).one()
        assert set(row.data) == {"reason", "topic", "detail"}
        assert len(json.dumps(row.data)) < 700
        entry = sess.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.action == "device.rejected"
        assert len(json.dumps(entry.detail)) < 1000
    assert _count(s, AuditEntry) == audit_before + 1


async def test_huge_messages_through_a_broker_without_limits_are_bounded_rows(tmp_path: Path) -> None:
    """A broker installed before the size limits lets a 20 MB event and a 2 MB `rejected` event through:
    the hub keeps one small row for each, stores neither, and its database does not grow by megabytes."""
    with MosquittoProcess(tmp_path / "mq", size_limits=False) as mq:
        cfg = make_config(
            tmp_path, mqtt={"enabled": True, "host": mq.host, "port": mq.port}, http={"port": 0}
        )
        async with HubRuntime(cfg, scheduler=False) as rt:
            assert rt.services is not None and rt.ingest is not None
            s = rt.services
            s.areas.import_tree(SAMPLE_TREE, SYSTEM)
            s.devices.register(SYSTEM, device_id=RADIO, kind="radio", area="67/660/24613")
            await wait_until(rt.ingest.connected.is_set, 10, "the hub's ingest")

            def db_bytes() -> int:  # the database and its write-ahead log
                return sum(f.stat().st_size for f in cfg.data_dir.glob("hub.sqlite3*"))

            size_before = db_bytes()
            audit_before = _count(s, AuditEntry)
            huge = json.dumps(event(RADIO, "error", {"detail": "x" * (20 * 1024 * 1024)})).encode()
            rejected = json.dumps(event(RADIO, "rejected", {"reason": "expired", "detail": "y" * 2_000_000}))
            async with aiomqtt.Client(mq.host, mq.port, protocol=aiomqtt.ProtocolVersion.V5, timeout=60) as c:
                await c.publish(T.event(RADIO), huge, qos=1, timeout=60)
                await c.publish(T.event(RADIO), rejected.encode(), qos=1, timeout=60)
                await c.publish(T.status(RADIO), b"{" + b" " * (1024 * 1024) + b"}", qos=1, timeout=60)

            def rows() -> int:
                return _count(
                    s, DeviceAnomaly, DeviceAnomaly.device_id == RADIO, DeviceAnomaly.code == "oversized"
                )

            await wait_until(lambda: rows() == 3, 30, "three oversized anomalies")
            await rt.flush_statuses()
            with s.ctx.db.session() as sess:
                kept = sess.scalars(select(DeviceAnomaly).order_by(DeviceAnomaly.id)).all()
                assert [a.size for a in kept][:2] == [len(huge), len(rejected.encode())]
                assert all(len(a.detail) <= 300 for a in kept)
            assert _count(s, DeviceEventRow) == 0 and _count(s, AuditEntry) == audit_before
            assert s.devices.list(SYSTEM)[0]["status"] == {}  # the 1 MB status was not stored
            assert db_bytes() - size_before < 512 * 1024
