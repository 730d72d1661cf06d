"""The central system's signed CAP interface, through the front door (POST /api/v1/central/cap): what airs,
what is refused (and audited), idempotency, Update and Cancel, statuses, areas, audio with its digest."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.central import capwrite
from hub.models import Bulletin, CentralRequest
from hub.roles import SYSTEM
from tests.central.conftest import DATA, SENDER, CentralHub, alerts, vi_alert
from tests.hub.conftest import T0

CHIME = DATA / "chime.wav"


async def test_an_emergency_airs_at_once_on_the_targeted_commune(central: CentralHub) -> None:
    status, out = await central.send(vi_alert("vn-1", codes=("24611", "24613")))
    assert status == 200, out
    assert out["outcome"] == "aired" and out["duplicate"] is False
    b = central.hub.s.bulletins.get(SYSTEM, out["bulletin"])
    assert b.origin == "central" and b.priority == "emergency" and b.status == "approved"
    assert sorted(b.targets) == ["67/660/24611", "67/660/24613"]
    assert b.text.startswith("Cảnh báo lũ quét") and "nơi an toàn" in b.text
    assert b.valid_until == (T0 + timedelta(hours=2)).isoformat()
    sent = alerts(central.hub)
    assert {t.rsplit("/", 2)[-2] for t, _ in sent} == {"24611", "24613"}
    assert all(a.msg_type == "Alert" and a.status == "Actual" and a.identifier == b.id for _, a in sent)
    (row,) = central.audit("central.receive")
    assert row["username"] == "trung-uong" and row["detail"]["outcome"] == "aired"


async def test_the_same_alert_twice_is_one_bulletin(central: CentralHub) -> None:
    body = vi_alert("vn-dup")
    s1, first = await central.send(body)
    s2, again = await central.send(body)  # signed again, with a new nonce: the central system's retry
    assert (s1, s2) == (200, 200)
    assert again["duplicate"] is True and again["bulletin"] == first["bulletin"]
    assert central.hub.count(Bulletin) == 1 and len(alerts(central.hub)) == 1


async def test_update_replaces_and_cancel_stops(central: CentralHub) -> None:
    s, first = await central.send(vi_alert("vn-u1"))
    assert s == 200
    ref = ((SENDER, "vn-u1", T0),)
    central.hub.clock.advance(60)
    s, upd = await central.send(
        vi_alert(
            "vn-u2",
            msg_type="Update",
            sent=T0 + timedelta(seconds=60),
            references=ref,
            headline="Cập nhật: lũ quét lan rộng",
            codes=("24611", "24631"),
        )
    )
    assert s == 200, upd
    old = central.hub.s.bulletins.get(SYSTEM, first["bulletin"])
    new = central.hub.s.bulletins.get(SYSTEM, upd["bulletin"])
    assert old.status == "cancelled" and new.status == "approved"
    assert new.title == "Cập nhật: lũ quét lan rộng" and "67/660/24631" in new.targets
    kinds = [(a.msg_type, a.identifier) for _, a in alerts(central.hub)]
    assert ("Cancel", first["bulletin"]) in kinds and ("Alert", upd["bulletin"]) in kinds
    central.hub.clock.advance(60)
    s, cancel = await central.send(
        vi_alert(
            "vn-u3",
            msg_type="Cancel",
            sent=T0 + timedelta(seconds=120),
            references=((SENDER, "vn-u2", T0 + timedelta(seconds=60)),),
        )
    )
    assert s == 200 and cancel["outcome"] == "cancelled" and cancel["bulletin"] == upd["bulletin"]
    assert central.hub.s.bulletins.get(SYSTEM, upd["bulletin"]).status == "cancelled"
    assert alerts(central.hub)[-1][1].msg_type == "Cancel"


async def test_cancel_of_an_unknown_alert_is_refused(central: CentralHub) -> None:
    s, out = await central.send(vi_alert("vn-c", msg_type="Cancel", references=((SENDER, "never-sent", T0),)))
    assert (
        s == 422 and out["error"]["code"] == "unknown_reference" and out["error"]["element"] == "references"
    )
    assert central.hub.count(CentralRequest) == 0


async def test_exercise_airs_as_an_exercise_and_test_never_airs(central: CentralHub) -> None:
    s, ex = await central.send(vi_alert("vn-ex", status="Exercise"))
    assert s == 200 and ex["outcome"] == "aired"
    assert central.hub.s.bulletins.get(SYSTEM, ex["bulletin"]).exercise is True
    assert [a.status for _, a in alerts(central.hub)] == ["Exercise"]
    before = len(central.hub.publisher.messages)
    s, t = await central.send(vi_alert("vn-test", status="Test"))
    assert s == 200 and t["outcome"] == "test" and t["bulletin"] is None
    assert len(central.hub.publisher.messages) == before and central.hub.count(Bulletin) == 1


async def test_vietnamese_info_first_and_priority_parameter(central: CentralHub) -> None:
    s, out = await central.send(
        vi_alert("vn-en", english_first=True, parameters=(("NGUON-PRIORITY", "priority"),))
    )
    assert s == 200 and out["outcome"] == "queued"
    b = central.hub.s.bulletins.get(SYSTEM, out["bulletin"])
    assert b.title == "Cảnh báo lũ quét" and b.priority == "priority" and b.origin == "central"
    assert alerts(central.hub) == []  # a priority bulletin goes into the programmes, not as an alert


async def test_audio_resource_with_its_digest_is_played(central: CentralHub) -> None:
    wav = CHIME.read_bytes()
    res = capwrite.ResourceOut(
        description="Thông báo lũ quét",
        mime_type="audio/wav",
        size=len(wav),
        deref_uri=base64.b64encode(wav).decode(),
        digest=hashlib.sha1(wav).hexdigest(),  # noqa: S324 - CAP 1.2's digest is SHA-1
    )
    s, out = await central.send(vi_alert("vn-audio", resources=(res,)))
    assert s == 200, out
    b = central.hub.s.bulletins.get(SYSTEM, out["bulletin"])
    assert b.form == "audio" and b.media == hashlib.sha256(wav).hexdigest()
    bad = capwrite.ResourceOut(
        description="bị sửa", mime_type="audio/wav", deref_uri=res.deref_uri, digest="0" * 40
    )
    s, out = await central.send(vi_alert("vn-audio2", resources=(bad,)))
    assert s == 422 and out["error"]["code"] == "digest_mismatch"


async def test_areas_by_code_and_by_shape(central: CentralHub) -> None:
    s, out = await central.send(vi_alert("vn-a1", codes=("660",)))
    assert s == 200 and central.hub.s.bulletins.get(SYSTEM, out["bulletin"]).targets == ["67/660"]
    s, out = await central.send(vi_alert("vn-a2", codes=("99999",)))
    assert s == 422 and out["error"]["code"] == "unknown_area" and "99999" in out["error"]["message"]
    drawn = "12.0,107.6 12.1,107.7 12.0,107.8 12.0,107.6"
    s, out = await central.send(vi_alert("vn-a3", codes=(), polygons=(drawn,)))
    assert s == 422 and out["error"]["code"] == "unknown_area" and "tọa độ" in out["error"]["message"]
    # devices with coordinates: one inside the triangle (24613), one outside (24631)
    for dev, area, lat, lon in (
        ("loa-in", "67/660/24613", 12.03, 107.7),
        ("loa-out", "67/660/24631", 11.9, 107.7),
    ):
        central.hub.s.devices.register(SYSTEM, device_id=dev, kind="radio", area=area, lat=lat, lon=lon)
    s, out = await central.send(vi_alert("vn-a4", codes=(), polygons=(drawn,)))
    assert s == 200, out
    assert central.hub.s.bulletins.get(SYSTEM, out["bulletin"])["targets"] == ["67/660/24613"]
    s, out = await central.send(vi_alert("vn-a5", codes=("24611",), circles=("11.9,107.7 5",)))
    assert s == 200, out
    assert sorted(central.hub.s.bulletins.get(SYSTEM, out["bulletin"])["targets"]) == [
        "67/660/24611",
        "67/660/24631",
    ]
    s, out = await central.send(vi_alert("vn-a6", codes=(), circles=("95,107.7 5",)))
    assert s == 422 and out["error"]["element"] == "circle"


async def test_refusals_are_clear_audited_and_air_nothing(central: CentralHub) -> None:
    """Unsigned, another key, replayed, stale, expired, not CAP, schema-invalid, entity attacks."""
    good = vi_alert("vn-r")
    other = Ed25519PrivateKey.generate()
    signed = central.sign(good)
    cases: list[tuple[str, int, str, bytes, dict[str, str] | None]] = [
        ("unsigned", 401, "unsigned", good, {}),
        ("another key", 401, "bad_signature", good, central.sign(good, key=other)),
        ("body altered", 401, "bad_signature", good.replace(b"24611", b"24613"), signed),
    ]
    for _name, status, code, body, headers in cases:
        s, out = await central.send(body, headers=headers)
        assert (s, out["error"]["code"]) == (status, code), (_name, out)
    # stale: signed ten minutes ago
    old = central.sign(good)
    central.hub.clock.advance(600)
    s, out = await central.send(good, headers=old)
    assert s == 401 and out["error"]["code"] == "stale"
    central.hub.clock.advance(-600)
    # replayed: the very same signed request twice
    s, _ = await central.send(vi_alert("vn-r2"), headers=(h := central.sign(vi_alert("vn-r2"))))
    assert s == 200
    s, out = await central.send(vi_alert("vn-r2"), headers=h)
    assert s == 409 and out["error"]["code"] == "replayed"
    expired = vi_alert("vn-old", sent=T0 - timedelta(hours=3), expires=T0 - timedelta(hours=1))
    s, out = await central.send(expired)
    assert s == 422 and out["error"]["code"] == "expired" and "hết hạn" in out["error"]["message"]
    for sample in ("weather.cap", "earthquake.cap", "australia.cap"):  # real alerts, long expired
        s, out = await central.send((DATA / sample).read_bytes())
        assert s == 422 and out["error"]["code"] == "expired", (sample, out)
    s, out = await central.send((DATA / "invalid.cap").read_bytes())
    assert s == 422 and out["error"]["code"] == "cap_invalid" and out["error"]["element"] == "info"
    s, out = await central.send(b'{"title": "not CAP"}')
    assert s == 422 and out["error"]["code"] == "not_cap"
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;&l;&l;">'
        b'<!ENTITY l3 "&l2;&l2;&l2;&l2;&l2;&l2;&l2;&l2;">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&l3;</identifier></alert>'
    )
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&x;</identifier></alert>'
    )
    for attack in (laughs, xxe):
        s, out = await central.send(attack)
        assert s == 422 and out["error"]["code"] == "xml_entities_refused"
    refused = central.audit("central.refused")
    assert len(refused) == 13 and {r["detail"]["code"] for r in refused} >= {
        "unsigned",
        "bad_signature",
        "stale",
        "replayed",
        "expired",
        "cap_invalid",
        "not_cap",
        "xml_entities_refused",
    }
    assert central.hub.count(Bulletin) == 1 and len(alerts(central.hub)) == 1  # vn-r2 only


async def test_staff_cannot_send_origin_central(central: CentralHub) -> None:
    s, out = await central.hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={
            "title": "Giả danh Trung ương",
            "priority": "emergency",
            "form": "text",
            "text": "Bản tin giả.",
            "targets": ["67"],
            "kinds": ["radio"],
            "origin": "central",
        },
    )
    assert s == 422 and out["error"]["field"] == "origin" and "Trung ương" in out["error"]["message"]


async def test_disabled_link_refuses(tmp_path: Path) -> None:
    from tests.hub.conftest import make_config, running_hub  # noqa: PLC0415

    async with running_hub(make_config(tmp_path)) as h:
        r = await h.client.post("/api/v1/central/cap", data=vi_alert("x"))
        out = await r.json()
        assert r.status == 403 and out["error"]["code"] == "central_disabled"
