"""CAP 1.2 (OASIS Common Alerting Protocol, ITU-T X.1303): read an alert safely and check it against the
schema (hub/central/cap12.xsd, OASIS, as distributed with google/cap-library).

Untrusted XML: parsed by lxml with entity expansion, DTD loading and network access off, and any document
carrying a DOCTYPE (where entities are declared: "billion laughs", external entities) is refused before
anything is read from it. A CAP 1.1 alert (the same elements under the 1.1 namespace, as many feeds still
publish) is read as 1.2 and must then pass the 1.2 schema. Errors say which element fails and why
(`CapError`: a 422 with `element` and `line`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, cast

from lxml import etree

from hub.errors import Invalid

NS12 = "urn:oasis:names:tc:emergency:cap:1.2"
NS11 = "urn:oasis:names:tc:emergency:cap:1.1"
XSD = Path(__file__).resolve().parent / "cap12.xsd"
MAX_CAP_BYTES = 8 * 1024 * 1024  # an alert with its audio inline (derefUri, base64)


class CapError(Invalid):
    """The request is not a CAP 1.2 alert the hub can read: which element, why."""

    code = "cap_invalid"

    def __init__(self, message: str, *, element: str = "", line: int | None = None, code: str = "") -> None:
        extra: dict[str, object] = {}
        if element:
            extra["element"] = element
        if line:
            extra["line"] = line
        super().__init__(message, field="cap", code=code or None, extra=extra)
        self.element = element


@dataclass(frozen=True)
class CapResource:
    description: str
    mime_type: str
    size: int | None = None
    uri: str | None = None
    deref_uri: str | None = None  # the file, base64
    digest: str | None = None  # SHA-1 in CAP 1.2 (hex)


@dataclass(frozen=True)
class CapArea:
    description: str
    geocodes: tuple[tuple[str, str], ...] = ()  # (valueName, value)
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapInfo:
    language: str
    categories: tuple[str, ...]
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str = ""
    description: str = ""
    instruction: str = ""
    sender_name: str = ""
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    resources: tuple[CapResource, ...] = ()
    areas: tuple[CapArea, ...] = ()

    def parameter(self, name: str) -> str | None:
        for k, v in self.parameters:
            if k.lower() == name.lower():
                return v
        return None


@dataclass(frozen=True)
class CapRef:
    """One of `references`: sender,identifier,sent."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True)
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    status: str  # Actual | Exercise | System | Test | Draft
    msg_type: str  # Alert | Update | Cancel | Ack | Error
    scope: str
    version: str = "1.2"  # the namespace it came in ("1.1" read as 1.2)
    note: str = ""
    references: tuple[CapRef, ...] = ()
    infos: tuple[CapInfo, ...] = field(default_factory=tuple)

    def info_for(self, language: str = "vi-VN") -> CapInfo | None:
        """The info block to air: the first in `language` (vi-VN), else the first with none (CAP's default
        is en-US, but a province reads what it is sent), else the first."""
        for want in (language.lower(), language.split("-", maxsplit=1)[0].lower()):
            for i in self.infos:
                if i.language.lower() == want:
                    return i
        return self.infos[0] if self.infos else None


@cache
def _schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(XSD), parser))


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else str(tag)


def _clean_message(msg: str) -> str:
    return msg.replace("{" + NS12 + "}", "").replace("{" + NS11 + "}", "")


def _element_of(msg: str) -> str:
    """`Element '{ns}scope': ...` -> 'scope'."""
    if msg.startswith("Element '"):
        return _clean_message(msg[9:].split("'", 1)[0])
    return ""


