"""CAP 1.2 reading (hub/central/cap.py) and writing (capwrite.py): the reference files of ../shared/cap
(copied into tests/central/data), Vietnamese alerts of our own, and hostile XML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.central import capwrite
from hub.central.cap import CapError, parse
from tests.central.conftest import DATA, vi_alert


@pytest.mark.parametrize(
    ("name", "version", "infos"),
    [
        ("weather.cap", "1.1", 1),
        ("earthquake.cap", "1.1", 1),
        ("australia.cap", "1.2", 2),
        ("no_optional_fields.cap", "1.1", 0),
    ],
)
def test_the_reference_alerts_are_read(name: str, version: str, infos: int) -> None:
    alert = parse((DATA / name).read_bytes())
    assert alert.version == version and len(alert.infos) == infos
    assert alert.identifier and alert.sender and alert.sent.tzinfo is not None
    assert alert.status == "Actual" and alert.msg_type == "Alert" and alert.scope == "Public"


def test_the_reference_weather_alert_fields() -> None:
    a = parse((DATA / "weather.cap").read_bytes())
    (info,) = a.infos
    assert info.event == "Flash Flood Watch" and info.urgency == "Expected" and info.severity == "Severe"
    assert info.expires == datetime(2010, 8, 30, 18, 0, tzinfo=UTC)
    assert info.areas and info.areas[0].geocodes


def test_the_invalid_reference_alert_names_the_element() -> None:
    with pytest.raises(CapError) as err:
        parse((DATA / "invalid.cap").read_bytes())
    e = err.value
    assert e.code == "cap_invalid" and e.element == "info" and e.extra["line"] == 9
    assert "scope" in e.message  # what was expected there


def test_a_vietnamese_alert_round_trips() -> None:
    a = parse(vi_alert("vn-rt", english_first=True, codes=("24611", "24613")))
    assert a.version == "1.2" and a.sender == "canhbao@httt-nguon.gov.vn"
    info = a.info_for("vi-VN")
    assert info is not None and info.language == "vi-VN" and info.headline == "Cảnh báo lũ quét"
    assert info.areas[0].geocodes == (("VN-DVHC", "24611"), ("VN-DVHC", "24613"))


def test_references_are_read() -> None:
    t = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
    a = parse(vi_alert("vn-c", msg_type="Cancel", references=(("s@x", "id-1", t),)))
    assert [(r.sender, r.identifier, r.sent) for r in a.references] == [("s@x", "id-1", t)]


@pytest.mark.parametrize(
    ("doc", "code"),
    [
        (b"", "not_cap"),
        (b"plain text", "not_cap"),
        (b'{"alert": 1}', "not_cap"),
        (b"<alert><identifier>x</identifier></alert>", "not_cap"),  # no CAP namespace
        (b'<rss version="2.0"/>', "not_cap"),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x", "not_cap"),  # truncated
        (
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;&l;&l;">]>'
            b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>&l2;</identifier></alert>",
            "xml_entities_refused",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>&x;</identifier></alert>",
            "xml_entities_refused",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd">'
            b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>",
            "xml_entities_refused",
        ),
        (b"<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'/>", "cap_invalid"),
    ],
)
def test_hostile_and_broken_documents_are_refused(doc: bytes, code: str) -> None:
    with pytest.raises(CapError) as err:
        parse(doc)
    assert err.value.code == code and err.value.status == 422


def test_a_wrong_value_is_named() -> None:
    doc = vi_alert("vn-bad").replace(b"<status>Actual</status>", b"<status>Real</status>")
    with pytest.raises(CapError) as err:
        parse(doc)
    assert err.value.element == "status" and "Real" in err.value.message


def test_what_the_hub_writes_passes_the_schema() -> None:
    t = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
    doc = capwrite.write(
        capwrite.AlertOut(
            identifier="67-b-1",
            sender="httt-nguon@tinh.gov.vn",
            sent=t,
            msg_type="Update",
            references=(("httt-nguon@tinh.gov.vn", "67-b-0", t),),
            infos=[
                capwrite.InfoOut(
                    event="Cháy rừng",
                    urgency="Immediate",
                    severity="Severe",
                    certainty="Observed",
                    headline="Cháy rừng tại xã Đắk Nia",
                    resources=[capwrite.ResourceOut("Âm thanh", "audio/ogg", uri="https://x/media/ab")],
                    areas=[capwrite.AreaOut("Xã Đắk Nia", geocodes=[("VN-DVHC", "24631")])],
                )
            ],
        )
    )
    a = parse(doc)
    assert a.msg_type == "Update" and a.infos[0].headline == "Cháy rừng tại xã Đắk Nia"
