"""Vietnam's official administrative units (the `vietnam-provinces` package: the GSO list of the 2025
two-tier map, 34 provinces and their communes) as an area tree `AreaService.import_tree` takes."""

from __future__ import annotations

import json
from functools import cache
from typing import Any, TypedDict

import vietnam_provinces

from hub.errors import Invalid

# The package's division types and what the people call the unit (the word that starts its name).
PROVINCE_TYPES = {"tỉnh": "tỉnh", "thành phố trung ương": "thành phố"}
COMMUNE_TYPES = ("xã", "phường", "đặc khu")


class OfficialUnit(TypedDict):
    code: str
    name: str
    level: str
    type: str
    children: list[OfficialUnit]


def data_version() -> str:
    """The date the package's data was taken from the GSO list (shown by the CLI and the audit)."""
    return f"vietnam-provinces {vietnam_provinces.__version__} ({vietnam_provinces.__data_version__})"


@cache
def _provinces() -> tuple[dict[str, Any], ...]:
    raw = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    return tuple(raw)


def province_code(code: int) -> str:
    """GSO codes are written with their leading zeros: province 1 is '01', commune 4 is '00004'."""
    return f"{code:02d}"


def commune_code(code: int) -> str:
    return f"{code:05d}"


def _titled(word: str, name: str) -> str:
    """'Lâm Đồng' of type tỉnh -> 'Tỉnh Lâm Đồng'; a name that already says its type is kept."""
    return name if name.lower().startswith(word) else f"{word[0].upper()}{word[1:]} {name}"


def provinces() -> list[tuple[str, str]]:
    """(code, name as people use it) of every province of the current map."""
    return [
        (province_code(p["code"]), _titled(PROVINCE_TYPES[p["division_type"]], p["name"]))
        for p in _provinces()
    ]


def official_tree(code: str) -> OfficialUnit:
    """The province `code` ('68' or '68' as given on the command line) with every commune under it."""
    wanted = code.strip().lstrip("0") or "0"
    for p in _provinces():
        if str(p["code"]) == wanted:
            ptype = PROVINCE_TYPES[p["division_type"]]
            communes: list[OfficialUnit] = []
            for w in sorted(p["wards"], key=lambda w: int(w["code"])):
                wtype = str(w["division_type"])
                if wtype not in COMMUNE_TYPES:  # a new kind of unit: better refused than ranked wrong
                    raise Invalid(
                        f"Đơn vị {w['name']} có loại '{wtype}' chưa biết; cập nhật nguon.", field="province"
                    )
                communes.append(
                    OfficialUnit(
                        code=commune_code(int(w["code"])),
                        name=_titled(wtype, str(w["name"])),
                        level="commune",
                        type=wtype,
                        children=[],
                    )
                )
            return OfficialUnit(
                code=province_code(int(p["code"])),
                name=_titled(ptype, str(p["name"])),
                level="province",
                type=ptype,
                children=communes,
            )
    known = ", ".join(f"{c} {n}" for c, n in provinces())
    raise Invalid(
        f"Không có tỉnh/thành phố mã '{code}' trong danh mục ({data_version()}). Các mã: {known}.",
        field="province",
    )
