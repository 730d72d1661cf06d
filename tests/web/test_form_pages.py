"""The bulletin form and the emergency console check everything at once (issue 19): every problem beside
its field, in the editor's words, and in a summary at the top that takes the focus."""

from __future__ import annotations

import re

from hub.models import Bulletin

from .conftest import WebHub
from .pagehelp import bulletin_form, count


def errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'<span class="field-error" id="err-([a-z_]+)" role="alert">([^<]+)</span>', html))


async def test_an_empty_bulletin_form_says_everything_to_fix_at_once(web: WebHub) -> None:
    ed = await web.as_user("editor67")
    empty = [("title", "  "), ("priority", "normal"), ("form", "text"), ("action", "submit")]
    r = await ed.post("/bulletins/new", empty)
    html = await r.text()
    assert r.status == 422 and count(web, Bulletin) == 0
    found = errors(html)
    assert set(found) == {"title", "kinds", "text", "targets"}, found
    assert found["targets"] == "Hãy chọn ít nhất một địa bàn nhận."
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    assert "Có 4 chỗ cần sửa" in summary and 'href="#f-targets"' in summary and 'href="#title"' in summary
    for code_word in ("(targets)", "kinds phải", "sha256", "valid_until)", "'radio'"):
        assert code_word not in html
    # what was typed stays; fixing some leaves only the rest
    r = await ed.post(
        "/bulletins/new",
        [("title", "Lịch tiêm"), ("priority", "normal"), ("form", "image"), ("kinds", "radio"),
         ("plays_per_day", "99"), ("valid_from", "2026-11-25T08:00"), ("valid_until", "2026-11-24T08:00"),
         ("action", "submit")],
    )  # fmt: skip
    found = errors(await r.text())
    assert set(found) == {"kinds", "media", "targets", "plays_per_day", "valid_until"}, found
    assert "bỏ chọn Đài truyền thanh" in found["kinds"] and "sau thời điểm bắt đầu" in found["valid_until"]


async def test_the_emergency_console_says_everything_at_once_too(web: WebHub) -> None:
    ed = await web.as_user("editor67")
    r = await ed.post("/emergency/confirm", [("title", ""), ("text", ""), ("repeat_count", "0")])
    html = await r.text()
    assert r.status == 422
    assert {"title", "text", "targets", "kinds", "repeat_count"} <= set(errors(html)), errors(html)
    assert "chỗ cần sửa" in html


async def test_subject_select_on_the_bulletin_form(web: WebHub) -> None:
    ed = await web.as_user("editor67")
    status, html = await ed.get("/bulletins/new")
    assert status == 200 and '<select id="subject" name="subject"' in html
    assert '<option value="other" selected>Khác</option>' in html  # a new bulletin starts at "Khác"
    r = await ed.post("/bulletins/new", [*bulletin_form(), ("subject", "weather")])
    found = errors(await r.text())
    assert r.status == 422 and count(web, Bulletin) == 0
    assert found == {"subject": found["subject"]} and "Phòng, chống thiên tai" in found["subject"]
    r = await ed.post("/bulletins/new", [*bulletin_form(), ("subject", "agriculture")])
    assert r.status == 303, await r.text()
    with web.s.ctx.db.session() as sess:
        assert [b.subject for b in sess.query(Bulletin)] == ["agriculture"]
