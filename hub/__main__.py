"""`python -m hub serve|migrate|user|device|areas` (the demo is `python -m hub demo`, in hub/demo.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.config import ConfigError, HubConfig, load_config
from hub.errors import ServiceError
from hub.roles import ROLES, SYSTEM
from hub.singleton import HubAlreadyRunning
from protocol.vocabulary import DEVICE_KINDS

if TYPE_CHECKING:
    from hub.services import Services
    from hub.services.reorganise import Outcome


def _services(cfg: HubConfig) -> Services:
    from hub.app import build_services  # noqa: PLC0415
    from hub.speech import NoSpeech  # noqa: PLC0415

    return build_services(cfg, speech=NoSpeech())


def _read_password(args: argparse.Namespace) -> str | None:
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\n")
    return None


async def _serve(cfg: HubConfig) -> None:
    from hub import sdnotify, workers  # noqa: PLC0415
    from hub.app import HubRuntime  # noqa: PLC0415

    workers.serving()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with HubRuntime(cfg) as hub:
        brokers = ", ".join(f"{h}:{p}" for h, p in cfg.mqtt.endpoints)
        print(f"nguon hub: {hub.url} (MQTT {brokers}, {hub.role['role']})", flush=True)
        sdnotify.notify("READY=1")  # deploy/systemd/nguon-hub.service: Type=notify, WatchdogSec
        interval = sdnotify.watchdog_interval()
        waits: list[asyncio.Task[Any]] = [
            asyncio.create_task(stop.wait()), asyncio.create_task(hub.lost.wait())
        ]
        if interval is not None:  # a hung event loop stops these: systemd kills it, a standby takes over
            waits.append(asyncio.create_task(sdnotify.keep_alive(interval)))
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    if hub.lost.is_set():  # it may no longer hold the publisher lock: systemd starts it again (standby)
        raise SystemExit(3)


def agent_config(
    *,
    device_id: str,
    kind: str,
    area: str,
    hub_url: str,
    public_key: str,
    prefix: str,
    mqtt_host: str,
    mqtt_port: int,
    mqtt_tls: bool = False,
    mqtt_brokers: Sequence[str] = (),
) -> str:
    """The agent's TOML (edge_agent/config.py's format; docs/PI_INSTALL.md). `mqtt_brokers`: two brokers
    (["host:port", ...], docs/OPERATIONS.md) instead of the one host and port."""
    tls = (
        'tls = true\n# ca_file = "/etc/nguon/mqtt-ca.pem"   # the broker\'s CA if not in the system store\n'
        if mqtt_tls
        else "tls = false                    # true with a TLS listener (8883): docs/OPERATIONS.md\n"
    )
    where = (
        "brokers = [" + ", ".join(f'"{b}"' for b in mqtt_brokers) + "]"
        if mqtt_brokers
        else f'host = "{mqtt_host}"\nport = {mqtt_port}'
    )
    return (
        f'device_id = "{device_id}"\nkind = "{kind}"\narea = "{area}"\n'
        f'data_dir = "/var/lib/nguon-agent"\nhub_url = "{hub_url}"\n'
        f'hub_public_keys = ["{public_key}"]\ntopic_prefix = "{prefix}"\n'
        'clock_offset_s = 0.0\nclock_trust = "ntp"\nheartbeat_s = 30\n\n'
        f'[mqtt]\n{where}\nusername = "{device_id}"\n'
        f'password_file = "/etc/nguon-agent/mqtt_password"\n{tls}\n'
        '[hardware]\nmode = "real"\nvolume = 80\n'
    )


def _brokers_arg(given: list[str]) -> tuple[str, ...]:
    """--mqtt-broker values, checked as the agent will check them (a typo refused here, not on the Pi)."""
    from protocol.brokers import broker_list  # noqa: PLC0415

    try:
        broker_list(given, "", 0)
    except ValueError as exc:
        raise ConfigError(f"--mqtt-broker: {exc}") from None
    return tuple(b.strip() for b in given)


def _broker_conf(args: argparse.Namespace) -> str:
    from hub.broker import Listener, mosquitto_conf  # noqa: PLC0415

    etc = Path(args.dir)
    tls = not args.no_tls
    try:
        return mosquitto_conf(
            hub=Listener(
                args.hub_port,
                args.hub_host,
                certfile=str(etc / "certs" / "broker.pem") if args.hub_tls else "",
                keyfile=str(etc / "certs" / "broker.key") if args.hub_tls else "",
            ),
            devices=Listener(
                args.device_port,
                certfile=str(etc / "certs" / "broker.pem") if tls else "",
                keyfile=str(etc / "certs" / "broker.key") if tls else "",
            ),
            hub_password_file=etc / "passwd-hub",
            password_file=etc / "passwd",
            acl_file=etc / "acl",
        )
    except ValueError as exc:
        raise ConfigError(f"broker conf: {exc}") from None


def _stream_conf(args: argparse.Namespace) -> str:
    from hub.broker import new_secret, write_private  # noqa: PLC0415
    from hub.icecast import icecast_xml  # noqa: PLC0415

    source = new_secret()
    try:  # Debian's icecast2 service starts it as the icecast2 user itself: no changeowner
        text = icecast_xml(port=args.port, host=args.host, source_password=source,
                           admin_password=new_secret(), auth_url=args.auth_url,
                           logdir=Path("/var/log/icecast2"))
    except ValueError as exc:
        raise ConfigError(f"stream conf: {exc}") from None
    write_private(Path(args.secret), source + "\n")
    write_private(Path(args.output), text)
    return (f"wrote {args.output} and {args.secret} (mode 0600); give the icecast2 user read access to "
            f"{args.output} and restart icecast2")


def _broker(args: argparse.Namespace, cfg: HubConfig, s: Services) -> None:
    from hub.broker import DeviceGrant, PasswordFile, acl_text, new_secret, write_private  # noqa: PLC0415

    if args.bcmd == "sync":
        from hub.broker_sync import BrokerSync, ReloadFailed  # noqa: PLC0415

        if not cfg.broker_files.enabled:
            raise ConfigError("broker sync: [broker_files] lists no broker (docs/OPERATIONS.md)")
        sync = BrokerSync(cfg.broker_files, s.ctx.db, hub_user=cfg.mqtt.username or "hub",
                          prefix=cfg.mqtt.topic_prefix, tz=s.ctx.tz)
        try:
            print(f"{sync.sync_once()} broker(s) written and reloaded")
        except ReloadFailed as exc:
            raise ConfigError(f"broker sync: {exc}") from None
    elif args.bcmd == "acl":
        grants = [DeviceGrant(d["id"], d["kind"], d["area"]) for d in s.devices.list(SYSTEM)]
        try:
            text = acl_text(grants, hub_user=args.hub_user, prefix=cfg.mqtt.topic_prefix)
        except ValueError as exc:  # a device registered under the hub's name before such ids were refused
            raise ConfigError(str(exc)) from None
        outputs = [args.output] if isinstance(args.output, str) else list(args.output or [])
        for out in outputs:  # two brokers: the same ACL for each (docs/OPERATIONS.md)
            write_private(Path(out), text)
            print(f"{len(grants)} devices written to {out}; reload mosquitto (systemctl reload mosquitto)")
        if not outputs:
            print(text)
    else:
        pw = PasswordFile(Path(args.file))
        secret = new_secret()
        pw.set(args.user, secret)
        pw.save()
        print(secret)


def read_plan(path: Path) -> Any:
    """A reorganisation plan from a .toml or .json file."""
    if path.suffix == ".toml":
        import tomllib  # noqa: PLC0415

        try:
            return tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    raise ConfigError(f"{path}: a plan is a .toml or .json file")


def print_outcome(out: Outcome) -> None:
    """What a reorganisation changes, one line per step (the CLI's report)."""
    done = "Dry run — nothing changed" if out.dry_run else "Applied"
    print(f"{done}: {out.plan} (effective {out.effective})")
    for c in out.changes:
        new = ", ".join(f"{p} {n}" for p, n in zip(c["new"], c["new_names"], strict=True)) or "(retired)"
        print(f"  {c['change']:<7} {c['old']} {c['old_name']} -> {new}")
    for d in out.devices:
        print(f"  device  {d['id']}: {d['old']} -> {d['new']}")
    for a in out.accounts:
        print(f"  account {a['username']}: {a['old']} -> {a['new']}")
    print(f"  bulletins retargeted: {len(out.bulletins)}; rows followed: "
          + ", ".join(f"{k} {v}" for k, v in out.rows_followed.items() if v))
    print(f"  communes gone: {len(out.communes_before)}, new or moved: {len(out.communes_after)}")


def _reorganise(args: argparse.Namespace, cfg: HubConfig, s: Services) -> int:
    from hub.singleton import PublisherLock  # noqa: PLC0415

    plan = read_plan(Path(args.plan))
    lock = PublisherLock(s.ctx.db)
    try:
        lock.acquire()
    except HubAlreadyRunning as exc:
        raise HubAlreadyRunning(
            "the hub is running: apply the plan through it (POST /api/v1/areas/reorganise as an admin, "
            "docs/OPERATIONS.md), so that it republishes at once, or stop it first. " + str(exc)
        ) from None
    try:
        out = s.reorganisation.run(SYSTEM, plan, dry_run=args.dry_run)
    finally:
        lock.release()
    print_outcome(out)
    if args.dry_run:
        return 0
    if args.acl:
        _broker(argparse.Namespace(bcmd="acl", hub_user=args.hub_user, output=args.acl), cfg, s)
    print("Next: reload the broker (systemctl reload mosquitto) and start the hub: it republishes every "
          "programme and sends each moved device its new commune (set_area) when it connects.")
    return 0


def _backup_cmd(args: argparse.Namespace, cfg: HubConfig) -> int:
    from hub import backup as bk  # noqa: PLC0415

    try:
        if args.cmd == "backup":
            if args.keep is not None and args.keep < 1:
                raise bk.BackupError("--keep must be at least 1")
            res = bk.backup(cfg, passphrase_file=args.passphrase_file, keep=args.keep)
            print(
                f"backup {res.path}: database, signing key (encrypted), {res.media_files} media files "
                f"({res.media_bytes} bytes), {res.voices} voices ({res.linked} files linked to the previous "
                "backup)"
                + (f"; deleted {', '.join(res.deleted)}" if res.deleted else "")
            )
        elif args.check:
            manifest, key = bk.verify(Path(args.backup), bk.read_passphrase(cfg, args.passphrase_file))
            print(
                f"backup {args.backup} of {manifest['created_at']} is whole: {manifest['database']['kind']} "
                f"database, key {key.key_id}, {len(manifest['media'])} media files, "
                f"{len(bk.voice_ids(manifest.get('voices') or {}))} voices"
            )
        else:
            out = bk.restore(
                cfg, Path(args.backup), passphrase_file=args.passphrase_file, replace=args.replace
            )
            print(
                f"restored the backup of {out['created_at']}: key {out['key_id']}, {out['media_files']} "
                f"media files, voices: {', '.join(out['voices']) or 'none'}, sequence numbers continue "
                f"above {out['seq']}; "
                "start the hub and check it (python -m hub check)"
            )
    except bk.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _languages(args: argparse.Namespace, s: Services) -> int:
    """Show or set an area's local languages (Decree 49/2024); the hub republishes when it starts."""
    from hub.singleton import PublisherLock  # noqa: PLC0415

    if args.inherit or args.vie_only or args.codes:
        if sum((bool(args.inherit), bool(args.vie_only), bool(args.codes))) > 1:
            print("error: give codes, --inherit or --vie-only (one of them)", file=sys.stderr)
            return 2
        lock = PublisherLock(s.ctx.db)
        try:
            lock.acquire()
        except HubAlreadyRunning as exc:
            raise HubAlreadyRunning(
                "the hub is running: set the languages through it (the Tiếng dân tộc page, or PUT "
                "/api/v1/areas/languages as an admin) so that it republishes at once. " + str(exc)
            ) from None
        try:
            s.languages.set(SYSTEM, args.area, None if args.inherit else list(args.codes))
        finally:
            lock.release()
    v = s.languages.view(args.area)
    own = "as the unit above" if v["languages"] is None else "its own list"
    langs = ", ".join(f"{x['name']} ({x['code']})" for x in v["in_force"])
    print(f"{v['name']} ({args.area}): {langs} [{own}]")
    return 0


def _areas(args: argparse.Namespace, cfg: HubConfig, s: Services) -> int:
    from hub.services import official  # noqa: PLC0415

    if args.acmd == "reorganise":
        return _reorganise(args, cfg, s)
    if args.acmd == "languages":
        return _languages(args, s)
    if (args.file is None) == (args.official is None):
        print("error: give a JSON file or --official PROVINCE_CODE (one of them)", file=sys.stderr)
        return 2
    if args.official is not None:
        tree = official.official_tree(args.official)
        n = s.areas.import_tree(tree, SYSTEM, source=official.data_version())
        communes = len(tree["children"])
        print(f"{tree['name']}: {n} areas imported ({communes} communes, {official.data_version()})")
        return 0
    data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    n = s.areas.import_tree(data, SYSTEM)
    print(f"{n} areas imported")
    return 0


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0911, PLR0912, PLR0915 - one flat table of subcommands
    p = argparse.ArgumentParser(prog="python -m hub", description="nguon hub (HTTT nguồn)")
    p.add_argument("--config", help="TOML config file (NGUON_* env vars override)")
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve", help="run the hub")
    sp.add_argument("--http-port", type=int)
    sub.add_parser("migrate", help="bring the database schema up to date")
    ck = sub.add_parser("check", help="check this installation (changes nothing; exit 1 if something fails)")
    ck.add_argument("--no-network", action="store_true", help="do not probe the broker")
    sub.add_parser("demo", help="run the demo (hub/demo.py)", add_help=False)
    sub.add_parser("central", help="a reference central peer (hub/central/peer.py)", add_help=False)
    u = sub.add_parser("user", help="accounts")
    us = u.add_subparsers(dest="ucmd", required=True)
    ua = us.add_parser("add")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=ROLES)
    ua.add_argument("--area")
    ua.add_argument("--password-stdin", action="store_true", required=True)
    us.add_parser("disable").add_argument("name")
    ug = us.add_parser("set-group", help="put a reviewer in a reviewer group of [review] groups ('' = none)")
    ug.add_argument("name")
    ug.add_argument("group")
    ur = us.add_parser("reset-password")
    ur.add_argument("name")
    ur.add_argument("--password-stdin", action="store_true")
    d = sub.add_parser("device", help="devices")
    ds = d.add_subparsers(dest="dcmd", required=True)
    da = ds.add_parser("add")
    da.add_argument("id")
    da.add_argument("--kind", required=True, choices=DEVICE_KINDS)
    da.add_argument("--area", required=True)
    da.add_argument("--mqtt-host")
    da.add_argument("--mqtt-port", type=int)
    da.add_argument("--mqtt-broker", action="append", default=[], metavar="HOST:PORT",
                    help="one of several brokers the agent uses, in its order (repeat; instead of "
                    "--mqtt-host/--mqtt-port; docs/OPERATIONS.md, two brokers)")
    da.add_argument(
        "--mqtt-tls", action="store_true", help="the agent connects with TLS (default on port 8883)"
    )
    dsec = ds.add_parser("secret", help="a new broker password for the device, printed once (managed "
                         "broker files: the running hub updates the brokers within [broker_files] poll_s)")
    dsec.add_argument("id")
    ds.add_parser("remove", help="remove the device from the registry (managed broker files: its broker "
                  "account goes too)").add_argument("id")
    b = sub.add_parser("broker", help="Mosquitto accounts and ACL (hub/broker.py)")
    bs = b.add_subparsers(dest="bcmd", required=True)
    bs.add_parser("sync", help="write the [broker_files] from the registry now and reload the brokers")
    bacl = bs.add_parser("acl", help="write the ACL for every registered device")
    bacl.add_argument("-o", "--output", action="append", help="file to write (default: print); repeat it to "
                      "write the same ACL for each broker (e.g. a second broker's synced copy)")
    bacl.add_argument("--hub-user", default="hub")
    bconf = bs.add_parser("conf", help="print the listeners and limits for /etc/mosquitto/conf.d/nguon.conf")
    bconf.add_argument("--dir", default="/etc/mosquitto", help="where passwd, passwd-hub, acl, certs/ live")
    bconf.add_argument("--hub-host", default="127.0.0.1", help="the hub's listener address (default local)")
    bconf.add_argument("--hub-port", type=int, default=1883)
    bconf.add_argument("--device-port", type=int, default=8883)
    bconf.add_argument("--no-tls", action="store_true", help="devices' listener without TLS (tests only)")
    bconf.add_argument("--hub-tls", action="store_true", help="the hub's listener with TLS too (same "
                       "certificate): a broker on another machine than the hub (two brokers)")
    bpw = bs.add_parser("passwd", help="give USER a new random broker password in FILE; prints it once")
    bpw.add_argument("file")
    bpw.add_argument("user")
    st = sub.add_parser("stream", help="the stream server for live announcements (hub/icecast.py)")
    sts = st.add_subparsers(dest="scmd", required=True)
    sconf = sts.add_parser("conf", help="write a new icecast.xml with generated passwords, and the source "
                           "password file for [stream] source_password_file")
    sconf.add_argument("--output", default="/etc/icecast2/icecast.xml")
    sconf.add_argument("--secret", default="/etc/nguon/stream-source.secret")
    sconf.add_argument("--host", default="0.0.0.0", help="address Icecast listens on")  # noqa: S104
    sconf.add_argument("--port", type=int, default=8000)
    sconf.add_argument("--auth-url", required=True, help="the hub's URL of /api/v1/stream/auth")
    bk = sub.add_parser(
        "backup", help="back up the database, media, voices and signing key (docs/OPERATIONS.md)"
    )
    bk.add_argument("--passphrase-file", help="encrypts the key's copy (default backup.passphrase_file)")
    bk.add_argument("--keep", type=int, help="complete backups kept (default backup.keep)")
    rs = sub.add_parser("restore", help="restore a backup into this hub's database, media, voices and key")
    rs.add_argument("backup", help="a backup directory (<backup.dir>/nguon-...)")
    rs.add_argument("--passphrase-file", help="opens the key's copy (default backup.passphrase_file)")
    rs.add_argument("--check", action="store_true", help="only verify the backup; change nothing")
    rs.add_argument("--replace", action="store_true", help="replace a database and key that hold data")
    a = sub.add_parser("areas", help="area tree")
    aas = a.add_subparsers(dest="acmd", required=True)
    ai = aas.add_parser(
        "import", help="import an area tree: a JSON file, or a province of the official map (--official)"
    )
    ai.add_argument("file", nargs="?", help="JSON tree {code, name, level, type?, children[]}")
    ai.add_argument(
        "--official",
        metavar="PROVINCE_CODE",
        help="the province's communes from the official 2025 list (vietnam-provinces), e.g. 68 (Lâm Đồng)",
    )

    al = aas.add_parser("languages", help="show or set an area's local languages besides Vietnamese")
    al.add_argument("area", help="area path, e.g. 68 or 68/24847")
    al.add_argument("codes", nargs="*", help="e.g. rad cmo kpm (Ê Đê, M'Nông, Cơ Ho); none: show")
    al.add_argument("--inherit", action="store_true", help="use the unit above's languages")
    al.add_argument("--vie-only", action="store_true", help="Vietnamese only")

    ar = aas.add_parser(
        "reorganise", help="apply a reorganisation plan (TOML or JSON; docs/OPERATIONS.md) in one transaction"
    )
    ar.add_argument("plan", help="the plan file (.toml or .json)")
    ar.add_argument("--dry-run", action="store_true", help="print what would change, change nothing")
    ar.add_argument("--acl", metavar="FILE", help="write the broker ACL for the new map to FILE")
    ar.add_argument("--hub-user", default="hub", help="the hub's broker user in the ACL (default hub)")

    argv = sys.argv[1:] if argv is None else argv
    # `demo` is the command word at 0, or at 2 after `--config FILE`; only that word is dropped (a data
    # directory named "demo" is an argument like any other).
    at = 0 if argv[:1] == ["demo"] else 2 if argv[2:3] == ["demo"] else None
    if at is not None:
        from hub import demo  # noqa: PLC0415

        return int(demo.main(argv[:at] + argv[at + 1 :]) or 0)
    if argv[:1] == ["central"]:  # the central system's part: needs no hub config
        from hub.central import peer  # noqa: PLC0415

        return peer.main(argv[1:])
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        cfg = load_config(args.config)
        if args.cmd == "serve":
            if args.http_port is not None:
                cfg = cfg.model_copy(update={"http": cfg.http.model_copy(update={"port": args.http_port})})
            asyncio.run(_serve(cfg))
            return 0
        if args.cmd == "check":
            from hub.check import run_check  # noqa: PLC0415

            text, ok = run_check(cfg, config=args.config, network=not args.no_network)
            print(text)
            return 0 if ok else 1
        if args.cmd == "stream":
            print(_stream_conf(args))
            return 0
        if args.cmd == "broker" and args.bcmd == "conf":
            print(_broker_conf(args), end="")
            return 0
        if args.cmd in ("backup", "restore"):
            return _backup_cmd(args, cfg)
        if args.cmd == "migrate":
            from hub.db import Database  # noqa: PLC0415

            cfg.data_dir.mkdir(parents=True, exist_ok=True)
            Database(cfg.database_url).migrate()
            print("database is up to date")
            return 0
        s = _services(cfg)
        if args.cmd == "user":
            if args.ucmd == "add":
                pw = _read_password(args) or ""
                out = s.accounts.create_user(
                    SYSTEM, username=args.name, password=pw, role=args.role, area=args.area
                )
                print(json.dumps(out, ensure_ascii=False))
            elif args.ucmd == "set-group":
                out = s.accounts.set_review_group(SYSTEM, args.name, args.group)
                print(f"{args.name}: review group {out['review_group'] or '(none)'}")
            elif args.ucmd == "disable":
                s.accounts.set_disabled(SYSTEM, args.name, True)
                print(f"{args.name}: disabled")
            else:
                given = _read_password(args)
                new = s.accounts.reset_password(SYSTEM, args.name, given)
                print(new if not given else f"{args.name}: password changed")
        elif args.cmd == "device" and args.dcmd == "remove":
            s.broker_secrets.remove(SYSTEM, args.id)
            print(f"{args.id}: removed")
        elif args.cmd == "device" and args.dcmd == "secret":
            print(s.broker_secrets.rotate(SYSTEM, args.id)["broker_password"])
        elif args.cmd == "device":
            out = s.devices.register(SYSTEM, device_id=args.id, kind=args.kind, area=args.area)
            if out.get("broker_password"):  # managed broker files: the device's MQTT password, shown once
                print(f"broker password of {out['id']} (its mqtt password_file; shown once): "
                      f"{out['broker_password']}", file=sys.stderr)
            base = cfg.http.public_url or f"http://{cfg.http.host}:{cfg.http.port}"
            from protocol.keys import public_key_b64  # noqa: PLC0415

            print(
                agent_config(
                    device_id=out["id"],
                    kind=out["kind"],
                    area=out["area"],
                    hub_url=base,
                    public_key=public_key_b64(s.envelopes.key.public),
                    prefix=cfg.mqtt.topic_prefix,
                    mqtt_host=args.mqtt_host or cfg.mqtt.host,
                    mqtt_port=args.mqtt_port or cfg.mqtt.port,
                    mqtt_tls=args.mqtt_tls or (args.mqtt_port or cfg.mqtt.port) == 8883
                    or any(b.endswith(":8883") for b in args.mqtt_broker),
                    mqtt_brokers=_brokers_arg(args.mqtt_broker),
                )
            )
        elif args.cmd == "broker":
            _broker(args, cfg, s)
        elif args.cmd == "areas":
            return _areas(args, cfg, s)
        return 0
    except (ConfigError, ServiceError, HubAlreadyRunning) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
