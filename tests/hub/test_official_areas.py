"""The real map: a province of the official 2025 list imported with its communes, levels and unit types
(`python -m hub areas import --official CODE`), and trees that do not say their levels refused whole."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.__main__ import main
from hub.app import build_services
from hub.errors import Invalid
from hub.models import Area
from hub.roles import SYSTEM
from hub.services import official
from tests.hub.conftest import make_config

DATA = Path(__file__).resolve().parents[1] / "data"


def _config_file(tmp_path: Path) -> Path:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "hub"}"\n[programme]\nscheduler = false\n', encoding="utf-8")
    return cfg


def test_lam_dong_from_the_package_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config_file(tmp_path)
    assert main(["--config", str(cfg), "areas", "import", "--official", "68"]) == 0
    out = capsys.readouterr().out
    assert "Tỉnh Lâm Đồng: 125 areas imported (124 communes, vietnam-provinces 2025.10.1" in out
    s = build_services(make_config(tmp_path), speech=object())
    areas = s.areas.all()
    province = areas["68"]
    assert (province.name, province.level, province.unit_type, province.parent_path) == (
        "Tỉnh Lâm Đồng", "province", "tỉnh", None,
    )
    communes = [a for a in areas.values() if a.level == "commune"]
    assert len(communes) == 124 and all(a.parent_path == "68" for a in communes)
    assert Counter(a.unit_type for a in communes) == {"xã": 103, "phường": 20, "đặc khu": 1}
    # names as the people use them, with the official (GSO) codes: Đắk Nông's old capital, Đà Lạt, Phú Quý
    assert areas["68/24611"].name == "Phường Bắc Gia Nghĩa"
    assert areas["68/24781"].name == "Phường Xuân Hương - Đà Lạt"
    assert (areas["68/23272"].name, areas["68/23272"].unit_type) == ("Đặc khu Phú Quý", "đặc khu")
    assert all(a.name.lower().startswith(a.unit_type) for a in communes)
    # a second import changes nothing (idempotent) and the audit says where the data came from
    assert main(["--config", str(cfg), "areas", "import", "--official", "68"]) == 0
    s.areas.invalidate()
    assert len(s.areas.all()) == 125
    audit = s.audit(SYSTEM, action="areas.import")
    assert audit[0]["detail"]["source"].startswith("vietnam-provinces 2025.10.1")


def test_a_central_city_and_an_unknown_code() -> None:
    hanoi = official.official_tree("1")
    assert (hanoi["code"], hanoi["name"], hanoi["type"]) == ("01", "Thành phố Hà Nội", "thành phố")
    assert len(hanoi["children"]) == 126 and all(len(c["code"]) == 5 for c in hanoi["children"])
    assert len(official.provinces()) == 34
    with pytest.raises(Invalid) as err:
        official.official_tree("67")  # Đắk Nông: merged into Lâm Đồng on 1 July 2025
    assert "Không có tỉnh/thành phố mã '67'" in err.value.message and "68 Tỉnh Lâm Đồng" in err.value.message


def test_cli_needs_a_file_or_a_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config_file(tmp_path)
    assert main(["--config", str(cfg), "areas", "import"]) == 2
    assert "--official PROVINCE_CODE" in capsys.readouterr().err
    assert main(["--config", str(cfg), "areas", "import", "--official", "99"]) == 2
    assert "Không có tỉnh/thành phố mã '99'" in capsys.readouterr().err


def _count(s: Any) -> int:
    with s.ctx.db.session() as sess:
        return int(sess.scalar(select(func.count()).select_from(Area)) or 0)


@pytest.mark.parametrize(
    ("tree", "code", "says"),
    [
        # the old bug: a district without a level became a commune (its editor's bulletins ranked low)
        (
            {"code": "67", "name": "Tỉnh", "level": "province",
             "children": [{"code": "660", "name": "Huyện A", "children": [
                 {"code": "24613", "name": "Xã B", "level": "commune"}]}]},
            "level_missing",
            "Huyện A (mã 660) thiếu 'level'",
        ),
        ({"code": "67", "name": "Tỉnh"}, "level_missing", "python -m hub areas import --official MÃ_TỈNH"),
        (
            {"code": "67", "name": "Tỉnh", "level": "province",
             "children": [{"code": "1", "name": "Xã", "level": "commune",
                           "children": [{"code": "2", "name": "Thôn", "level": "commune"}]}]},
            "level_misplaced",
            "cấp commune không thể nằm dưới cấp commune",
        ),
        ({"code": "67", "name": "Huyện", "level": "district"}, "level_misplaced", "ở gốc cây"),
        (
            {"code": "67", "name": "Tỉnh", "level": "province", "type": "xã"},
            "invalid",
            "Loại 'xã' của Tỉnh (mã 67) không hợp với cấp province",
        ),
    ],
)
def test_a_tree_that_does_not_say_its_levels_is_refused_whole(
    tmp_path: Path, tree: dict[str, Any], code: str, says: str
) -> None:
    s = build_services(make_config(tmp_path), speech=object())
    with pytest.raises(Invalid) as err:
        s.areas.import_tree(tree, SYSTEM)
    assert err.value.code == code and says in err.value.message, err.value.message
    assert _count(s) == 0  # nothing half-written


@pytest.mark.parametrize(("name", "leaves"), [("province_3tier.json", 7), ("province_2tier.json", 4)])
def test_the_suites_own_trees_in_both_shapes(tmp_path: Path, name: str, leaves: int) -> None:
    s = build_services(make_config(tmp_path), speech=object())
    s.areas.import_tree(json.loads((DATA / name).read_text(encoding="utf-8")), SYSTEM)
    assert len(s.areas.leaves()) == leaves
    assert all(s.areas.all()[p].level == "commune" for p in s.areas.leaves())
