"""`python -m hub check`: an operator's read-only check of a hub installation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from hub.check import _disk
from hub.config import build_config
from hub.db import Database
from hub.mosquitto import MosquittoProcess
from hub.singleton import PublisherLock
from protocol.keys import KeyPair
from tests.tts import tiny_voice
from tts.voices import VoiceStore

ROOT = Path(__file__).resolve().parents[2]


def _toml(tmp: Path, broker: MosquittoProcess) -> Path:
    conf = tmp / "hub.toml"
    conf.write_text(
        f'data_dir = "{tmp / "hub"}"\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n',
        encoding="utf-8",
    )
    return conf


def _check(conf: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGUON_")}
    return subprocess.run(
        [sys.executable, "-m", "hub", "--config", str(conf), "check", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_a_fresh_install_says_what_to_do_then_passes(tmp_path: Path, broker: MosquittoProcess) -> None:
    conf = _toml(tmp_path, broker)
    out = _check(conf)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "[LỖI] Cơ sở dữ liệu: SQLite: chưa có" in out.stdout and "chạy python -m hub migrate" in out.stdout
    assert not (tmp_path / "hub" / "hub.sqlite3").exists()  # the check created nothing
    assert "[ -- ] Khóa ký: chưa có" in out.stdout
    assert f"[ OK ] Máy chủ MQTT: {broker.host}:{broker.port} trả lời" in out.stdout
    assert "[ OK ] espeak-ng:" in out.stdout and "có giọng tiếng Việt" in out.stdout
    assert "[ -- ] Giọng đọc: chưa cài giọng Piper nào" in out.stdout

    cfg = build_config({"data_dir": str(tmp_path / "hub")}, environ={})
    db = Database(cfg.database_url)
    db.migrate()
    key = KeyPair.load_or_create(cfg.signing_key_path)
    cfg.signing_key_path.chmod(0o600)
    lock = PublisherLock(db)
    lock.acquire()  # as a running hub holds it
    try:
        out = _check(conf)
    finally:
        lock.release()
        db.dispose()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[ OK ] Cơ sở dữ liệu: SQLite, phiên bản" in out.stdout and "(mới nhất)" in out.stdout
    assert f"khóa công khai cho cấu hình thiết bị: {key.public_b64}" in out.stdout
    assert f"[ -- ] Hub: đang chạy và phát cho cơ sở dữ liệu này (pid {os.getpid()})" in out.stdout
    assert out.stdout.rstrip().endswith("Tất cả đều ổn.")
    assert f"[ OK ] Dung lượng đĩa: {_disk_root(tmp_path)}: còn " in out.stdout and "đã dùng" in out.stdout
    store = VoiceStore(cfg.voices_dir)
    store.add(tiny_voice.write(tmp_path / "voice"), name="Giọng thử", region="north")
    (cfg.voices_dir / "vi_VN-tiny-x_low" / "model.onnx").unlink()
    out = _check(conf, "--no-network")
    assert "[LỖI] Giọng đọc: 1 giọng Piper: Giọng thử (miền Bắc); thiếu tệp mô hình: vi_VN-tiny-x_low" \
        in out.stdout, out.stdout

    cfg.signing_key_path.chmod(0o644)
    out = _check(conf, "--no-network")
    assert out.returncode == 1 and "chmod 600" in out.stdout and "Máy chủ MQTT" not in out.stdout


class Usage(NamedTuple):
    total: int
    used: int
    free: int


def _disk_root(tmp: Path) -> Path:
    return tmp / "hub" if (tmp / "hub").exists() else tmp


def test_a_disk_above_90_percent_or_under_2_gb_free_is_reported(tmp_path: Path) -> None:
    """The thresholds (a real disk cannot be filled in a test): the usage function is the only stand-in."""
    cfg = build_config({"data_dir": str(tmp_path / "hub")}, environ={})
    gb = 1024**3

    def lines(total: int, free: int) -> list[tuple[bool | None, str]]:
        return [(x.ok, x.detail) for x in _disk(cfg, lambda _p: Usage(total, total - free, free))]

    assert lines(100 * gb, 50 * gb) == [(True, f"{tmp_path}: còn 51200 MB, đã dùng 50 %")]
    [(ok, detail)] = lines(100 * gb, 8 * gb)  # 92 % used: the database stops when it is full
    assert ok is False and "đã dùng 92 % (trên 90 %" in detail
    [(ok, detail)] = lines(10 * gb, gb // 2)
    assert ok is False and "dưới 2048 MB; trên 90 %" in detail
    (tmp_path / "hub").mkdir()
    assert [ok for ok, _ in lines(100 * gb, 50 * gb)] == [True]  # data, media and cache: one disk, one line


def test_managed_broker_files_are_checked(tmp_path: Path) -> None:
    from hub.check import run_check  # noqa: PLC0415

    (tmp_path / "mq").mkdir()
    (tmp_path / "mq" / "mosquitto.pid").write_text("1\n")
    good = {"acl": str(tmp_path / "mq" / "acl"), "password_file": str(tmp_path / "mq" / "passwd"),
            "pid_file": str(tmp_path / "mq" / "mosquitto.pid")}
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    bad = {"acl": str(blocked / "sub" / "acl"), "reload_command": ["true"]}
    files = {"brokers": [good, bad]}
    cfg = build_config({"data_dir": str(tmp_path / "hub"), "broker_files": files}, environ={})
    text, ok = run_check(cfg, network=False)
    assert f"[ OK ] Tệp của máy chủ MQTT: {good['acl']}: ghi được, nạp lại bằng SIGHUP" in text, text
    assert f"[LỖI] Tệp của máy chủ MQTT: hub không ghi được {bad['acl']}" in text and not ok
    text, _ = run_check(build_config({"data_dir": str(tmp_path / "hub")}, environ={}), network=False)
    assert "hub không tự cập nhật ([broker_files] trống)" in text
