"""Voices on the pages (issue 20): the bulletin form's choice among the installed voices and espeak-ng,
reaching the bulletin's audio; a bad choice beside its field; the admins' Giọng đọc page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.models import Bulletin, Speech
from tests.tts import tiny_voice
from tts.voices import VoiceStore

from .conftest import WebHub
from .pagehelp import bulletin_form, count

TINY = "vi_VN-tiny-x_low"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_voice.write(tmp_path_factory.mktemp("voice-src"))


async def test_the_forms_voice_choice_reaches_the_audio(web: WebHub, source: Path) -> None:
    ed = await web.as_user("editor67")
    _, html = await ed.get("/bulletins/new")
    assert 'id="voice"' in html
    assert "Chưa cài giọng đọc tự nhiên nào: bản tin được đọc bằng espeak-ng." in html
    VoiceStore(web.s.ctx.config.voices_dir).add(source, name="Giọng thử", region="north")
    _, html = await ed.get("/bulletins/new")
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]+)</option>', html.split('id="voice"')[1])
    assert options[:3] == [("", "Mặc định của tỉnh: espeak-ng (giọng máy, luôn có)"),
                           (TINY, "Giọng thử (miền Bắc)"), ("espeak-ng", "espeak-ng (giọng máy, luôn có)")]
    assert 'id="voice-preview"' in html and "/static/web/voice.js" in html
    r = await ed.post("/bulletins/new", [*bulletin_form(), ("voice", "khong-co")])
    html = await r.text()
    assert r.status == 422 and count(web, Bulletin) == 0
    assert re.search(r'id="err-voice" role="alert">Không có giọng đọc &#39;khong-co&#39;', html), html[:2000]
    r = await ed.post("/bulletins/new", [*bulletin_form(), ("voice", TINY)])
    assert r.status == 303, await r.text()
    with web.s.ctx.db.session() as sess:
        b = sess.scalars(select(Bulletin)).one()
        sp = sess.scalars(select(Speech).where(Speech.bulletin_id == b.id)).one()
        assert (b.voice, sp.engine, sp.voice, sp.media_sha256) == (TINY, "piper", TINY, b.media_sha256)
    _, html = await ed.get(f"/bulletins/{b.id}/edit")
    assert f'<option value="{TINY}" selected>' in html
    _, html = await ed.get(f"/bulletins/{b.id}")
    assert f"Giọng đọc: piper ({TINY})." in html

    # the voice is removed: the edit keeps the choice, espeak-ng speaks it, and the page says so
    VoiceStore(web.s.ctx.config.voices_dir).remove(TINY)
    _, html = await ed.get(f"/bulletins/{b.id}/edit")
    assert f'<option value="{TINY}" selected>{TINY} (đã gỡ: sẽ đọc bằng espeak-ng)</option>' in html
    r = await ed.post(f"/bulletins/{b.id}/edit", [*bulletin_form(text="Thôn ba họp lại."), ("voice", TINY)])
    assert r.status == 303, await r.text()
    _, html = await ed.get(f"/bulletins/{b.id}")
    assert (f"Giọng đọc: espeak-ng (vi): giọng đã chọn ({TINY}) không dùng được nên bản tin được đọc "
            "bằng espeak-ng.") in html


async def test_admins_set_the_provinces_default_voice(web: WebHub, source: Path) -> None:
    VoiceStore(web.s.ctx.config.voices_dir).add(source, name="Giọng thử")
    ed = await web.as_user("editor67")
    status, _ = await ed.get("/voices")
    assert status == 403
    admin = await web.as_user("admin1")
    status, html = await admin.get("/voices")
    assert status == 200 and TINY in html and "CC0 1.0 Universal" in html and 'href="/voices"' in html
    r = await admin.post("/voices", {"voice": "khong-co"})
    assert r.status == 422 and "Không có giọng đọc" in await r.text()
    r = await admin.post("/voices", {"voice": TINY})
    assert r.status == 200 and "Giọng mặc định của tỉnh: Giọng thử." in await r.text()
    assert web.s.voices.default() == TINY
    _, html = await ed.get("/bulletins/new")
    assert "Mặc định của tỉnh: Giọng thử</option>" in html
