"""`python -m hub check`: an operator's check of a hub installation, in Vietnamese; it changes no data.

Config, database (reachable, schema up to date), signing key (present, private, its public key for the
devices' config), broker (reachable; its TLS certificate verified when `mqtt.tls`), the stream server of
live announcements when `stream.enabled` (source password file private, Icecast answering), speech tools
(espeak-ng with a Vietnamese voice, ffmpeg, ffprobe), the installed neural voices, the disks of the
database, media and speech cache (free MB, % used), and whether a hub is running for this database. Exit 0
when every check passes, 1 otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from alembic.script import ScriptDirectory

from hub.config import HubConfig
from hub.db import Database, alembic_config, current_revision
from hub.singleton import HubAlreadyRunning, PublisherLock
from protocol.checklist import Line, probe_broker, report
from protocol.keys import KeyPair

DISK_LOW_MB = 2048  # audio, images and video of a province's bulletins, and the SQLite file
DISK_FULL_PCT = 90  # above this a disk of the database, media or speech cache is reported


def _database(cfg: HubConfig) -> tuple[list[Line], Database | None]:
    kind = "PostgreSQL" if cfg.database_url.startswith("postgresql") else "SQLite"
    if kind == "SQLite":
        path = Path(cfg.database_url.removeprefix("sqlite:///"))
        if not path.exists():  # connecting would create it: say so instead
            return [Line(False, "Cơ sở dữ liệu", f"SQLite: chưa có {path}; chạy python -m hub migrate")], None
    try:
        db = Database(cfg.database_url)
        have = current_revision(db.engine)
    except Exception as exc:
        return [
            Line(False, "Cơ sở dữ liệu", f"{kind}: không kết nối được ({exc.__class__.__name__}: {exc})")
        ], None
    head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
    if have is None:
        return [Line(False, "Cơ sở dữ liệu", f"{kind}: chưa có bảng nào; chạy python -m hub migrate")], db
    if have != head:
        return [
            Line(False, "Cơ sở dữ liệu", f"{kind}: phiên bản {have}, cần {head}; chạy python -m hub migrate")
        ], db
    return [Line(True, "Cơ sở dữ liệu", f"{kind}, phiên bản {have} (mới nhất)")], db


def _key(cfg: HubConfig) -> Line:
    path = cfg.signing_key_path
    if not path.exists():
        return Line(None, "Khóa ký", f"chưa có ({path}): hub tạo khi chạy lần đầu")
    if path.stat().st_mode & 0o077:
        return Line(False, "Khóa ký", f"{path} đọc được bởi người khác; chạy chmod 600 {path}")
    try:
        public = KeyPair.load_or_create(path).public_b64
    except (OSError, ValueError) as exc:
        return Line(False, "Khóa ký", f"{path} không đọc được: {exc}")
    return Line(True, "Khóa ký", f"{path}; khóa công khai cho cấu hình thiết bị: {public}")


def _brokers(cfg: HubConfig) -> list[Line]:
    """Each broker (mqtt.brokers, or the one host:port): with two, one down is worth knowing in advance."""
    m = cfg.mqtt
    if not m.enabled:
        return [Line(None, "Máy chủ MQTT", "tắt trong cấu hình (mqtt.enabled = false): hub không phát gì")]
    hint = "Mosquitto đã chạy chưa?"
    return [probe_broker(h, p, tls=m.tls, ca_file=m.ca_file, unreachable_hint=hint) for h, p in m.endpoints]


def _writable(path: Path) -> bool:
    """The hub can replace this file: its directory exists (or can be made) and is writable."""
    folder = path.parent if path.parent.exists() else path.parent.parent
    return folder.is_dir() and os.access(folder, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))


def _broker_files(cfg: HubConfig) -> list[Line]:
    """Managed broker files ([broker_files]): each broker's files writable, its Mosquitto's pid file there."""
    what = "Tệp của máy chủ MQTT"
    if not cfg.broker_files.enabled:
        return [Line(None, what, "hub không tự cập nhật ([broker_files] trống): chạy python -m hub broker "
                     "acl sau mỗi lần thêm hoặc chuyển thiết bị")]
    out = []
    for b in cfg.broker_files.brokers:
        bad = [p for p in (b.acl, b.password_file) if p and not _writable(Path(p))]
        how = " ".join(b.reload_command) or f"SIGHUP ({b.pid_file})"
        if bad:
            out.append(Line(False, what, f"hub không ghi được {', '.join(bad)} (quyền của thư mục hoặc tệp)"))
        elif b.pid_file and not Path(b.pid_file).is_file():
            out.append(Line(False, what, f"{b.acl}: chưa có {b.pid_file} (Mosquitto chưa chạy?)"))
        else:
            out.append(Line(True, what, f"{b.acl}: ghi được, nạp lại bằng {how}"))
    return out


def _stream(cfg: HubConfig, *, network: bool) -> Line:
    """The stream server of live announcements: its source password file, and (network) that it answers."""
    s = cfg.stream
    what = "Phát trực tiếp"
    if not s.enabled:
        return Line(None, what, "tắt (stream.enabled = false): không phát trực tiếp từ micrô")
    path = Path(s.source_password_file) if s.source_password_file else None
    if path is None or not path.is_file():
        return Line(False, what, "thiếu stream.source_password_file: chạy python -m hub stream conf")
    if path.stat().st_mode & 0o077:
        return Line(False, what, f"{path} đọc được bởi người khác; chạy chmod 600 {path}")
    if not network:
        return Line(True, what, f"mật khẩu nguồn {path}")
    try:
        with socket.create_connection((s.host, s.port), timeout=3.0):
            return Line(True, what, f"Icecast {s.host}:{s.port} trả lời")
    except OSError as exc:
        where = f"{s.host}:{s.port}"
        return Line(False, what, f"Icecast {where} không kết nối được ({exc}): icecast2 đã chạy chưa?")


def _tools() -> list[Line]:
    lines = []
    for tool, why in (("ffmpeg", "chuẩn hóa âm lượng, mã hóa"), ("ffprobe", "kiểm tra tệp tải lên")):
        found = shutil.which(tool)
        lines.append(Line(bool(found), tool, found or f"chưa cài ({why}): apt-get install ffmpeg"))
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        lines.append(Line(False, "espeak-ng", "chưa cài (đọc văn bản tiếng Việt): apt-get install espeak-ng"))
        return lines
    try:
        voices = subprocess.run(
            [espeak, "--voices=vi"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        voices = f"error {exc}"
    has_vi = any(len(row.split()) > 1 and row.split()[1].startswith("vi") for row in voices.splitlines()[1:])
    lines.append(
        Line(
            has_vi, "espeak-ng", f"{espeak}, có giọng tiếng Việt" if has_vi else f"{espeak} thiếu giọng 'vi'"
        )
    )
    return lines


def _voices(cfg: HubConfig) -> Line:
    """The installed Piper voices (informational when none: espeak-ng speaks) and [tts] neural_voice."""
    from tts.voices import MODEL, VoiceStore  # noqa: PLC0415 - the check only; tts stays out of the CLI's start

    store = VoiceStore(cfg.voices_dir)
    voices = store.list()
    wanted = cfg.tts.neural_voice
    if not voices:
        hint = f"; [tts] neural_voice = '{wanted}' chưa cài" if wanted else ""
        return Line(False if wanted else None, "Giọng đọc",
                    f"chưa cài giọng Piper nào trong {store.directory} (đọc bằng espeak-ng){hint}; "
                    "cài: python -m tts voice add TỆP.onnx --voices-dir " + str(store.directory))
    broken = [v.id for v in voices if not (store.directory / v.id / MODEL).is_file()]
    try:
        import onnxruntime  # type: ignore[import-untyped]  # noqa: F401, PLC0415 - can the voices run here

        runtime = ""
    except ImportError:
        runtime = "thiếu gói onnxruntime (pip install onnxruntime)"
    missing = wanted if wanted and wanted not in {v.id for v in voices} else ""
    problems = [p for p in (runtime, f"thiếu tệp mô hình: {', '.join(broken)}" if broken else "",
                            f"[tts] neural_voice '{missing}' chưa cài" if missing else "") if p]
    names = ", ".join(v.label for v in voices)
    return Line(not problems, "Giọng đọc", f"{len(voices)} giọng Piper: {names}"
                + (f"; {'; '.join(problems)}" if problems else ""))


class DiskUsage(Protocol):
    """What shutil.disk_usage says of a disk (bytes)."""

    @property
    def total(self) -> int: ...
    @property
    def free(self) -> int: ...


def _existing(path: Path) -> Path:
    """`path`, or its nearest ancestor that exists (what will hold it)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _disk(cfg: HubConfig, usage: Callable[[Path], DiskUsage] = shutil.disk_usage) -> list[Line]:
    """One line per disk holding the database (SQLite), the media or the speech cache: a failure under
    DISK_LOW_MB free or above DISK_FULL_PCT used (a full disk stops the database)."""
    places = [cfg.data_dir, cfg.media_dir, cfg.tts_cache_dir]
    if cfg.database_url.startswith("sqlite:///"):
        places.append(Path(cfg.database_url.removeprefix("sqlite:///")).parent)
    disks: dict[int, list[Path]] = {}
    for place in places:
        held = _existing(place)
        try:
            disks.setdefault(held.stat().st_dev, []).append(held)
        except OSError as exc:
            return [Line(False, "Dung lượng đĩa", f"{place}: {exc}")]
    lines = []
    for on_disk in disks.values():
        where = min(on_disk, key=lambda p: len(p.parts))
        try:
            du = usage(where)
        except OSError as exc:
            lines.append(Line(False, "Dung lượng đĩa", f"{where}: {exc}"))
            continue
        free = du.free // (1024 * 1024)
        pct = round(100 * (du.total - du.free) / du.total) if du.total else 100
        problems = ([f"dưới {DISK_LOW_MB} MB"] if free < DISK_LOW_MB else []) + (
            [f"trên {DISK_FULL_PCT} %: hãy dọn hoặc mở rộng đĩa trước khi cơ sở dữ liệu dừng vì đầy đĩa"]
            if pct > DISK_FULL_PCT else [])
        lines.append(Line(not problems, "Dung lượng đĩa",
                          f"{where}: còn {free} MB, đã dùng {pct} %"
                          + (f" ({'; '.join(problems)})" if problems else "")))
    return lines


def _running(db: Database | None) -> Line | None:
    if db is None:
        return None
    lock = PublisherLock(db)
    try:
        lock.acquire()
    except HubAlreadyRunning as exc:
        return Line(None, "Hub", f"đang chạy và phát cho cơ sở dữ liệu này (pid {exc.holder or '?'})")
    lock.release()
    return Line(None, "Hub", "không có hub nào đang chạy cho cơ sở dữ liệu này")


def run_check(cfg: HubConfig, *, config: str | None = None, network: bool = True) -> tuple[str, bool]:
    where = f"hợp lệ ({config})" if config else "hợp lệ (mặc định và biến NGUON_HUB_*)"
    lines = [Line(True, "Cấu hình", where)]
    db_lines, db = _database(cfg)
    lines += db_lines
    try:
        lines.append(_key(cfg))
        if network:
            lines += _brokers(cfg)
        lines += _broker_files(cfg)
        lines.append(_stream(cfg, network=network))
        lines += _tools()
        lines.append(_voices(cfg))
        lines += _disk(cfg)
        running = _running(db)
        if running is not None:
            lines.append(running)
    finally:
        if db is not None:
            db.dispose()
    return report(f"nguon hub: kiểm tra cài đặt ({cfg.data_dir})", lines)
