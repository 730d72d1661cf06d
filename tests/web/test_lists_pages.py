"""Every list at a province's size (issue 19): pages, sorts, searches on the server, with counts; bad
page/sort/search parameters get a 422 that says what to write. One generated province for the module
(tests/dbfill.fill_province: 2,000 devices, 500 bulletins, 10,000 audit entries, 20,000 plays)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from hub.app import build_app
from protocol.clock import FrozenClock
from tests.dbfill import fill_province

from .conftest import PASSWORD, T0, make_services

pytestmark = pytest.mark.asyncio(loop_scope="module")
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
TITLE_RE = re.compile(r'<td class="card-title"><a href="/bulletins/([^"]+)">([^<]+)</a>')


class Province:
    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.clients: dict[str, TestClient] = {}

    async def get(self, who: str, path: str) -> tuple[int, str]:
        if who not in self.clients:
            client = TestClient(self.server)
            await client.start_server()
            token = CSRF_RE.search(await (await client.get("/login")).text())
            assert token
            data = {"username": who, "password": PASSWORD, "csrf": token.group(1), "next": "/"}
            assert (await client.post("/login", data=data, allow_redirects=False)).status == 303
            self.clients[who] = client
        r = await self.clients[who].get(path, allow_redirects=False)
        return r.status, await r.text()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def prov(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Province]:
    clock = FrozenClock(T0)
    services = make_services(Path(tmp_path_factory.mktemp("lists")), clock)
    fill_province(services, clock.now())
    server = TestServer(build_app(services.ctx.config, services=services))
    await server.start_server()
    p = Province(server)
    try:
        yield p
    finally:
        for c in p.clients.values():
            await c.close()
        await server.close()
        services.ctx.db.dispose()


def count_line(html: str) -> str:
    m = re.search(r'<p class="count-line"[^>]*>([^<]+)</p>', html)
    assert m, "no count line"
    return m.group(1)


async def test_bulletins_page_search_sort_and_count(prov: Province) -> None:
    status, html = await prov.get("admin1", "/bulletins")
    assert status == 200 and count_line(html) == "1–50 trong 500 bản tin"
    assert len(TITLE_RE.findall(html)) == 50 and 'href="/bulletins?page=10"' in html
    # the last page has the rest; a page past the end goes to the last one
    _, html = await prov.get("admin1", "/bulletins?page=10")
    assert count_line(html) == "451–500 trong 500 bản tin" and 'aria-current="page">10<' in html
    status, _ = await prov.get("admin1", "/bulletins?page=99")
    assert status == 302
    # search without diacritics, in the title; by id; by the target area's name
    _, html = await prov.get("admin1", "/bulletins?q=tiem+chung")
    titles = [t for _, t in TITLE_RE.findall(html)]
    assert count_line(html).endswith("trong 63 bản tin")
    assert all(t.startswith("Lịch tiêm chủng") for t in titles)
    _, html = await prov.get("admin1", "/bulletins?q=b-fill-0007")
    assert [i for i, _ in TITLE_RE.findall(html)] == ["b-fill-0007"]
    _, html = await prov.get("admin1", "/bulletins?q=hoa+binh+1")
    assert "bản tin" in count_line(html) and "Hòa Bình 1" in html
    # sorted by title, both ways; the sort survives paging
    _, html = await prov.get("admin1", "/bulletins?sort=title")
    titles = [t for _, t in TITLE_RE.findall(html)]
    assert titles == sorted(titles, key=str.casefold) and 'href="/bulletins?sort=title&amp;page=2"' in html
    _, html = await prov.get("admin1", "/bulletins?sort=-title")
    assert next(t for _, t in TITLE_RE.findall(html)).startswith("Tuyển quân")
    # status filter uses the status a person sees; counts follow it
    _, html = await prov.get("admin1", "/bulletins?status=rejected")
    assert count_line(html) == "1–50 trong 62 bản tin"  # every 8th of the 500 (tests/dbfill.py)


async def test_bulletins_page_refuses_bad_parameters_saying_what_to_write(prov: Province) -> None:
    for path, words in (
        ("/bulletins?page=abc", "Số trang"),
        ("/bulletins?page=-1", "Số trang"),
        ("/bulletins?sort=password", "Không sắp xếp được"),
        ("/bulletins?q=" + "x" * 500, "dài quá 100 ký tự"),
        ("/bulletins?status=evil", "Trạng thái"),
        ("/bulletins?priority=%3Cscript%3E", "Mức ưu tiên"),
        ("/bulletins?area=99/1", "Địa bàn"),
        ("/devices?state=gone", "Trạng thái"),
        ("/audit?outcome=maybe", "Kết quả"),
        ("/audit?from=hom-qua", "YYYY-MM-DD"),
        ("/users?sort=password_hash", "Không sắp xếp được"),
    ):
        status, html = await prov.get("admin1", path)
        assert status == 422 and words in html, (path, status)
        assert "<script>" not in html


async def test_a_commune_chair_finds_only_what_reaches_the_commune(prov: Province) -> None:
    _, html = await prov.get("chair24613", "/bulletins")
    ids = {i for i, _ in TITLE_RE.findall(html)}
    # the generated commune bulletins target the 100 new communes, none of them 24613; province-wide ones do
    _, admin = await prov.get("admin1", "/bulletins?area=67%2F660%2F24613")
    assert ids and count_line(html) == count_line(admin)
    _, html = await prov.get("chair24613", "/bulletins?q=hoa+binh")  # other communes' bulletins: not found
    assert count_line(html) == "Không có bản tin nào khớp điều kiện tìm."


async def test_devices_page_pages_problems_first_and_folds_quiet_areas(prov: Province) -> None:
    status, html = await prov.get("oper", "/devices")
    assert status == 200 and "2.000 thiết bị" in html and "80 trực tuyến" not in html
    assert count_line(html) == "1–50 trong 2.000 thiết bị"
    rows = html.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]
    assert len(rows) == 50 and all('class="problems"' in r for r in rows)  # problems on top
    assert html.count('<details class="area"') == 111  # 10 districts + 100 communes + the province
    quiet = re.findall(r'<details class="area" id="area-67-7\d\d-\d+" >', html)
    assert quiet, "quiet communes start folded"
    # search by id part, by commune name without diacritics; filter by state; the count follows
    _, html = await prov.get("oper", "/devices?q=loa-30007")
    assert count_line(html) == "1–16 trong 16 thiết bị"
    _, html = await prov.get("oper", "/devices?state=offline")
    assert count_line(html).endswith("trong 80 thiết bị")
    _, html = await prov.get("oper", "/devices?state=offline&page=2")
    assert count_line(html) == "51–80 trong 80 thiết bị"
    _, html = await prov.get("oper", "/devices?area=67%2F700%2F30000&kind=led")
    assert count_line(html) == "1–4 trong 4 thiết bị" and "loa-" not in html.split("<tbody>")[1]


async def test_audit_page_searches_in_words_and_pages_ten_thousand_entries(prov: Province) -> None:
    status, html = await prov.get("admin1", "/audit")
    assert status == 200 and re.search(r"1–50 trong 10\.0\d\d mục", count_line(html))
    assert "Duyệt phát bản tin" in html and ">bulletin.approve<" not in html
    _, html = await prov.get("admin1", "/audit?q=duyet+phat")  # words of the action, no diacritics
    assert count_line(html) == "1–50 trong 1.250 mục"
    _, html = await prov.get("admin1", "/audit?action=bulletin.approve&outcome=denied")
    assert "trong 13 mục" in count_line(html) or "trong 12 mục" in count_line(html)
    _, html = await prov.get("admin1", "/audit?q=editor67&page=40")  # and the logins of these tests
    assert re.fullmatch(r"1\.951–2\.000 trong 2\.00\d mục", count_line(html))
    _, html = await prov.get("admin1", "/audit?from=2026-11-22&to=2026-11-22")
    assert "mục" in count_line(html)
    status, _ = await prov.get("editor67", "/audit")
    assert status == 403


async def test_play_log_searches_by_title_and_pages(prov: Province) -> None:
    _, html = await prov.get("admin1", "/plays?q=b-fill-0007")
    assert count_line(html) == "1–40 trong 40 lượt phát"
    _, html = await prov.get("admin1", "/plays?q=tuyen+quan&device=loa-3000")
    assert "lượt phát" in count_line(html) and "Tuyển quân năm 2027" in html
    _, html = await prov.get("chair24613", "/plays?q=b-fill-0007")  # devices of other communes: not theirs
    assert count_line(html) == "Không có lượt phát nào khớp điều kiện tìm."


async def test_users_page_searches_names_and_areas(prov: Province) -> None:
    _, html = await prov.get("admin1", "/users?q=phuong+nghia+thanh")
    assert count_line(html) == "1–1 trong 1 tài khoản" and "chair24613" in html
    assert "67/660/24613" not in html.split("<tbody>")[1].split("</tbody>")[0]  # the name, not the code
    _, html = await prov.get("admin1", "/users?role=editor&sort=-username")
    names = re.findall(r'<td class="card-title">([a-z0-9]+)</td>', html)
    assert names == ["editor67", "editor660"]
