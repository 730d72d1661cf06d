"""Languages (Decree 49/2024): the area tree says which local languages a commune uses; a bulletin's
language versions (bản tiếng dân tộc) play after the Vietnamese only there, and the programme counts them."""

from __future__ import annotations

import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hub.models import Bulletin
from protocol.messages import ProgrammeBody
from tests.hub.conftest import Hub
from tests.hub.test_programme import programmes


def tone(out: Path, seconds: float, freq: int) -> Path:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}",
         "-ar", "16000", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("lang")
    return {"vie": tone(d / "vie.wav", 2, 440), "rad": tone(d / "rad.wav", 3, 550),
            "cmo": tone(d / "cmo.wav", 1, 660), "png": _png(d / "a.png")}  # fmt: skip


def _png(out: Path) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x32:rate=1",
                    "-frames:v", "1", str(out)], check=True, timeout=60)  # fmt: skip
    return out


async def upload(hub: Hub, path: Path) -> str:
    status, m = await hub.call(
        "POST", "/api/v1/media", "editor67", data=path.read_bytes(),  # noqa: ASYNC240 - a small test file
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert status == 201, m
    return str(m["sha256"])


async def set_languages(hub: Hub, area: str, languages: Any, who: str = "admin1") -> tuple[int, Any]:
    return await hub.call("PUT", "/api/v1/areas/languages", who, json={"area": area, "languages": languages})


def bulletin(title: str, media: str, versions: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    return {"title": title, "priority": "priority", "form": "audio", "media": media, "targets": ["67/660"],
            "kinds": ["radio"], "language_versions": versions, **over}  # fmt: skip


def items_of(prog: ProgrammeBody, bid: str) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromisoformat(i.start), datetime.fromisoformat(i.end))
        for d in prog.days[:1] for i in d.items if i.bulletin_id == bid
    ]  # fmt: skip


async def test_versions_reach_only_communes_using_the_language(hub: Hub, audio: dict[str, Path]) -> None:
    # the district uses Ê Đê, inherited by its communes; one commune says Vietnamese only
    status, v = await set_languages(hub, "67/660", [{"code": "rad", "name": "Ê-đê"}, "cmo"])
    assert status == 200, v
    assert [x["code"] for x in v["in_force"]] == ["vie", "rad", "cmo"]
    assert (await set_languages(hub, "67/660/24611", []))[0] == 200
    status, v = await hub.call("GET", "/api/v1/areas/languages?area=67/660/24613", "viewer")
    assert status == 200 and v["source"] == "67/660" and v["languages"] is None, v
    assert [x["name"] for x in v["in_force"]] == ["Tiếng Việt", "Ê-đê", "M'Nông"]

    vie, rad = await upload(hub, audio["vie"]), await upload(hub, audio["rad"])
    versions = [{"language": "rad", "media": rad}]
    status, a = await hub.call("POST", "/api/v1/bulletins", "editor67", json=bulletin("Lịch", vie, versions))
    assert status == 201, a
    assert a["language_versions"] == [{"language": "rad", "media": rad}]
    assert [(x["language"], x["name"]) for x in a["languages"]] == [("rad", "Ê Đê")]
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=bulletin("Họp dân", vie, []))
    assert status == 201, b
    for x in (a, b):
        status, out = await hub.call("POST", f"/api/v1/bulletins/{x['id']}/approve", "editor67")
        assert status == 200, out
    await hub.s.publishing.flush()

    ede = programmes(hub, "67/660/24613/program/radio")[-1]
    info = {i.id: i for i in ede.bulletins}[a["id"]]
    # named as the commune names it (its area's list), else as the catalogue does
    assert [(v.code, v.name, v.media.sha256) for v in info.languages] == [("rad", "Ê-đê", rad)]
    assert info.media is not None and info.media.sha256 == vie
    assert 4900 <= info.duration_ms <= 5100  # the Vietnamese (2 s) then the Ê Đê (3 s)
    # the packing uses the real total: the item lasts both versions, the next starts after it
    (start, end), = items_of(ede, a["id"])
    (other, other_end), = items_of(ede, b["id"])
    assert (end - start).total_seconds() == info.duration_ms / 1000
    assert other >= end or other_end <= start

    viet = programmes(hub, "67/660/24611/program/radio")[-1]
    info = {i.id: i for i in viet.bulletins}[a["id"]]
    assert info.languages == [] and 1900 <= info.duration_ms <= 2100  # one play: the Vietnamese
    (start, end), = items_of(viet, a["id"])
    assert (end - start).total_seconds() == info.duration_ms / 1000

    # the chair's page shows the same: the item in an Ê Đê commune lasts both versions
    status, page = await hub.call(
        "GET", "/api/v1/programme?area=67/660/24613&kind=radio&date=2026-11-23", "chair24613"
    )
    assert status == 200, page
    (item,) = [p for p in page["programme"] if p["bulletin_id"] == a["id"]]
    span = datetime.fromisoformat(item["end"]) - datetime.fromisoformat(item["start"])
    assert 4.9 <= span.total_seconds() <= 5.1 and item["languages"] == ["Ê-đê"]
    await hostile_input(hub, audio)


