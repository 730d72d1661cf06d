"""`python -m hub demo`: the whole system on one machine, with simulated loudspeakers and an LED board.

Starts a private Mosquitto, the hub (HTTP + MQTT), imports a real province of today's two-tier map
(Lâm Đồng, code 68, with its 124 communes, from the official list: hub/services/official.py), seeds
accounts and bulletins through the REST API, and runs `--agents N` radio agents and one LED agent as
separate processes with simulated hardware. Writes `<data-dir>/demo.json`; Ctrl-C stops every process
it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from hub.broker import PasswordFile, acl_text, new_secret, read_password_lines, write_private
from hub.config import ConfigError, HubConfig, build_config
from hub.icecast import IcecastProcess
from hub.mosquitto import MosquittoProcess, free_port
from protocol.clock import LOCAL_TZ, ShiftedClock

if TYPE_CHECKING:
    from hub.services import Services

log = logging.getLogger("hub.demo")
# The province of the demo (Lâm Đồng, which absorbed Đắk Nông and Bình Thuận on 1 July 2025) and the
# communes that get simulated devices, in order (a handful: the demo starts in seconds).
PROVINCE = "68"
DEVICE_COMMUNES = ("68/24778", "68/24781", "68/24611", "68/24848", "68/23272")
MARKER = "demo.json"

# Art. 10.1: a commune with its own hours (the demo chair's; mornings as the default, so the demo's
# 05:00 start still plays everywhere), shown on the chair's programme screen.
OWN_WINDOWS = ("68/24781", "radio", ("05:00-06:30", "17:30-19:00"))

# Decree 49/2024: local languages of two demo communes (Lạc Dương: K'Ho, one name of Cơ Ho; Bắc Gia Nghĩa:
# M'Nông); a bulletin with a recording in one of them plays it there after the Vietnamese.
DEMO_LANGUAGES = (("68/24848", [{"code": "kpm", "name": "K'Ho"}]), ("68/24611", ["cmo"]))

# Demo accounts besides admin: (username, role, area, what they show).
DEMO_USERS = (
    ("bientap.tinh", "editor", "68", "Ban biên tập tỉnh Lâm Đồng"),
    ("kiemduyet", "reviewer", "68", "Người kiểm duyệt (Sở Khoa học và Công nghệ)"),
    ("bientap.bacgianghia", "editor", "68/24611", "Ban biên tập UBND Phường Bắc Gia Nghĩa"),
    ("chutich.xuanhuong", "commune_chair", "68/24781", "Chủ tịch UBND Phường Xuân Hương - Đà Lạt"),
    ("vanhanh", "operator", "68", "Vận hành thiết bị (Trung tâm Dữ liệu)"),
)


@dataclass(frozen=True)
class DemoDevice:
    id: str
    kind: str
    area: str
    data_dir: Path
    config_path: Path
    player_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "area": self.area,
                               "data_dir": str(self.data_dir)}
        if self.player_url:
            out["player_url"] = self.player_url
        return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m hub demo",
                                description="Chạy thử toàn bộ hệ thống trên một máy")
    p.add_argument("--agents", type=int, default=3, help="number of simulated loudspeaker agents (default 3)")
    p.add_argument("--led", type=int, default=1, help="number of simulated LED boards (default 1)")
    p.add_argument("--start-at", metavar="HH:MM", help="shift the clock of hub and agents to this local time")
    p.add_argument("--http-port", type=int, default=8080, help="hub HTTP port (default 8080; 0 = free port)")
    p.add_argument("--data-dir", default="var/demo", help="where everything is written (default var/demo)")
    p.add_argument("--no-samples", action="store_true", help="do not create the sample bulletins")
    p.add_argument("--sim-speed", type=float, default=1.0, help="simulated audio speed (1.0 = real time)")
    args = p.parse_args(argv)
    if args.agents < 0 or args.agents > 200:
        p.error("--agents must be between 0 and 200 (each agent is a separate process)")
    if args.start_at:
        try:
            ShiftedClock.at_local(args.start_at)
        except ValueError as exc:
            p.error(str(exc))
    return args


def prepare_data_dir(path: Path) -> Path:
    """A fresh directory; an earlier demo's directory is cleared, anything else is refused."""
    path = path.resolve()
    if any(c.isspace() or c == "#" for c in str(path)):
        raise SystemExit(f"error: {path}: Mosquitto's config cannot name a path with spaces or '#'; "
                         "choose another --data-dir")
    if path.exists() and any(path.iterdir()):
        if not (path / MARKER).exists() and not (path / "hub").exists():
            raise SystemExit(f"error: {path} exists and is not a demo directory; choose another --data-dir")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_password() -> str:
    # Random, long and of mixed classes, so the hub's password policy accepts it.
    return f"Ng-{secrets.token_urlsafe(12)}-7"


