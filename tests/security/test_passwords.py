"""No common or guessable passwords, wherever a password is set: API, web form, CLI; the demo's pass
(docs/SECURITY.md; the province's rules: no short or default passwords). The estimate is zxcvbn's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.demo import demo_password
from hub.models import User
from hub.security import check_password_policy, random_password
from tests.security.conftest import SecHub

ROOT = Path(__file__).resolve().parents[2]
WEAK = [
    ("password1234", "phổ biến"),
    ("matkhau123456", "phổ biến"),  # 'password' in Vietnamese
    ("qwertyuiop12", "phổ biến"),
    ("aaaaaaaaaaaaaaaa", "lặp lại"),
    ("Nguyenvanan1990", "họ tên"),  # the account's own name, diacritics dropped
    ("nv.kiemtra-2026", "tên đăng nhập"),  # the username inside
]


@pytest.mark.parametrize(("password", "why"), WEAK)
async def test_the_api_refuses_a_weak_password_and_says_why(hub: SecHub, password: str, why: str) -> None:
    c, auth = await hub.api("admin1")
    users = hub.count(User)
    r = await c.post(
        "/api/v1/users",
        headers=auth,
        json={
            "username": "nv.kiemtra",
            "password": password,
            "role": "viewer",
            "area": "67",
            "full_name": "Nguyễn Văn An",
        },
    )
    assert r.status == 422, await r.text()
    err = (await r.json())["error"]
    assert err["code"] == "weak_password" and err["field"] == "password"
    assert why in err["message"] and "ít nhất 12 ký tự" in err["message"]
    assert hub.count(User) == users


async def test_a_new_password_through_the_api_and_the_web_is_checked_too(hub: SecHub) -> None:
    c, auth = await hub.api("admin1")
    r = await c.patch("/api/v1/users/editor67", headers=auth, json={"password": "password1234"})
    assert r.status == 422 and (await r.json())["error"]["code"] == "weak_password"
    b = await hub.browser("admin1")
    r = await b.post(
        "/users",
        {"username": "nv2", "password": "password1234", "role": "viewer", "area": "67", "full_name": ""},
    )
    assert r.status == 422 and "dễ đoán" in await r.text()
    r = await b.post(
        "/users",
        {
            "username": "nv2",
            "password": "Lua-chin-ven-song-42",
            "role": "viewer",
            "area": "67",
            "full_name": "",
        },
    )
    assert r.status == 200 and "Đã tạo tài khoản nv2" in await r.text()


def test_the_cli_refuses_a_weak_password(tmp_path: Path) -> None:
    conf = tmp_path / "hub.toml"
    conf.write_text(f'data_dir = "{tmp_path / "hub"}"\n[mqtt]\nenabled = false\n', encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "hub", "--config", str(conf), "user", "add", "admin", "--role", "admin"]
    weak = subprocess.run(
        [*cmd, "--password-stdin"],
        input="password1234\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert weak.returncode == 2 and "dễ đoán" in weak.stderr
    good = subprocess.run(
        [*cmd, "--password-stdin"],
        input="Lua-chin-ven-song-42\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert good.returncode == 0, good.stderr


def test_generated_passwords_pass_the_policy() -> None:
    for _ in range(200):
        check_password_policy(demo_password(), "admin", "Quản trị hệ thống")
        check_password_policy(random_password(), "chair24613", "Nguyễn Thị Thanh Hương")