async def hostile_input(hub: Hub, audio: dict[str, Path]) -> None:
    """(One hub for both: its setup is most of the time.) 67/660 uses Ê Đê and M'Nông, 67/661 nothing."""
    # the area tree: admins only, known codes, Vietnamese implied, each once, a sane name
    for who, langs, status_code, word in (
        ("editor67", ["rad"], 403, "không được phép"),
        ("admin1", ["xyz"], 422, "Không có ngôn ngữ mã 'xyz'"),
        ("admin1", ["vie"], 422, "Tiếng Việt luôn được phát"),
        ("admin1", ["rad", "rad"], 422, "ghi hai lần"),
        ("admin1", [{"code": "rad", "name": "Ê\x00Đê"}], 422, "Tên tiếng dân tộc"),
        ("admin1", "rad", 422, ""),
        ("admin1", ["rad"] * 9, 422, ""),
    ):
        status, err = await set_languages(hub, "67/661", langs, who)
        assert status == status_code and word in err["error"]["message"], (langs, err)
    status, err = await set_languages(hub, "67/999", ["rad"])
    assert status == 422 and err["error"]["field"] == "area", err
    status, v = await hub.call("GET", "/api/v1/areas/languages?area=67/661", "admin1")
    assert v["languages"] is None and [x["code"] for x in v["in_force"]] == ["vie"]  # nothing written

    vie, rad, png = [await upload(hub, audio[k]) for k in ("vie", "rad", "png")]
    before = hub.count(Bulletin)
    cases: list[tuple[dict[str, Any], str]] = [
        (bulletin("x", vie, [{"language": "xyz", "media": rad}]), "Không có ngôn ngữ mã 'xyz'"),
        (bulletin("x", vie, [{"language": "rad"}]), "chưa có tệp âm thanh"),
        (bulletin("x", vie, [{"language": "rad", "media": rad}] * 2), "có hai lần"),
        (bulletin("x", vie, [{"language": "vie", "media": rad}]), "Bản tiếng Việt là nội dung chính"),
        (bulletin("x", vie, [{"language": "rad", "media": png}]), "phải là tệp âm thanh"),
        (bulletin("x", vie, [{"language": "rad", "media": "ab" * 32}]), "phải là tệp âm thanh"),
        # another area's language: no target commune uses it
        (bulletin("x", vie, [{"language": "rad", "media": rad}], targets=["67/661"]), "Không xã nào"),
        (bulletin("x", vie, [{"language": "kpm", "media": rad}]), "Không xã nào"),
        (bulletin("x", vie, [{"language": "rad", "media": rad}], priority="emergency"), "khẩn cấp"),
        (bulletin("x", png, [{"language": "rad", "media": rad}], form="image", kinds=["led"]), "loa"),
    ]
    for body, word in cases:
        status, err = await hub.call("POST", "/api/v1/bulletins", "editor67", json=body)
        assert status == 422 and err["error"]["field"] == "language_versions", (body, err)
        assert word in err["error"]["message"], (word, err)
    status, err = await hub.call(
        "POST", "/api/v1/bulletins", "editor67",
        json=bulletin("x", vie, [{"language": "rad", "media": rad}] * 9),
    )  # fmt: skip
    assert status == 422, err
    assert hub.count(Bulletin) == before  # nothing half-written

    # an edit goes through the same checks, and keeps the bulletin as it was when refused
    status, ok = await hub.call("POST", "/api/v1/bulletins", "editor67",
                                json=bulletin("Lịch", vie, [{"language": "rad", "media": rad}], draft=True))
    assert status == 201, ok
    status, err = await hub.call("PUT", f"/api/v1/bulletins/{ok['id']}", "editor67",
                                 json=bulletin("Lịch", vie, [{"language": "mnn", "media": rad}]))
    assert status == 422 and err["error"]["field"] == "language_versions", err
    status, now = await hub.call("GET", f"/api/v1/bulletins/{ok['id']}", "editor67")
    assert now["version"] == 1 and now["language_versions"] == [{"language": "rad", "media": rad}]
    # a new recording is a new version of the whole bulletin, which its review and approval then cover
    status, now = await hub.call("PUT", f"/api/v1/bulletins/{ok['id']}", "editor67",
                                 json=bulletin("Lịch", vie, [{"language": "rad", "media": vie}]))
    assert status == 200 and now["version"] == 2, now
    status, now = await hub.call("GET", f"/api/v1/bulletins/{ok['id']}", "editor67")
    assert now["versions"][-1]["changed"] == ["language_versions"]


def test_cli_shows_and_sets_an_areas_languages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.__main__ import main  # noqa: PLC0415

    cfg = tmp_path / "hub.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "hub"}"\n[programme]\nscheduler = false\n', encoding="utf-8")
    sample = Path(__file__).resolve().parents[1] / "data" / "province_3tier.json"
    assert main(["--config", str(cfg), "areas", "import", str(sample)]) == 0
    assert main(["--config", str(cfg), "areas", "languages", "67/660", "rad", "kpm"]) == 0
    assert main(["--config", str(cfg), "areas", "languages", "67/660/24613"]) == 0
    out = capsys.readouterr().out
    assert "(67/660/24613): Tiếng Việt (vie), Ê Đê (rad), Cơ Ho (kpm) [as the unit above]" in out
    assert main(["--config", str(cfg), "areas", "languages", "67/660", "xyz"]) == 2
    assert "Không có ngôn ngữ mã 'xyz'" in capsys.readouterr().err
    assert main(["--config", str(cfg), "areas", "languages", "67/660", "rad", "--vie-only"]) == 2
    assert main(["--config", str(cfg), "areas", "languages", "67/660", "--inherit"]) == 0
    assert "Tiếng Việt (vie) [as the unit above]" in capsys.readouterr().out
