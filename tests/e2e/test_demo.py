"""The whole system as `./run demo` starts it: broker, hub, agent processes, real speech and signatures.

Time is injected with the demo's `--start-at`, never waited for: one demo stands at 05:00 (inside the
morning radio window), the other at 12:00 (outside every radio window).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from protocol.clock import parse_time

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Kiem-thu-demo-2026!"  # noqa: S105 - a throwaway demo account for this test
LONG_TEXT = (
    "Thông báo của Ủy ban nhân dân tỉnh về kế hoạch chuyển đổi số năm 2027. "
    "Các xã, phường, thị trấn rà soát hạ tầng, đào tạo cán bộ và hướng dẫn người dân sử dụng dịch vụ công "
    "trực tuyến mức độ toàn trình. Mỗi thôn, tổ dân phố thành lập tổ công nghệ số cộng đồng. "
) * 3


@dataclass
class Demo:
    proc: subprocess.Popen[bytes]
    data_dir: Path
    info: dict[str, Any]
    token: str
    approver_token: str = ""

    @property
    def url(self) -> str:
        return str(self.info["http_url"])

    @property
    def offset_s(self) -> float:
        return float(self.info["clock_offset_s"])

    @property
    def radios(self) -> list[dict[str, Any]]:
        return [d for d in self.info["devices"] if d["kind"] == "radio"]

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return requests.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=60, **kw)

    def demo_now(self) -> float:
        """The demo's (shifted) clock as a POSIX timestamp."""
        return time.time() + self.offset_s

    def submit(self, **fields: Any) -> str:
        body = {"form": "text", "targets": ["68"], "kinds": ["radio"], **fields}
        r = self.api("POST", "/bulletins", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def approve(self, bulletin_id: str) -> None:
        """Approved by the province's editor: the admin wrote it, and an author does not approve a province
        bulletin (config review.self_approve)."""
        if not self.approver_token:
            name, password = next(
                line.split("\t")[:2]
                for line in (self.data_dir / "accounts.txt").read_text(encoding="utf-8").splitlines()
                if line.startswith("bientap.tinh\t")
            )
            login = {"username": name, "password": password}
            r = requests.post(f"{self.url}/api/v1/auth/login", json=login, timeout=30)
            assert r.status_code == 200, r.text
            self.approver_token = r.json()["token"]
        r = requests.post(
            f"{self.url}/api/v1/bulletins/{bulletin_id}/approve",
            headers={"Authorization": f"Bearer {self.approver_token}"},
            timeout=60,
        )
        assert r.status_code < 300, r.text


def wait_for(check: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plays_of(dev: dict[str, Any], bulletin_id: str) -> list[dict[str, Any]]:
    return [p for p in read_jsonl(Path(dev["data_dir"]) / "plays.jsonl") if p["bulletin_id"] == bulletin_id]


def status(dev: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(json.loads((Path(dev["data_dir"]) / "status.json").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def start_demo(tmp_path: Path, start_at: str, agents: int = 3) -> Iterator[Demo]:
    data_dir = tmp_path / "demo"
    env = dict(os.environ, NGUON_ADMIN_PASSWORD=PASSWORD)
    log = (tmp_path / "demo.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "demo", "--agents", str(agents), "--start-at", start_at,
         "--http-port", "0", "--data-dir", str(data_dir), "--no-samples"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        info_path = data_dir / "demo.json"
        wait_for(lambda: info_path.exists() or proc.poll() is not None, 90, "demo.json", 0.2)
        assert proc.poll() is None, (tmp_path / "demo.log").read_text(errors="replace")
        info = json.loads(info_path.read_text(encoding="utf-8"))
        r = requests.post(f"{info['http_url']}/api/v1/auth/login",
                          json={"username": "admin", "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        demo = Demo(proc, data_dir, info, r.json()["token"])
        # Every agent connected and holding a programme before the test acts.
        for dev in info["devices"]:
            wait_for(lambda d=dev: status(d).get("connected") and status(d).get("programme_version", 0) > 0,
                     60, f"{dev['id']} online with a programme", 0.2)
        yield demo
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
    # Ctrl-C must stop every process the demo started.
    found = subprocess.run(["pgrep", "-f", str(data_dir)], capture_output=True, text=True, check=False)
    leftovers = found.stdout.split()
    assert not leftovers, f"processes still running after Ctrl-C: {leftovers}"


@pytest.fixture
def demo_morning(tmp_path: Path) -> Iterator[Demo]:
    yield from start_demo(tmp_path, "05:00")


@pytest.fixture
def demo_noon(tmp_path: Path) -> Iterator[Demo]:
    yield from start_demo(tmp_path, "12:00", agents=2)


def ts(value: str) -> float:
    return parse_time(value).timestamp()


@pytest.mark.slow
def test_emergency_reaches_every_agent_within_2s_and_interrupts(demo_morning: Demo) -> None:
    demo = demo_morning
    # A long priority bulletin, inside the 05:00-06:30 window: it starts playing on every radio.
    prio = demo.submit(title="Kế hoạch chuyển đổi số", priority="priority", text=LONG_TEXT)
    demo.approve(prio)
    for dev in demo.radios:
        wait_for(lambda d=dev: status(d).get("now_playing") == prio, 30, f"{dev['id']} playing {prio}")

    emer = demo.submit(title="Cảnh báo lũ quét", priority="emergency",
                       text="Khẩn cấp: lũ quét trên sông Đa Nhim, người dân di chuyển lên vùng cao ngay.")
    t0 = demo.demo_now()
    demo.approve(emer)

    for dev in demo.radios:
        plays = wait_for(
            lambda d=dev: plays_of(d, emer),
            60, f"{dev['id']} to play the emergency")
        started = ts(plays[0]["started_at"])
        assert 0 <= started - t0 < 2.0, f"{dev['id']} started the emergency {started - t0:.2f}s after approve"
        assert plays[0]["emergency"] is True
        interrupted = [p for p in plays_of(dev, prio) if p["outcome"] == "interrupted"]
        assert interrupted, f"{dev['id']} did not record {prio} as interrupted"
        assert interrupted[0]["interrupted_by"] == emer
        # The simulated speaker kept what it played: a real audio file.
        played = read_jsonl(Path(dev["data_dir"]) / "played" / "index.jsonl")
        files = [Path(dev["data_dir"]) / "played" / p["file"] for p in played if p["label"] == emer]
        assert files and files[0].stat().st_size > 1000

    # The hub stored the reports it received (proof of play).
    def hub_has_all() -> bool:
        r = demo.api("GET", "/plays", params={"bulletin": emer})
        rows = r.json() if isinstance(r.json(), list) else r.json().get("plays", [])
        return {p["device_id"] for p in rows} >= {d["id"] for d in demo.radios}

    wait_for(hub_has_all, 30, "the hub to hold every device's emergency play")


@pytest.mark.slow
def test_priority_waits_for_the_window_but_emergency_does_not(demo_noon: Demo) -> None:
    demo = demo_noon
    prio = demo.submit(title="Lịch cắt điện", priority="priority",
                       text="Điện lực thông báo lịch cắt điện ngày mai.")
    demo.approve(prio)
    # The compiled programme puts it in the evening window, not now.
    area = demo.radios[0]["area"]
    today = datetime.fromtimestamp(demo.demo_now(), parse_time("2026-01-01T00:00:00+07:00").tzinfo).date()
    r = demo.api("GET", "/programme", params={"area": area, "kind": "radio", "date": today.isoformat()})
    assert r.status_code == 200, r.text
    items = [i for i in r.json()["programme"] if i["bulletin_id"] == prio]
    assert items and items[0]["window"] == "17:00-18:30", r.json()
    # the demo's commune with its own hours (Art. 10.1): its evening window is its own
    own = demo.info["own_windows"]
    assert own == {"area": "68/24781", "kind": "radio", "windows": ["05:00-06:30", "17:30-19:00"]}
    params = {"area": own["area"], "kind": "radio", "date": today.isoformat()}
    r = demo.api("GET", "/programme", params=params)
    assert r.json()["windows"] == own["windows"], r.json()
    assert "Khung giờ riêng của Phường Xuân Hương - Đà Lạt" in r.json()["windows_source"]
    assert [i["window"] for i in r.json()["programme"] if i["bulletin_id"] == prio] == ["17:30-19:00"]

    emer = demo.submit(title="Cháy rừng", priority="emergency", text="Khẩn cấp: cháy rừng tại xã Lạc Dương.")
    t0 = demo.demo_now()
    demo.approve(emer)
    for dev in demo.radios:
        plays = wait_for(
            lambda d=dev: plays_of(d, emer),
            60, f"{dev['id']} to play the emergency at noon")
        assert ts(plays[0]["started_at"]) - t0 < 2.0
    # After the emergency, still outside the window: the amplifier goes off (relay_idle_off_s = 5 in the
    # demo) and the priority bulletin has not played anywhere.
    for dev in demo.radios:
        relay_log = Path(dev["data_dir"]) / "relay.jsonl"
        wait_for(lambda f=relay_log: read_jsonl(f) and read_jsonl(f)[-1]["on"] is False, 20,
                 f"{dev['id']} to switch its amplifier off")
        assert not plays_of(dev, prio)
        assert status(dev).get("now_playing") is None
    # Art. 8.3 in the demo: the chair of Xuân Hương - Đà Lạt set a standing choice (the province's normal
    # bulletins), so a province normal bulletin is in that commune's evening, and waits for a choice in the
    # others.
    normal = demo.submit(title="Hướng dẫn khai sinh trực tuyến", priority="normal",
                         text="Người dân có thể đăng ký khai sinh trực tuyến.")
    demo.approve(normal)
    r = demo.api("GET", "/programme/standing", params={"area": "68/24781"})
    assert r.status_code == 200 and {"origin": "province", "kind": "radio"} in r.json()["rules"], r.text
    audit = demo.api("GET", "/audit", params={"action": "programme.standing"}).json()
    assert [a["username"] for a in audit["entries"]] == ["chutich.xuanhuong"], audit
    for commune, airs in (("68/24781", True), ("68/24778", False)):
        params = {"area": commune, "kind": "radio", "date": today.isoformat()}
        r = demo.api("GET", "/programme", params=params)
        assert r.status_code == 200, r.text
        assert (normal in {i["bulletin_id"] for i in r.json()["programme"]}) is airs, (commune, r.json())
