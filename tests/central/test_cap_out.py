"""CAP out: every emergency the province sends is published as CAP 1.2 (Atom feed + each alert), signed by
the hub's key; a cancelled one turns into a CAP Cancel and leaves the feed."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from lxml import etree

from hub.central.cap import parse
from hub.central.signature import public_keys, verify
from hub.errors import Unauthorized
from tests.hub.conftest import Hub

ATOM = "{http://www.w3.org/2005/Atom}"


async def _get_signed(hub: Hub, path: str, key: Ed25519PublicKey) -> bytes:
    r = await hub.client.get(path)
    assert r.status == 200, await r.text()
    body = await r.read()
    verify([key], r.headers, method="GET", path=path, body=body, now=hub.clock.now(), max_skew_s=300)
    return body


async def test_an_emergency_is_published_as_signed_cap(hub: Hub) -> None:
    r = await hub.client.get("/api/v1/keys")
    (key,) = public_keys([k["public_key"] for k in (await r.json())["keys"]])
    status, b = await hub.call(
        "POST",
        "/api/v1/bulletins",
        "editor67",
        json={
            "title": "Cháy rừng tại xã Đắk Nia",
            "priority": "emergency",
            "form": "text",
            "text": "Bà con không vào rừng, sơ tán theo hướng dẫn.",
            "targets": ["67/660/24631"],
            "kinds": ["radio"],
            "exercise": True,
        },
    )
    assert status == 201, b
    status, _ = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
    assert status == 200
    feed = etree.fromstring(await _get_signed(hub, "/api/v1/cap/alerts.atom", key))
    (entry,) = feed.findall(f"{ATOM}entry")
    href = entry.find(f"{ATOM}link").get("href")  # type: ignore[union-attr]
    assert href.endswith(f"/api/v1/cap/alerts/{b['id']}.xml")
    alert = parse(await _get_signed(hub, f"/api/v1/cap/alerts/{b['id']}.xml", key))  # passes the schema
    assert alert.msg_type == "Alert" and alert.status == "Exercise" and alert.identifier.endswith(b["id"])
    (info,) = alert.infos
    assert info.language == "vi-VN" and info.headline == "Cháy rừng tại xã Đắk Nia"
    assert info.areas[0].geocodes == (("VN-DVHC", "24631"),)
    (res,) = info.resources  # the speech, for channels that relay sound
    assert res.uri is not None
    audio = await (await hub.client.get("/media/" + res.uri.rsplit("/media/", 1)[1])).read()
    assert res.mime_type == "audio/mpeg" and res.digest == hashlib.sha1(audio).hexdigest()  # noqa: S324
    # a relay that alters the document is caught by whoever checks the signature
    path = f"/api/v1/cap/alerts/{b['id']}.xml"
    r = await hub.client.get(path)
    altered = (await r.read()).replace(b"24631", b"24611")
    with pytest.raises(Unauthorized):
        verify([key], r.headers, method="GET", path=path, body=altered, now=hub.clock.now(), max_skew_s=300)
    status, _ = await hub.call("POST", f"/api/v1/alerts/{b['id']}/cancel", "editor67")
    assert status == 200
    cancel = parse(await _get_signed(hub, f"/api/v1/cap/alerts/{b['id']}.xml", key))
    assert cancel.msg_type == "Cancel" and cancel.references[0].identifier == alert.identifier
    feed = etree.fromstring(await _get_signed(hub, "/api/v1/cap/alerts.atom", key))
    assert feed.findall(f"{ATOM}entry") == []


async def test_only_emergencies_are_published(hub: Hub) -> None:
    r = await hub.client.get("/api/v1/cap/alerts/b-000000000000.xml")
    assert r.status == 404 and (await r.json())["error"]["field"] == "id"