def assign_devices(communes: list[str], radios: int, leds: int, data_dir: Path) -> list[DemoDevice]:
    devices: list[DemoDevice] = []
    for i in range(radios):
        area = communes[i % len(communes)]
        dev_id = f"loa-{area.rsplit('/', 1)[-1]}-{i // len(communes) + 1}"
        devices.append(DemoDevice(dev_id, "radio", area, data_dir / "agents" / dev_id,
                                  data_dir / "agents" / dev_id / "agent.toml"))
    for i in range(leds):
        area = communes[(i + 1) % len(communes)] if len(communes) > 1 else communes[0]
        dev_id = f"bang-{area.rsplit('/', 1)[-1]}-{i + 1}"
        port = free_port()
        devices.append(DemoDevice(dev_id, "led", area, data_dir / "agents" / dev_id,
                                  data_dir / "agents" / dev_id / "agent.toml", f"http://127.0.0.1:{port}/"))
    return devices


def agent_toml(dev: DemoDevice, *, hub_url: str, public_key: str, mqtt_port: int, offset_s: float,
               sim_speed: float) -> str:
    lines = [
        f'device_id = "{dev.id}"', f'kind = "{dev.kind}"', f'area = "{dev.area}"',
        f'data_dir = "{dev.data_dir}"', f'hub_url = "{hub_url}"', f'hub_public_keys = ["{public_key}"]',
        f"clock_offset_s = {offset_s:.3f}",
        # The demo's simulated devices share the host clock (shifted like the hub's): trust it.
        'clock_trust = "always"', "heartbeat_s = 15", "",
        "[mqtt]", 'host = "127.0.0.1"', f"port = {mqtt_port}", f'username = "{dev.id}"',
        f'password_file = "{dev.data_dir / "mqtt_password"}"', "",
        "[hardware]", 'mode = "sim"', f"sim_speed = {sim_speed}", "relay_lead_s = 1.0",
        "relay_idle_off_s = 5.0",
    ]
    if dev.kind == "led" and dev.player_url:
        port = int(dev.player_url.rstrip("/").rsplit(":", 1)[1])
        lines += ["", "[led]", "width = 384", "height = 192", 'http_host = "127.0.0.1"',
                  f"http_port = {port}"]
    return "\n".join(lines) + "\n"


# The chair of Xuân Hương - Đà Lạt takes the province's normal bulletins without choosing each one
# (Art. 8.3): the sample normal bulletin airs there at once, and waits for a choice in the other communes.
DEMO_STANDING = ("chutich.xuanhuong", ["province"], ["radio", "led"])


def set_demo_standing_choice(services: Services) -> None:
    """The demo chair's standing rule, set as the chair (audited like one set on the screen)."""
    from sqlalchemy import select  # noqa: PLC0415

    from hub.models import User  # noqa: PLC0415
    from hub.services.accounts import actor_for  # noqa: PLC0415

    username, origins, kinds = DEMO_STANDING
    with services.ctx.db.session() as sess:
        user = sess.scalar(select(User).where(User.username == username))
        assert user is not None, username
        chair = actor_for(user)
    assert chair.area_path is not None
    services.choices.set_standing(chair, area=chair.area_path, origins=origins, kinds=kinds)


