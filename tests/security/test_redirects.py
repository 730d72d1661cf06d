"""After login a user goes only to a page of this hub (docs/SECURITY.md); cookies are Secure behind HTTPS."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from tests.security.conftest import SecHub, start_hub, stop_hub
from tests.web.conftest import CSRF_RE, PASSWORD

OFF_SITE = [
    "/\t/evil.example",
    "/\n/evil.example",
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/\x00/evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
async def test_next_off_site_goes_home(hub: SecHub, target: str) -> None:
    c = await hub.client()
    page = await c.get(f"/login?next={quote(target, safe='')}")
    html = await page.text()
    assert "evil" not in html and "javascript" not in html
    token = CSRF_RE.search(html)
    assert token
    r = await c.post(
        "/login",
        data={"username": "editor67", "password": PASSWORD, "csrf": token.group(1), "next": target},
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/"


async def test_a_local_next_is_kept(hub: SecHub) -> None:
    b = await hub.browser()
    page = await b.client.get("/login?next=%2Fbulletins%3Fstatus%3Dsubmitted")
    token = CSRF_RE.search(await page.text())
    assert token
    r = await b.client.post(
        "/login",
        data={
            "username": "editor67",
            "password": PASSWORD,
            "csrf": token.group(1),
            "next": "/bulletins?status=submitted",
        },
        allow_redirects=False,
    )
    assert r.status == 303 and r.headers["Location"] == "/bulletins?status=submitted"


@pytest.mark.parametrize(("public_url", "secure"), [("https://nguon.example.gov.vn", True), ("", False)])
async def test_cookies_are_secure_when_the_public_url_is_https(
    tmp_path: Path, public_url: str, secure: bool
) -> None:
    h = await start_hub(tmp_path, http={"public_url": public_url})
    try:
        c = await h.client()
        page = await c.get("/login")
        assert ("Secure" in page.headers["Set-Cookie"]) is secure
        token = CSRF_RE.search(await page.text())
        assert token
        # a client keeps a Secure cookie for https only: send the login form's cookie back by hand
        r = await c.post(
            "/login",
            data={"username": "editor67", "password": PASSWORD, "csrf": token.group(1), "next": "/"},
            headers={"Cookie": f"nguon_login_csrf={page.cookies['nguon_login_csrf'].value}"},
            allow_redirects=False,
        )
        session = [v for v in r.headers.getall("Set-Cookie") if v.startswith("nguon_session=")]
        assert len(session) == 1 and ("Secure" in session[0]) is secure
    finally:
        await stop_hub(h)