def _upgrade_11(root: etree._Element) -> None:
    """CAP 1.1 -> 1.2: the same element names under the 1.2 namespace (then checked by the 1.2 schema)."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{" + NS11 + "}"):
            el.tag = "{" + NS12 + "}" + el.tag[len(NS11) + 2 :]
    etree.cleanup_namespaces(root, top_nsmap={None: NS12})  # type: ignore[dict-item]


def refuse_dtd(doc: etree._ElementTree) -> None:
    """Any DOCTYPE is refused: entities are declared there ("billion laughs", external entities)."""
    if getattr(doc.docinfo, "doctype", "") or doc.docinfo.internalDTD is not None:
        raise CapError(
            "Bản tin CAP không được có khai báo DOCTYPE/ENTITY (có thể là tấn công thực thể XML): "
            "bị từ chối.",
            element="!DOCTYPE",
            code="xml_entities_refused",
        )


def parse(data: bytes) -> CapAlert:
    """Read and check one CAP alert; CapError (422) saying which element fails and why."""
    if len(data) > MAX_CAP_BYTES:
        raise CapError(
            f"Bản tin CAP quá lớn: tối đa {MAX_CAP_BYTES // (1024 * 1024)} MiB.", code="cap_too_big"
        )
    if not data.strip():
        raise CapError("Nội dung trống: cần một bản tin CAP 1.2 (XML).", code="not_cap")
    try:
        doc = etree.fromstring(data, safe_parser()).getroottree()
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise CapError(
            f"Không phải XML hợp lệ (dòng {line}): {exc.msg}. Cần một bản tin CAP 1.2.",
            line=line,
            code="not_cap",
        ) from None
    refuse_dtd(doc)
    root = doc.getroot()
    ns = etree.QName(root).namespace
    if _local(root.tag) != "alert" or ns not in (NS12, NS11):
        raise CapError(
            f"Phần tử gốc là <{_local(root.tag)}> (namespace {ns or 'trống'}), không phải <alert> của "
            "CAP 1.2 "
            f"({NS12}).",
            element=_local(root.tag),
            code="not_cap",
        )
    version = "1.2"
    if ns == NS11:
        _upgrade_11(root)
        version = "1.1"
    schema = _schema()
    if not schema.validate(root):
        err = cast(Any, schema.error_log)[0]  # the first error, the one to fix first (stubs lack [])
        element = _element_of(err.message)
        raise CapError(
            f"Bản tin CAP 1.2 sai lược đồ (dòng {err.line}), phần tử <{element or '?'}>: "
            f"{_clean_message(err.message)}",
            element=element,
            line=err.line,
        )
    return _read(root, version)


def _t(el: etree._Element, name: str) -> str:
    child = el.find(f"{{{NS12}}}{name}")
    return (child.text or "").strip() if child is not None else ""


def _all(el: etree._Element, name: str) -> list[etree._Element]:
    return list(el.findall(f"{{{NS12}}}{name}"))


def _time(el: etree._Element, name: str) -> datetime | None:
    raw = _t(el, name)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise CapError(f"<{name}> '{raw}' không phải thời điểm ISO 8601 có múi giờ.", element=name) from None


def _pairs(el: etree._Element, name: str) -> tuple[tuple[str, str], ...]:
    return tuple((_t(p, "valueName"), _t(p, "value")) for p in _all(el, name))


def _refs(raw: str) -> tuple[CapRef, ...]:
    out = []
    for item in raw.split():
        parts = item.split(",")
        if len(parts) != 3:
            raise CapError(
                f"<references> '{item}' phải có dạng sender,identifier,sent.", element="references"
            )
        try:
            sent = datetime.fromisoformat(parts[2])
        except ValueError:
            raise CapError(
                f"<references>: thời điểm '{parts[2]}' không hợp lệ.", element="references"
            ) from None
        out.append(CapRef(parts[0], parts[1], sent))
    return tuple(out)


def _read(root: etree._Element, version: str) -> CapAlert:
    sent = _time(root, "sent")
    assert sent is not None  # required by the schema
    infos = []
    for i in _all(root, "info"):
        resources = tuple(
            CapResource(
                description=_t(r, "resourceDesc"),
                mime_type=_t(r, "mimeType"),
                size=int(_t(r, "size")) if _t(r, "size") else None,
                uri=_t(r, "uri") or None,
                deref_uri=_t(r, "derefUri") or None,
                digest=_t(r, "digest") or None,
            )
            for r in _all(i, "resource")
        )
        areas = tuple(
            CapArea(
                description=_t(a, "areaDesc"),
                geocodes=_pairs(a, "geocode"),
                polygons=tuple((p.text or "").strip() for p in _all(a, "polygon")),
                circles=tuple((c.text or "").strip() for c in _all(a, "circle")),
            )
            for a in _all(i, "area")
        )
        infos.append(
            CapInfo(
                language=_t(i, "language") or "en-US",
                categories=tuple((c.text or "").strip() for c in _all(i, "category")),
                event=_t(i, "event"),
                urgency=_t(i, "urgency"),
                severity=_t(i, "severity"),
                certainty=_t(i, "certainty"),
                headline=_t(i, "headline"),
                description=_t(i, "description"),
                instruction=_t(i, "instruction"),
                sender_name=_t(i, "senderName"),
                effective=_time(i, "effective"),
                onset=_time(i, "onset"),
                expires=_time(i, "expires"),
                parameters=_pairs(i, "parameter"),
                resources=resources,
                areas=areas,
            )
        )
    return CapAlert(
        identifier=_t(root, "identifier"),
        sender=_t(root, "sender"),
        sent=sent,
        status=_t(root, "status"),
        msg_type=_t(root, "msgType"),
        scope=_t(root, "scope"),
        version=version,
        note=_t(root, "note"),
        references=_refs(_t(root, "references")),
        infos=tuple(infos),
    )