SAMPLES: tuple[dict[str, Any], ...] = (
    {"title": "Thông báo lịch tiêm chủng mở rộng tháng 11",
     "priority": "priority", "form": "text", "targets": ["68"], "kinds": ["radio", "led"],
     "text": "UBND tỉnh thông báo: từ ngày 25/11/2026, các trạm y tế xã tổ chức tiêm chủng mở rộng cho trẻ "
             "dưới 5 tuổi, từ 7h30 đến 11h00 các ngày thứ 3 và thứ 5. "
             "Đề nghị phụ huynh đưa trẻ đến đúng giờ."},
    {"title": "Phòng chống cháy rừng mùa khô",
     "priority": "priority", "form": "text", "targets": ["68/24611", "68/24615", "68/24617"],
     "kinds": ["radio", "led"],
     "text": "Ban chỉ huy phòng cháy chữa cháy rừng các phường Gia Nghĩa nhắc nhở người dân: "
             "mùa khô năm nay nguy cơ cháy rừng ở cấp 4. Không đốt nương rẫy khi trời nắng gió; "
             "phát hiện cháy gọi ngay 114."},
    {"title": "Hướng dẫn đăng ký khai sinh trực tuyến",
     "priority": "normal", "form": "text", "targets": ["68"], "kinds": ["radio", "led"],
     "text": "Người dân có thể đăng ký khai sinh trực tuyến trên Cổng dịch vụ công quốc gia, "
             "nhận kết quả tại UBND xã trong 1 ngày làm việc."},
)


async def seed_bulletins(base: str, author: tuple[str, str], approver: tuple[str, str]) -> list[str]:
    """Create the sample bulletins through the REST API as the province's editor would, and have another
    person approve them: the author of a province bulletin may not approve it (config review.self_approve)."""
    ids: list[str] = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        headers: dict[str, dict[str, str]] = {}
        for username, password in (author, approver):
            login = {"username": username, "password": password}
            async with http.post(f"{base}/api/v1/auth/login", json=login) as r:
                r.raise_for_status()
                headers[username] = {"Authorization": f"Bearer {(await r.json())['token']}"}
        for sample in SAMPLES:
            async with http.post(f"{base}/api/v1/bulletins", json=sample, headers=headers[author[0]]) as r:
                body = await r.json()
                if r.status != 201:
                    log.warning("sample bulletin %r refused: %s", sample["title"], body)
                    continue
            url = f"{base}/api/v1/bulletins/{body['id']}/approve"
            async with http.post(url, headers=headers[approver[0]]) as r:
                if r.status >= 300:
                    log.warning("sample bulletin %s not approved: %s", body["id"], await r.text())
                    continue
            ids.append(body["id"])
    return ids


def secure_broker(broker: MosquittoProcess, hub_secret: Path) -> None:
    """The hub's account (its own file: the hub's listener knows no device), and the devices' password file
    and ACL with no device yet: the hub keeps them ([broker_files]) as devices are registered."""
    assert broker.password_file is not None and broker.acl_file is not None
    assert broker.hub_password_file is not None
    hub_passwords = PasswordFile(broker.hub_password_file)
    secret = new_secret()
    hub_passwords.set("hub", secret)
    hub_passwords.save()
    write_private(hub_secret, secret + "\n")
    write_private(broker.password_file, "")
    write_private(broker.acl_file, acl_text([]))


