"""Writing CAP 1.2: the alerts the province publishes (CAP out) and those the reference central peer sends.
Every document written here passes the schema (tests/central/test_cap.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from hub.central.cap import NS12


def cap_time(t: datetime) -> str:
    """CAP's dateTime: seconds, an explicit offset, never 'Z' (CAP 1.2 3.3.2)."""
    return t.astimezone(UTC).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class AreaOut:
    description: str
    geocodes: Sequence[tuple[str, str]] = ()
    polygons: Sequence[str] = ()
    circles: Sequence[str] = ()


@dataclass(frozen=True)
class ResourceOut:
    description: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None
    digest: str | None = None


@dataclass(frozen=True)
class InfoOut:
    event: str
    urgency: str
    severity: str
    certainty: str
    language: str = "vi-VN"
    category: str = "Safety"
    headline: str = ""
    description: str = ""
    instruction: str = ""
    sender_name: str = ""
    effective: datetime | None = None
    expires: datetime | None = None
    parameters: Sequence[tuple[str, str]] = ()
    resources: Sequence[ResourceOut] = ()
    areas: Sequence[AreaOut] = ()


@dataclass(frozen=True)
class AlertOut:
    identifier: str
    sender: str
    sent: datetime
    status: str = "Actual"
    msg_type: str = "Alert"
    scope: str = "Public"
    note: str = ""
    references: Sequence[tuple[str, str, datetime]] = ()
    infos: Sequence[InfoOut] = field(default_factory=tuple)


def _sub(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, f"{{{NS12}}}{name}")
    if text is not None:
        el.text = text
    return el


def _pair(parent: etree._Element, name: str, key: str, value: str) -> None:
    p = _sub(parent, name)
    _sub(p, "valueName", key)
    _sub(p, "value", value)


def _info(root: etree._Element, i: InfoOut) -> None:
    el = _sub(root, "info")
    _sub(el, "language", i.language)
    _sub(el, "category", i.category)
    _sub(el, "event", i.event)
    _sub(el, "urgency", i.urgency)
    _sub(el, "severity", i.severity)
    _sub(el, "certainty", i.certainty)
    if i.effective:
        _sub(el, "effective", cap_time(i.effective))
    if i.expires:
        _sub(el, "expires", cap_time(i.expires))
    for name, value in (("senderName", i.sender_name), ("headline", i.headline)):
        if value:
            _sub(el, name, value)
    for name, value in (("description", i.description), ("instruction", i.instruction)):
        if value:
            _sub(el, name, value)
    for k, v in i.parameters:
        _pair(el, "parameter", k, v)
    _resources(el, i.resources)
    _areas(el, i.areas)


def _resources(el: etree._Element, resources: Sequence[ResourceOut]) -> None:
    for r in resources:
        res = _sub(el, "resource")
        _sub(res, "resourceDesc", r.description)
        _sub(res, "mimeType", r.mime_type)
        if r.size is not None:
            _sub(res, "size", str(r.size))
        if r.uri:
            _sub(res, "uri", r.uri)
        if r.deref_uri:
            _sub(res, "derefUri", r.deref_uri)
        if r.digest:
            _sub(res, "digest", r.digest)


def _areas(el: etree._Element, areas: Sequence[AreaOut]) -> None:
    for a in areas:
        area = _sub(el, "area")
        _sub(area, "areaDesc", a.description)
        for p in a.polygons:
            _sub(area, "polygon", p)
        for c in a.circles:
            _sub(area, "circle", c)
        for k, v in a.geocodes:
            _pair(area, "geocode", k, v)


def write(alert: AlertOut) -> bytes:
    root = etree.Element(f"{{{NS12}}}alert", nsmap={None: NS12})  # type: ignore[dict-item]
    _sub(root, "identifier", alert.identifier)
    _sub(root, "sender", alert.sender)
    _sub(root, "sent", cap_time(alert.sent))
    _sub(root, "status", alert.status)
    _sub(root, "msgType", alert.msg_type)
    _sub(root, "scope", alert.scope)
    if alert.note:
        _sub(root, "note", alert.note)
    if alert.references:
        _sub(root, "references", " ".join(f"{s},{i},{cap_time(t)}" for s, i, t in alert.references))
    for info in alert.infos:
        _info(root, info)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
