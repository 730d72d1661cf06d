"""An uploaded file is decoded whole before it is accepted: a file cut short or broken is refused with what
to do, nothing stored (docs/SECURITY.md). ffprobe alone gave a 2 KB stub of an MP3 the whole file's length."""

from __future__ import annotations

import subprocess
from pathlib import Path

from aiohttp import FormData

from hub.models import Bulletin, Media
from tests.security.conftest import SecHub


def ff(out: Path, *args: str) -> bytes:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(out)], check=True, timeout=60)
    return out.read_bytes()


def _files(hub: SecHub) -> list[Path]:
    return [p for p in hub.s.media.dir.rglob("*") if p.is_file()] if hub.s.media.dir.exists() else []


async def test_an_mp3_cut_to_2_kb_is_refused_and_the_whole_one_accepted(hub: SecHub, tmp_path: Path) -> None:
    whole = ff(tmp_path / "a.mp3", "-f", "lavfi", "-i", "sine=frequency=440:duration=30", "-b:a", "48k")
    c, auth = await hub.api("editor67")
    before = hub.count(Media)
    r = await c.post(
        "/api/v1/media?for=radio", data=whole[:2048], headers={**auth, "Content-Type": "audio/mpeg"}
    )
    assert r.status == 422, await r.text()
    err = (await r.json())["error"]
    assert err["code"] == "bad_media" and "bị cắt" in err["message"] and "30.0 giây" in err["message"]
    assert hub.count(Media) == before and _files(hub) == []
    r = await c.post("/api/v1/media?for=radio", data=whole, headers={**auth, "Content-Type": "audio/mpeg"})
    assert r.status == 201, await r.text()
    assert abs((await r.json())["duration_ms"] - 30_000) < 100


async def test_a_broken_image_is_refused(hub: SecHub, tmp_path: Path) -> None:
    png = ff(tmp_path / "a.png", "-f", "lavfi", "-i", "testsrc=size=192x96:rate=1", "-frames:v", "1")
    c, auth = await hub.api("editor67")
    r = await c.post("/api/v1/media?for=led", data=png[:300], headers={**auth, "Content-Type": "image/png"})
    assert r.status == 422 and "bị hỏng" in (await r.json())["error"]["message"]
    assert hub.count(Media) == 0


async def test_the_bulletin_form_refuses_a_cut_file(hub: SecHub, tmp_path: Path) -> None:
    whole = ff(tmp_path / "a.mp3", "-f", "lavfi", "-i", "sine=frequency=440:duration=30", "-b:a", "48k")
    ed = await hub.browser("editor67")
    await ed.get("/bulletins/new")
    fd = FormData()
    for k, v in [
        ("title", "Thông báo lịch cắt điện"),
        ("priority", "normal"),
        ("form", "audio"),
        ("kinds", "radio"),
        ("targets", "67/660"),
        ("plays_per_day", "1"),
        ("action", "submit"),
        ("csrf", ed.csrf),
    ]:
        fd.add_field(k, v)
    fd.add_field("file", whole[:2048], filename="cat-dien.mp3", content_type="audio/mpeg")
    r = await ed.client.post("/bulletins/new", data=fd, allow_redirects=False)
    html = await r.text()
    assert r.status == 422 and "bị cắt" in html
    assert hub.count(Bulletin) == 0 and hub.count(Media) == 0