async def broker_knows(password_file: Path, ids: list[str], timeout_s: float = 10.0) -> None:
    """Wait until the hub wrote every device into the broker's password file (it reloads it just after)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not set(ids) <= set(read_password_lines(password_file)):
        if asyncio.get_running_loop().time() > deadline:
            log.warning("the broker files do not list every demo device yet: see /healthz")
            return
        await asyncio.sleep(0.1)


def spawn_agent(dev: DemoDevice) -> subprocess.Popen[bytes]:
    logf = (dev.data_dir / "agent.log").open("ab")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "edge_agent", "run", "--config", str(dev.config_path)],
                            stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop_processes(procs: list[subprocess.Popen[bytes]], timeout_s: float = 8.0) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


async def run(args: argparse.Namespace) -> int:  # noqa: PLR0915 - the demo's start-up, step by step
    data_dir = prepare_data_dir(Path(args.data_dir))
    offset_s = ShiftedClock.at_local(args.start_at).offset_s if args.start_at else 0.0
    clock = ShiftedClock(offset_s)
    # The demo's broker is locked down like a province's (hub/broker.py): a listener for the hub, one for the
    # devices (client id = user name), an account per device, an ACL, size limits.
    broker_dir = data_dir / "mosquitto"
    broker = MosquittoProcess(broker_dir, port=free_port(), device_port=free_port(),
                              password_file=broker_dir / "passwd",
                              hub_password_file=broker_dir / "passwd-hub", acl_file=broker_dir / "acl")
    hub_secret = data_dir / "hub" / "mqtt_password"
    procs: list[subprocess.Popen[bytes]] = []
    # The stream server for live announcements (hub/icecast.py): generated passwords, every listener checked
    # by the hub, so the hub's HTTP port is known before it starts.
    http_port = args.http_port or free_port()
    icecast = IcecastProcess(data_dir / "icecast", port=free_port(),
                             auth_url=f"http://127.0.0.1:{http_port}/api/v1/stream/auth")
    try:
        icecast.start()
        stream: dict[str, object] = {"enabled": True, "host": icecast.host, "port": icecast.port,
                                     "source_password_file": str(icecast.source_password_file)}
    except (FileNotFoundError, RuntimeError, TimeoutError) as exc:
        log.warning("no live announcements in this demo: %s", exc)
        stream = {"enabled": False}
    try:
        cfg: HubConfig = build_config({
            "data_dir": str(data_dir / "hub"), "clock_offset_s": offset_s,
            "http": {"host": "127.0.0.1", "port": http_port},
            "mqtt": {"host": broker.host, "port": broker.port, "username": "hub",
                     "password_file": str(hub_secret)},
            "stream": stream,
            # the hub keeps the broker's accounts and ACL in step with the registry, SIGHUP to reload
            "broker_files": {"brokers": [{"acl": str(broker_dir / "acl"),
                                          "password_file": str(broker_dir / "passwd"),
                                          "pid_file": str(broker.pid_file)}]},
        })
        from hub.app import HubRuntime, build_services  # noqa: PLC0415
        from hub.roles import SYSTEM  # noqa: PLC0415
        from hub.services import official  # noqa: PLC0415
        from hub.speech import NoSpeech  # noqa: PLC0415
        from protocol.keys import public_key_b64  # noqa: PLC0415

        admin_pw = os.environ.get("NGUON_ADMIN_PASSWORD") or demo_password()
        accounts: list[tuple[str, str, str | None, str, str]] = [
            ("admin", "admin", None, "Quản trị hệ thống", admin_pw)
        ]
        accounts += [(u, r, a, label, demo_password()) for (u, r, a, label) in DEMO_USERS]

        def seed() -> tuple[list[str], str]:
            services = build_services(cfg, speech=NoSpeech())
            tree = official.official_tree(PROVINCE)
            services.areas.import_tree(tree, SYSTEM, source=official.data_version())
            for username, role, area, _label, pw in accounts:
                services.accounts.create_user(SYSTEM, username=username, password=pw, role=role, area=area)
            area, kind, windows = OWN_WINDOWS
            services.windows.set_rule(SYSTEM, area=area, kind=kind, windows=list(windows),
                                      effective_from=services.ctx.local_now().date())
            set_demo_standing_choice(services)
            for area, langs in DEMO_LANGUAGES:
                services.languages.set(SYSTEM, area, langs)
            communes = [c for c in DEVICE_COMMUNES if c in set(services.areas.leaves())]
            key = public_key_b64(services.envelopes.key.public)
            services.ctx.db.dispose()
            return communes, key

        communes, public_key = await asyncio.to_thread(seed)
        devices = assign_devices(communes, args.agents, args.led, data_dir)
        secure_broker(broker, hub_secret)
        broker.start()

        async with HubRuntime(cfg, clock=clock) as hub:
            def register() -> None:
                assert hub.services is not None
                for dev in devices:
                    out = hub.services.devices.register(SYSTEM, device_id=dev.id, kind=dev.kind,
                                                        area=dev.area)
                    write_private(dev.data_dir / "mqtt_password", out["broker_password"] + "\n")

            await asyncio.to_thread(register)
            await broker_knows(broker_dir / "passwd", [d.id for d in devices])
            for dev in devices:
                dev.data_dir.mkdir(parents=True, exist_ok=True)
                dev.config_path.write_text(agent_toml(dev, hub_url=hub.url, public_key=public_key,
                                                      mqtt_port=broker.device_port, offset_s=offset_s,
                                                      sim_speed=args.sim_speed), encoding="utf-8")
                procs.append(spawn_agent(dev))
            editor = next((u, pw) for u, r, a, _label, pw in accounts if r == "editor" and a == PROVINCE)
            sample_ids = [] if args.no_samples else await seed_bulletins(hub.url, editor, ("admin", admin_pw))

            info = {"http_url": hub.url, "mqtt_host": broker.host, "mqtt_port": broker.port,
                    "mqtt_device_port": broker.device_port,
                    "mqtt_username": "hub", "mqtt_password_file": str(hub_secret),
                    "stream_url": icecast.url if stream["enabled"] else None,
                    "clock_offset_s": offset_s, "devices": [d.to_json() for d in devices],
                    "sample_bulletins": sample_ids,
                    "own_windows": {"area": OWN_WINDOWS[0], "kind": OWN_WINDOWS[1],
                                    "windows": list(OWN_WINDOWS[2])}}
            tmp = data_dir / (MARKER + ".tmp")
            tmp.write_text(json.dumps(info, ensure_ascii=False, indent=2), encoding="utf-8")
            tmp.replace(data_dir / MARKER)
            creds = data_dir / "accounts.txt"
            creds.write_text("".join(f"{u}\t{pw}\t{r}\t{a or ''}\t{label}\n"
                                     for u, r, a, label, pw in accounts), encoding="utf-8")
            creds.chmod(0o600)
            print_banner(hub.url, clock, accounts, devices, data_dir, broker.port, broker.device_port)

            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=2.0)
                for dev, proc in zip(devices, procs, strict=True):
                    if proc.poll() is not None:
                        log.warning("agent %s exited with %s; restarting (see %s/agent.log)",
                                    dev.id, proc.returncode, dev.data_dir)
                        procs[procs.index(proc)] = spawn_agent(dev)
            print("\nĐang dừng: agents, hub, broker ...", flush=True)
            await asyncio.to_thread(stop_processes, procs)
    finally:
        stop_processes(procs)
        broker.stop()
        icecast.stop()
    return 0


def print_banner(  # noqa: PLR0917 - one call site, in run()
    url: str, clock: ShiftedClock, accounts: list[tuple[str, str, str | None, str, str]],
    devices: list[DemoDevice], data_dir: Path, mqtt_port: int, device_port: int,
) -> None:
    now = clock.now().astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
    print(f"\nnguon demo — HTTT nguồn đang chạy (giờ hệ thống demo: {now})", flush=True)
    print(f"  Giao diện web / API : {url}   (OpenAPI: {url}/api/v1/openapi.json)")
    print(f"  MQTT broker         : 127.0.0.1:{mqtt_port} (máy chủ), 127.0.0.1:{device_port} (thiết bị)")
    print("  Tài khoản (mật khẩu cũng ở accounts.txt):")
    for username, role, area, label, pw in accounts:
        print(f"    {username:<20} {pw:<24} {role:<14} {area or '':<14} {label}")
    area, kind, windows = OWN_WINDOWS
    print(f"  Khung giờ phát riêng: {area} ({kind}) {', '.join(windows)} — xem trên trang Chương trình phát "
          "của chutich.xuanhuong")
    print("  Thiết bị:")
    for d in devices:
        extra = f"  trang trình chiếu: {d.player_url}" if d.player_url else ""
        print(f"    {d.id:<18} {d.kind:<6} {d.area:<14} {d.data_dir}{extra}")
    if devices:
        print(
            "  Kiểm tra một thiết bị (như kỹ thuật viên tại chỗ): "
            f"{sys.executable} -m edge_agent check --config {devices[0].config_path}"
        )
    print(f"  Thông tin: {data_dir / MARKER}.  Nhấn Ctrl-C để dừng.\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import aiomqtt  # noqa: F401, PLC0415 - aiomqtt sets its logger's level on import; set ours after it

    logging.getLogger("mqtt").setLevel(logging.ERROR)  # it warns of queued publishes at every burst
    try:
        return asyncio.run(run(args))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
