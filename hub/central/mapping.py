"""CAP 1.2 <-> the province's bulletins: the one place where the central link's fields are mapped
(docs/CENTRAL.md keeps the same table), so it can follow the ministry's official list when it is published.

| CAP | bulletin |
|---|---|
| identifier, sender, sent | the request's idempotency key (hub.models.CentralRequest) |
| msgType Alert / Update / Cancel, references | a new bulletin / replaces the referenced one / cancels it |
| status Actual / Exercise / Test / System | airs / airs as an exercise / recorded, never aired / ignored |
| info: the first in vi-VN (else vi, else the first) | the bulletin's content |
| parameter NGUON-PRIORITY (emergency, priority, normal) | priority (see priority_of) |
| urgency Immediate/Expected and severity Extreme/Severe, without that parameter | emergency (else priority) |
| headline (else event) | title |
| headline, description, instruction | the text spoken by the speech engine (a text bulletin) |
| resource audio/* with derefUri and digest (SHA-1, or SHA-256) | an audio bulletin (the digest is checked) |
| effective, expires | valid_from, valid_until (an expired alert is refused) |
| area/geocode VN-DVHC (config central.geocode_names), value = administrative code | targets |
| area/polygon, area/circle | the communes of the devices with coordinates inside |
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.central.cap import CapAlert, CapError, CapInfo, CapResource
from hub.limits import TEXT_MAX, TITLE_MAX
from hub.models import Area
from protocol.vocabulary import PRIORITIES

PRIORITY_PARAMETER = "NGUON-PRIORITY"
URGENT = ("Immediate", "Expected")
SEVERE = ("Extreme", "Severe")


def priority_of(info: CapInfo) -> str:
    given = info.parameter(PRIORITY_PARAMETER)
    if given is not None:
        if given not in PRIORITIES:
            raise CapError(
                f"<parameter> {PRIORITY_PARAMETER} = '{given}': dùng emergency, priority hoặc normal.",
                element="parameter",
            )
        return given
    return "emergency" if info.urgency in URGENT and info.severity in SEVERE else "priority"


Located = tuple[str, float, float]  # a device's commune, latitude, longitude (WGS84)
EARTH_KM = 6371.0088


def _points(raw: str, element: str) -> list[tuple[float, float]]:
    try:
        pts = [(float(p.split(",")[0]), float(p.split(",")[1])) for p in raw.split()]
    except (ValueError, IndexError):
        raise CapError(f"<{element}> '{raw[:60]}' phải là các cặp vĩ độ,kinh độ.", element=element) from None
    if any(not (-90 <= la <= 90 and -180 <= lo <= 180) for la, lo in pts):
        raise CapError(f"<{element}>: vĩ độ -90..90, kinh độ -180..180.", element=element)
    return pts


def _in_polygon(raw: str, located: list[Located]) -> set[str]:
    from matplotlib.path import Path  # noqa: PLC0415 - only for the rare alert drawn as a polygon

    pts = _points(raw, "polygon")
    if len(pts) < 4 or pts[0] != pts[-1]:
        raise CapError("<polygon> cần ít nhất 4 điểm, điểm cuối trùng điểm đầu.", element="polygon")
    shape = Path(pts)
    return {area for area, la, lo in located if shape.contains_point((la, lo))}


def _in_circle(raw: str, located: list[Located]) -> set[str]:
    centre, _, radius = raw.strip().partition(" ")
    ((cla, clo),) = _points(centre, "circle")
    try:
        km = float(radius)
    except ValueError:
        raise CapError(f"<circle> '{raw[:60]}': cần 'vĩ độ,kinh độ bán_kính_km'.", element="circle") from None

    def dist(la: float, lo: float) -> float:
        p1, p2, dl = math.radians(cla), math.radians(la), math.radians(lo - clo)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))

    return {area for area, la, lo in located if dist(la, lo) <= km}


def targets_of(
    info: CapInfo, areas: dict[str, Area], geocode_names: list[str], located: list[Located] | None = None
) -> list[str]:
    """The province's areas named by the info's geocodes (administrative codes), and the communes of the
    devices with coordinates inside its polygons and circles; 422 saying what was sent when none is the
    province's."""
    by_code: dict[str, list[str]] = {}
    for a in areas.values():
        by_code.setdefault(a.code, []).append(a.path)
    names = {n.lower() for n in geocode_names}
    found: list[str] = []
    given: list[str] = []
    shapes = 0
    for area in info.areas:
        shapes += len(area.polygons) + len(area.circles)
        inside: set[str] = set()
        for raw in area.polygons:
            inside |= _in_polygon(raw, located or [])
        for raw in area.circles:
            inside |= _in_circle(raw, located or [])
        found += sorted(p for p in inside if p in areas and p not in found)
        for name, value in area.geocodes:
            if name.lower() not in names:
                continue
            given.append(value)
            for path in by_code.get(value, []):
                if path not in found:
                    found.append(path)
    if found:
        # an area under another target is already covered by it
        return [p for p in found if not any(p != q and p.startswith(q + "/") for q in found)]
    if not info.areas:
        raise CapError("<info> không có <area>: cần biết phát ở địa bàn nào.", element="area")
    if given:
        raise CapError(
            f"Không mã địa bàn nào trong <geocode> ({', '.join(given[:10])}) thuộc danh mục địa bàn "
            "của tỉnh.",
            element="geocode",
            code="unknown_area",
        )
    wanted = ", ".join(geocode_names)
    if shapes:
        raise CapError(
            f"Không thiết bị nào có tọa độ (trong {len(located or [])} thiết bị đã có tọa độ) nằm trong "
            f"<polygon>/<circle> của <area>. Hãy kèm <geocode> {wanted} với mã đơn vị hành chính.",
            element="area",
            code="unknown_area",
        )
    raise CapError(
        f"<area> cần <geocode> với valueName {wanted} và mã đơn vị hành chính (ví dụ 24611).",
        element="geocode",
        code="unknown_area",
    )


