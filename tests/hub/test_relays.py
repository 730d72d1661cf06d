"""Tiếp sóng through the API: who may create relays, the window check, the signed programme carrying them,
the chair's programme view, tokens for the province's own mounts, and what hostile input gets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.models import AuditEntry, Play, RelayRow
from hub.roles import SYSTEM
from tests.hub.conftest import Hub
from tests.hub.test_windows import OTHER, OWN, TODAY, bulletin, latest

RELAY = {"title": "Thời sự VOV", "source": "https://radio.example.vn/vov1.mp3", "start": "06:00",
         "minutes": 15, "days": "daily", "areas": ["67"]}


async def create(hub: Hub, who: str = "editor67", **over: Any) -> tuple[int, Any]:
    return await hub.call("POST", "/api/v1/relays", who, json={**RELAY, **over})


async def test_relay_in_the_signed_programme_and_the_chairs_view(hub: Hub) -> None:
    bid = await bulletin(hub)
    status, r = await create(hub)
    assert status == 201, r
    assert (r["start"], r["end"], r["areas"]) == ("06:00", "06:15", ["67"])
    await hub.s.publishing.flush()

    day = latest(hub, OWN, "radio").days[0]
    [entry] = day.relays
    assert (entry.relay_id, entry.title, entry.url) == (r["id"], "Thời sự VOV", RELAY["source"])
    assert (entry.start, entry.end, entry.window) == (f"{TODAY}T06:00:00+07:00", f"{TODAY}T06:15:00+07:00",
                                                      "05:00-06:30")
    assert entry.token == ""  # another station's URL: no token of ours
    for item in day.items:  # the bulletin plays around the relay, never over it
        s, e = datetime.fromisoformat(item.start), datetime.fromisoformat(item.end)
        assert e <= datetime.fromisoformat(entry.start) or s >= datetime.fromisoformat(entry.end)
    assert [i.bulletin_id for i in day.items][:1] == [bid]
    assert latest(hub, OWN, "led").days[0].relays == []  # a board relays no sound

    url = f"/api/v1/programme?area={OWN}&kind=radio&date={TODAY}"
    status, view = await hub.call("GET", url, "chair24613")
    assert status == 200, view
    assert [(x["relay_id"], x["title"], x["start"][11:16]) for x in view["relays"]] == [
        (r["id"], "Thời sự VOV", "06:00")]
    status, listing = await hub.call("GET", f"/api/v1/relays?area={OWN}", "chair24613")
    assert status == 200 and [x["id"] for x in listing["relays"]] == [r["id"]]
    assert listing["relays"][0]["can_edit"] is False  # the province's relay: not the chair's to change
    # a mount of the province's own stream server gets a token for that mount only
    await _mount_token_opens_that_mount_only(hub)
    # a loudspeaker's report of the relay is stored like a play; a relay not for its commune is not believed
    hub.s.devices.register(SYSTEM, device_id="loa-1", kind="radio", area=OWN)
    hub.s.devices.register(SYSTEM, device_id="loa-2", kind="radio", area=OTHER)
    play = {"bulletin_id": r["id"], "outcome": "completed", "relay": True, "relayed_s": 840.0,
            "started_at": f"{TODAY}T06:00:00+07:00", "ended_at": f"{TODAY}T06:15:00+07:00",
            "gaps": [{"from": f"{TODAY}T06:05:00+07:00", "to": f"{TODAY}T06:06:00+07:00",
                      "why": "mất luồng"}]}
    ev = {"id": "e1", "device_id": "loa-1", "type": "play", "at": f"{TODAY}T06:15:00+07:00", "data": play}
    assert hub.s.devices.ingest_events("loa-1", [ev]) == 1
    mine = {**play, "bulletin_id": "relay-unknown"}
    assert hub.s.devices.ingest_events("loa-1", [{**ev, "id": "e2", "data": mine}]) == 0
    with hub.s.ctx.db.session() as sess:
        [stored] = sess.query(Play).filter(Play.bulletin_id == r["id"]).all()
        assert stored.data["relayed_s"] == 840.0 and stored.device_id == "loa-1"

    # a reorganisation: the relays follow their areas (a retired district's reach passes to its communes)
    status, district = await create(hub, "editor660", areas=["67/660"], start="18:00", title="Huyện")
    assert status == 201, district
    plan = {"name": "NQ-9", "effective": "2025-07-01", "retire": ["660"],
            "move": [{"area": c, "to": "67"} for c in ("24611", "24613", "24631")],
            "assign": {"accounts": {"editor660": "67"}}}
    status, out = await hub.call("POST", "/api/v1/areas/reorganise", "admin1", json={"plan": plan})
    assert status == 200 and out["rows_followed"]["relays"] == 2, out  # the province's "67" stays
    status, listing = await hub.call("GET", "/api/v1/relays", "admin1")
    assert sorted(tuple(x["areas"]) for x in listing["relays"]) == [
        ("67",), ("67/24611", "67/24613", "67/24631"), ("67/24613",)]
    status, moved = await hub.call("GET", f"/api/v1/relays/{district['id']}", "admin1")
    assert moved["areas"] == ["67/24611", "67/24613", "67/24631"], moved


async def _mount_token_opens_that_mount_only(hub: Hub) -> None:
    status, r = await create(hub, source="/relay/tinh.mp3", areas=[OWN], start="17:00")
    assert status == 201, r
    await hub.s.publishing.flush()
    entry = latest(hub, OWN, "radio").days[0].relays[-1]
    assert entry.url.endswith("/relay/tinh.mp3") and entry.url.startswith("http")
    assert entry.token and entry.token_expires > entry.end

    async def auth(mount: str, token: str) -> str:
        form = {"mount": mount, "pass": token, "user": "d1"}
        resp = await hub.client.post("/api/v1/stream/auth", data=form)
        return resp.headers.get("icecast-auth-message", "ok") if resp.status == 200 else str(resp.status)

    assert await auth("/relay/tinh.mp3", entry.token) == "ok"
    assert await auth("/relay/other.mp3", entry.token) == "bad token"  # someone else's mount
    assert await auth("/relay/tinh.mp3", entry.token + "0") == "bad token"
    assert await auth("/relay/tinh.mp3", "garbage") == "malformed token"
    assert await auth("/relay/../live/x.mp3", entry.token) == "unknown mount"


async def _chair_creates_changes_and_deletes_for_own_commune_only(hub: Hub) -> None:
    status, r = await create(hub, "chair24613", areas=[OWN], start="17:30", minutes=20, title="Đài tỉnh")
    assert status == 201, r
    status, r2 = await hub.call("PUT", f"/api/v1/relays/{r['id']}", "chair24613",
                                json={**RELAY, "areas": [OWN], "start": "18:00", "minutes": 30})
    assert status == 200 and r2["end"] == "18:30", r2
    await hub.s.publishing.flush()
    assert [e.start[11:16] for e in latest(hub, OWN, "radio").days[0].relays] == ["18:00"]
    # the neighbour's chair cannot touch it, nor create for another commune
    status, body = await hub.call("DELETE", f"/api/v1/relays/{r['id']}", "chair24611")
    assert status == 404, body  # not even visible to them
    status, body = await create(hub, "chair24613", areas=[OTHER])
    assert status == 403, body
    status, body = await create(hub, "chair24613", areas=["67"])  # the province: the editorial board's
    assert status == 403, body
    status, body = await hub.call("DELETE", f"/api/v1/relays/{r['id']}", "chair24613")
    assert status == 200, body
    await hub.s.publishing.flush()
    assert latest(hub, OWN, "radio").days[0].relays == []
    with hub.s.ctx.db.session() as sess:
        actions = [a.action for a in sess.query(AuditEntry).filter(AuditEntry.action.like("relay.%"))]
    assert actions == ["relay.create", "relay.update", "relay.delete"]


HOSTILE: list[tuple[dict[str, Any], int, str | None, str | None]] = [
    ({"start": "06:20"}, 422, "start", "không nằm trọn trong một khung giờ phát"),  # 06:20-06:35
    ({"start": "12:00"}, 422, "start", "05:00-06:30, 17:00-18:30"),
    ({"start": "6h"}, 422, "start", "GG:PP"),
    ({"minutes": 0}, 422, None, None),
    ({"source": "ftp://radio.example.vn/a.mp3"}, 422, "source", "http://"),
    ({"source": "javascript:alert(1)"}, 422, "source", "http://"),
    ({"source": "https://user:secret@radio.example.vn/a.mp3"}, 422, "source", "mật khẩu"),
    ({"source": "https://radio.example.vn/" + "a" * 500}, 422, "source", "dài quá"),
    ({"source": "https://radio.example.vn/a b.mp3"}, 422, "source", "khoảng trắng"),
    ({"source": "/relay/../../etc/passwd"}, 422, "source", "/relay/TEN.mp3"),
    ({"title": "x" * 250}, 422, "title", "dài quá"),
    ({"title": "x" * 5000}, 422, None, None),
    ({"title": "a\u0000b"}, 422, "title", "ký tự điều khiển"),
    ({"areas": ["99"]}, 422, "areas", "Không có khu vực"),
    ({"areas": ["67/661"]}, 403, None, None),  # editor660 covers 67/660 only
    ({"days": "dates", "dates": ["2020-01-01"]}, 422, "dates", "từ hôm nay"),
    ({"url": "https://x"}, 422, None, None),  # unknown field
]


async def test_hostile_input_is_refused_and_what_a_chair_may_do(hub: Hub) -> None:
    for over, status, field, says in HOSTILE:
        got, body = await create(hub, "editor660", **{"areas": ["67/660"], **over})
        assert got == status, (over, body)
        if field is not None:
            assert body["error"]["field"] == field and says in body["error"]["message"], (over, body)
    assert hub.count(RelayRow) == 0
    # a commune chair: their own commune only, create, change, delete
    await _chair_creates_changes_and_deletes_for_own_commune_only(hub)
    # a relay colliding with another on the same area, and roles without the right
    assert (await create(hub))[0] == 201
    status, body = await create(hub, "chair24613", areas=[OWN], start="06:10", minutes=5)
    assert status == 422 and "Trùng giờ" in body["error"]["message"], body
    assert (await create(hub, "chair24613", areas=[OWN], start="06:15", minutes=5))[0] == 201  # after it
    for who in ("viewer", "oper", "reviewer67"):
        status, body = await create(hub, who, start="17:00")
        assert status == 403, (who, body)
