"""Languages (Decree 49/2024: commune stations also broadcast in the local ethnic-minority languages).

Which languages a commune uses is data on the area tree: `Area.languages` lists the local languages besides
Vietnamese ([{"code": "rad", "name": "Ê Đê"}]); None means "as the unit above" (inherited downwards), [] means
Vietnamese only. A bulletin carries Vietnamese (its text or audio) and, for the loudspeakers, versions in
local languages (bản tiếng dân tộc), each an audio file: `Bulletin.language_versions`, played after the
Vietnamese in the communes that use the language (hub/services/programmes.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from hub.errors import Invalid
from hub.models import Area, Media
from hub.roles import Actor
from hub.services.areas import AreaService
from hub.services.base import Context, require

VIE = "vie"
# ISO 639-3 codes and the names Vietnamese use. Cơ Ho and K'Ho are one language (kpm): an area names it
# as its people do. M'Nông has three codes (Central, Eastern, Southern): Đắk Nông's is mostly cmo.
CATALOGUE: dict[str, str] = {
    VIE: "Tiếng Việt",
    "rad": "Ê Đê",
    "cmo": "M'Nông",
    "mng": "M'Nông Đông",
    "mnn": "M'Nông Nam",
    "kpm": "Cơ Ho",
    "cma": "Mạ",
    "cje": "Chu Ru",
    "rog": "Ra Glai",
    "sti": "Xtiêng",
    "cjm": "Chăm",
    "jra": "Gia Rai",
    "bdq": "Ba Na",
    "sed": "Xơ Đăng",
    "khm": "Khmer",
    "hmn": "H'Mông",
    "tyz": "Tày",
    "blt": "Thái",
    "nut": "Nùng",
    "mtq": "Mường",
    "ium": "Dao",
}
MAX_AREA_LANGUAGES = 8
MAX_VERSIONS = 8
NAME_MAX = 60


def language_name(code: Any) -> str:
    """How the play log names a play's language ("" for a play reported without one)."""
    return CATALOGUE.get(code, str(code)[:8]) if code else ""


def catalogue() -> list[dict[str, str]]:
    return [{"code": c, "name": n} for c, n in CATALOGUE.items()]


def _known(code: Any, field: str) -> str:
    if not isinstance(code, str) or code not in CATALOGUE:
        known = ", ".join(f"{c} ({n})" for c, n in CATALOGUE.items() if c != VIE)
        raise Invalid(
            f"Không có ngôn ngữ mã '{str(code)[:20]}' trong danh mục; dùng mã ISO 639-3: {known}.",
            field=field,
            code="unknown_language",
        )
    return code


def check_area_languages(raw: Any) -> list[dict[str, str]] | None:
    """An area's local languages as given (codes, or {code, name}); None: inherit. Vietnamese is implied."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise Invalid("languages là danh sách mã ngôn ngữ, hoặc null để theo cấp trên.", field="languages")
    if len(raw) > MAX_AREA_LANGUAGES:
        raise Invalid(f"Tối đa {MAX_AREA_LANGUAGES} tiếng dân tộc cho một địa bàn.", field="languages")
    out: list[dict[str, str]] = []
    for item in raw:
        code, name = (item.get("code"), item.get("name")) if isinstance(item, dict) else (item, None)
        code = _known(code, "languages")
        if code == VIE:
            raise Invalid("Tiếng Việt luôn được phát ở mọi xã; chỉ ghi các tiếng dân tộc.", field="languages")
        if any(o["code"] == code for o in out):
            raise Invalid(f"Tiếng '{CATALOGUE[code]}' ({code}) ghi hai lần.", field="languages")
        if name is not None and not isinstance(name, str):
            name = "\x00"  # refused below
        name = (name or "").strip()
        if len(name) > NAME_MAX or any(ord(ch) < 32 for ch in name):
            raise Invalid(f"Tên tiếng dân tộc là chữ, tối đa {NAME_MAX} ký tự.", field="languages")
        out.append({"code": code, "name": name or CATALOGUE[code]})
    return out


def in_force(areas: Mapping[str, Area], path: str) -> tuple[list[dict[str, str]], str | None]:
    """The local languages of `path` and the area they are set on (None: nowhere, Vietnamese only)."""
    at: str | None = path
    while at is not None:
        area = areas.get(at)
        if area is None:
            break
        if area.languages is not None:
            return [dict(x) for x in area.languages], area.path
        at = area.parent_path
    return [], None


def carried(areas: Mapping[str, Area], olds: Sequence[str]) -> list[dict[str, str]] | None:
    """The languages a unit made or grown by a reorganisation keeps as its own: every language its old units
    used (in force there, inherited or their own), in order; None when they used only Vietnamese."""
    out: list[dict[str, str]] = []
    for old in olds:
        for x in in_force(areas, old)[0]:
            if all(o["code"] != x["code"] for o in out):
                out.append(x)
    return out or None


def codes_by_leaf(areas: Mapping[str, Area]) -> dict[str, tuple[str, ...]]:
    """Every area's local language codes in force (the programme compiler reads it once per snapshot)."""
    return {p: tuple(x["code"] for x in in_force(areas, p)[0]) for p in areas}


