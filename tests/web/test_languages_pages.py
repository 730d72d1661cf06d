"""The bulletin form's "Thêm bản tiếng dân tộc" (a language and an audio file), the bulletin's page for the
reviewer, and the play log naming each play's language; hostile rows refused with what to fix."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

from aiohttp import FormData

from hub.models import Bulletin
from hub.roles import SYSTEM
from tests.web.conftest import WebHub
from tests.web.pagehelp import bulletin_form


def wav(path: Path, seconds: float) -> bytes:
    source = f"sine=frequency=550:duration={seconds}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-ar", "16000", str(path)],
                   check=True, timeout=60)  # fmt: skip
    return path.read_bytes()


def form(csrf: str, rows: list[tuple[str, bytes | None]], **over: str) -> FormData:
    fd = FormData()
    for k, v in [*bulletin_form(title=over.get("title", "Lịch tiêm chủng")), ("csrf", csrf)]:
        fd.add_field(k, v)
    for i, (lang, data) in enumerate(rows):
        fd.add_field(f"lang_{i}", lang)
        if data is not None:
            fd.add_field(f"lang_file_{i}", data, filename=f"ban-{i}.wav", content_type="audio/wav")
    return fd


async def admin_sets_languages(web: WebHub) -> None:
    # the admin's page: the district uses Ê Đê (its communes inherit it); others may not set it
    admin = await web.as_user("admin1")
    status, html = await admin.get("/languages?area=67/660")
    assert status == 200 and 'href="/languages"' in html and "Theo cấp trên" in html
    r = await admin.post("/languages", [("area", "67/660"), ("mode", "list"), ("languages", "xyz")])
    assert r.status == 422 and "Không có ngôn ngữ mã" in await r.text()
    r = await admin.post("/languages", [("area", "67/660"), ("mode", "list")])
    assert r.status == 422 and "Chọn ít nhất một tiếng" in await r.text()
    r = await admin.post("/languages", [("area", "67/660"), ("mode", "list"), ("languages", "rad")])
    assert r.status == 303, await r.text()
    status, html = await admin.get("/languages?area=67/660/24613")
    assert '<strong id="in-force">Tiếng Việt, Ê Đê</strong>' in html
    ed = await web.as_user("editor67")
    status, html = await ed.get("/languages")
    assert status == 403 and 'href="/languages"' not in html
    r = await ed.post("/languages", [("area", "67/660"), ("mode", "vie_only")])
    assert r.status == 403
    assert web.s.languages.view("67/660")["languages"] == [{"code": "rad", "name": "Ê Đê"}]


async def test_language_version_through_the_form_and_the_play_log(web: WebHub, tmp_path: Path) -> None:
    await admin_sets_languages(web)
    ed = await web.as_user("editor67")
    status, html = await ed.get("/bulletins/new")
    assert status == 200 and "Thêm bản tiếng dân tộc" in html and 'name="lang_file_0"' in html
    assert "giọng đọc tự động chỉ đọc được tiếng Việt" in html and '<option value="rad"' in html
    rad = wav(tmp_path / "rad.wav", 2)

    # hostile rows: each refused with what to fix, the typed title kept, nothing saved
    for rows, words in (
        ([("", rad)], "Chọn tiếng cho mỗi bản ghi âm"),
        ([("xyz", rad)], "Không có ngôn ngữ mã &#39;xyz&#39;"),
        ([("rad", None)], "chưa có tệp âm thanh"),
        ([("rad", rad), ("rad", rad)], "có hai lần"),
        ([("cmo", rad)], "Không xã nào"),
        ([("rad", b"khong phai am thanh")], "Bản tiếng Ê Đê"),
    ):
        r = await ed.client.post("/bulletins/new", data=form(ed.csrf, rows), allow_redirects=False)
        text = await r.text()
        assert r.status == 422 and words in text and 'value="Lịch tiêm chủng"' in text, (rows, text[-3000:])
    # too big: the upload limit holds for a language version as for any file
    cfg = web.s.ctx.config
    web.s.ctx.config = cfg.model_copy(update={"http": cfg.http.model_copy(update={"max_upload_mb": 1})})
    try:
        big = wav(tmp_path / "big.wav", 40)
        r = await ed.client.post("/bulletins/new", data=form(ed.csrf, [("rad", big)]), allow_redirects=False)
        text = await r.text()
        assert r.status == 422 and "Tệp quá lớn" in text, text[-2000:]
    finally:
        web.s.ctx.config = cfg
    with web.s.ctx.db.session() as sess:
        assert sess.query(Bulletin).count() == 0

    # a Vietnamese text (spoken by espeak-ng) and an Ê Đê recording
    r = await ed.client.post("/bulletins/new", data=form(ed.csrf, [("rad", rad)]), allow_redirects=False)
    assert r.status == 303, (await r.text())[-2000:]
    bid = r.headers["Location"].rsplit("/", 1)[1]
    status, html = await ed.get(f"/bulletins/{bid}")
    assert status == 200 and "Bản tiếng dân tộc" in html and "Tiếng Ê Đê (rad" in html
    b = web.s.bulletins.get(SYSTEM, bid)
    assert [v.language for v in b.languages] == ["rad"] and 1900 <= b.languages[0].duration_ms <= 2100
    # the edit form shows the version it has (and its audio), ready to keep or replace
    status, html = await ed.get(f"/bulletins/{bid}/edit")
    assert '<option value="rad" selected>' in html
    assert f'name="lang_media_0" value="{b.languages[0].media}"' in html

    # the play log: the Ê Đê play is named, on the page and in the CSV
    web.s.bulletins.approve(SYSTEM, bid)
    chair = await web.as_user("chair24613")  # the chair's programme: the item is both versions
    status, html = await chair.get("/programme?area=67/660/24613&kind=radio&date=2026-11-23")
    assert status == 200 and "(tiếng Việt, rồi tiếng Ê Đê)" in html, html[-3000:]
    web.s.devices.register(SYSTEM, device_id="loa-24613-01", kind="radio", area="67/660/24613")
    base = {"bulletin_id": bid, "outcome": "completed", "scheduled_at": "2026-11-23T05:00:00+07:00",
            "ended_at": "2026-11-23T05:00:09+07:00", "emergency": False}  # fmt: skip
    events = [
        {"id": "e-vie", "device_id": "loa-24613-01", "type": "play", "at": "2026-11-23T05:00:07+07:00",
         "data": {**base, "started_at": "2026-11-23T05:00:00+07:00", "language": "vie"}},
        {"id": "e-rad", "device_id": "loa-24613-01", "type": "play", "at": "2026-11-23T05:00:09+07:00",
         "data": {**base, "started_at": "2026-11-23T05:00:07+07:00", "language": "rad"}},
        # a language the bulletin has no version in: not believed (an anomaly), not in the log
        {"id": "e-mnn", "device_id": "loa-24613-01", "type": "play", "at": "2026-11-23T05:00:09+07:00",
         "data": {**base, "started_at": "2026-11-23T05:00:09+07:00", "language": "mnn"}},
    ]  # fmt: skip
    assert web.s.devices.ingest_events("loa-24613-01", events) == 2
    status, html = await ed.get("/plays?date=2026-11-23")
    assert status == 200 and html.count("Tiếng Ê Đê") == 1, html[-3000:]
    r = await ed.client.get("/plays.csv?date=2026-11-23")
    table = list(csv.DictReader(io.StringIO((await r.read()).decode("utf-8-sig"))))
    assert sorted(row["Tiếng"] for row in table) == ["Tiếng Việt", "Ê Đê"]