def within(targets: list[str], codes: list[str], areas: dict[str, Area]) -> list[str]:
    """The targets inside the areas of these administrative codes (a feed rule's areas); the rule's own
    area when a target is above it (a province-wide alert, a rule for one district). 422 when none."""
    allowed = [a.path for a in areas.values() if a.code in codes]
    out = [t for t in targets if any(t == p or t.startswith(p + "/") for p in allowed)]
    out += [p for p in allowed if any(p.startswith(t + "/") for t in targets) and p not in out]
    if not out:
        raise CapError(
            f"Địa bàn của bản tin ({', '.join(targets)}) ngoài các địa bàn của quy tắc ({', '.join(codes)}).",
            element="area",
            code="outside_rule",
        )
    return out


def spoken_text(info: CapInfo) -> str:
    parts = [p for p in (info.headline or info.event, info.description, info.instruction) if p]
    text = "\n".join(parts)
    if len(text) > TEXT_MAX:
        raise CapError(
            f"Nội dung (headline, description, instruction) dài {len(text)} ký tự, quá {TEXT_MAX}.",
            element="description",
        )
    return text


def title_of(info: CapInfo) -> str:
    return (info.headline or info.event or "Bản tin từ Trung ương")[:TITLE_MAX]


@dataclass(frozen=True)
class Audio:
    data: bytes
    mime: str
    description: str


def audio_of(info: CapInfo) -> Audio | None:
    """The first audio resource carried inline (derefUri) with a digest that matches; None when there is
    none (the text is then spoken). A digest that does not match is refused: the file was altered."""
    for r in info.resources:
        if not r.mime_type.lower().startswith("audio/") or not r.deref_uri or not r.digest:
            continue
        data = _decode(r)
        _check_digest(r, data)
        return Audio(data=data, mime=r.mime_type, description=r.description)
    return None


def _decode(r: CapResource) -> bytes:
    try:
        return base64.b64decode("".join((r.deref_uri or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise CapError(f"<derefUri> của '{r.description}' không phải base64.", element="derefUri") from None


def _check_digest(r: CapResource, data: bytes) -> None:
    want = (r.digest or "").strip().lower()
    algo = {40: hashlib.sha1, 64: hashlib.sha256}.get(len(want))
    if algo is None:
        raise CapError("<digest> phải là SHA-1 (40 ký tự hex) hoặc SHA-256 (64).", element="digest")
    if algo(data).hexdigest() != want:
        raise CapError(
            f"<digest> không khớp tệp âm thanh '{r.description}': tệp đã bị thay đổi; bị từ chối.",
            element="digest",
            code="digest_mismatch",
        )


def check_expires(info: CapInfo, now: datetime) -> None:
    if info.expires is not None and info.expires <= now:
        raise CapError(
            f"Bản tin CAP đã hết hạn lúc {info.expires.isoformat()} (<expires>): không phát.",
            element="expires",
            code="expired",
        )


def key_of(alert: CapAlert) -> tuple[str, str, str]:
    """(sender, identifier, sent in UTC): what makes two requests the same request."""
    return alert.sender, alert.identifier, alert.sent.astimezone(UTC).isoformat()