def names_by_leaf(areas: Mapping[str, Area]) -> dict[str, tuple[tuple[str, str], ...]]:
    """Every area's (code, name) in force, as its people name the languages (K'Ho rather than Cơ Ho)."""
    return {p: tuple((x["code"], x["name"]) for x in in_force(areas, p)[0]) for p in areas}


def check_versions(
    sess: Session, areas: AreaService, versions: Sequence[tuple[str, str]], *, kinds: Sequence[str],
    priority: str, targets: Sequence[str],
) -> list[dict[str, str]]:
    """A bulletin's language versions as stored ([{"language", "media"}]), or why not (422, nothing saved):
    known, not Vietnamese, each once, an uploaded audio file, for the loudspeakers, and a language that a
    target commune uses."""
    if not versions:
        return []
    field = "language_versions"
    if len(versions) > MAX_VERSIONS:
        raise Invalid(f"Tối đa {MAX_VERSIONS} bản tiếng dân tộc cho một bản tin.", field=field)
    if priority == "emergency":
        raise Invalid(
            "Bản tin khẩn cấp được phát ngay bằng tiếng Việt; bản tiếng dân tộc dùng cho bản tin ưu tiên và "
            "thông thường.",
            field=field,
        )
    if "radio" not in kinds:
        raise Invalid("Bản tiếng dân tộc là âm thanh, chỉ phát trên loa truyền thanh: chọn Đài truyền thanh.",
                      field=field)
    used: set[str] = set()
    for leaf in areas.leaves_under(targets):
        used.update(x["code"] for x in in_force(areas.all(), leaf)[0])
    out: list[dict[str, str]] = []
    for code, sha in versions:
        _known(code, field)
        name = CATALOGUE[code]
        if code == VIE:
            raise Invalid("Bản tiếng Việt là nội dung chính của bản tin, không thêm như bản tiếng dân tộc.",
                          field=field)
        if any(o["language"] == code for o in out):
            raise Invalid(f"Bản tiếng {name} có hai lần; mỗi tiếng một bản.", field=field)
        if not sha:
            raise Invalid(f"Bản tiếng {name} chưa có tệp âm thanh: hãy tải lên bản ghi âm.", field=field)
        m = sess.get(Media, sha)
        if m is None or m.kind != "audio":
            raise Invalid(f"Tệp của bản tiếng {name} phải là tệp âm thanh đã tải lên (POST /api/v1/media).",
                          field=field)
        if code not in used:
            raise Invalid(
                f"Không xã nào trong địa bàn nhận dùng tiếng {name}: bản này sẽ không được phát ở đâu. "
                "Bỏ bản này, hoặc để quản trị ghi tiếng này cho địa bàn (Địa bàn > Tiếng dân tộc).",
                field=field,
                code="language_not_used",
            )
        out.append({"language": code, "media": sha})
    return out


class LanguageService:
    """Reading and setting the languages of the area tree (admins set them; the caller republishes)."""

    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx, self.areas = ctx, areas

    def view(self, path: str) -> dict[str, Any]:
        areas = self.areas.all()
        area = self.areas.get(path)
        langs, source = in_force(areas, path)
        return {
            "area": path,
            "name": area.name,
            "languages": area.languages,  # its own list, or None: as the unit above
            "in_force": [{"code": VIE, "name": CATALOGUE[VIE]}, *langs],
            "source": source,
        }

    def set(self, actor: Actor, path: str, raw: Any) -> dict[str, Any]:
        require(actor, "area.manage", path)
        self.areas.get(path)
        langs = check_area_languages(raw)
        with self.ctx.tx(actor) as sess:
            row = sess.get(Area, path)
            assert row is not None
            row.languages = langs
            self.ctx.audit(sess, actor, "area.languages", path, detail={"languages": langs})
            self.ctx.intend(sess, "republish", {"areas": [path], "kinds": ["radio"]})
        self.areas.invalidate()
        return self.view(path)
