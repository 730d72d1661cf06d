"""Managed broker files for a province's devices, timed: regenerate, write and reload a real Mosquitto.

    .venv/bin/python bench/broker_files.py [--devices 1000]

Builds a hub database in a temp dir (SQLite WAL) with the official map of Lâm Đồng and N radios spread over
its communes, registered with managed broker files (each issued a password); starts a real Mosquitto
configured as a province's, reloaded by SIGHUP through its pid file (as the demo). Times `sync_once` (read
the registry, render the ACL and password file, write them atomically, reload): first for all devices, then
after one device was added, and how long after the reload the new device can connect. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiomqtt

from hub.app import build_services
from hub.broker import PasswordFile, acl_text, write_private
from hub.broker_sync import BrokerSync
from hub.config import build_config
from hub.mosquitto import MosquittoProcess
from hub.roles import SYSTEM
from hub.services import official
from hub.speech import NoSpeech


async def connect_after(mq: MosquittoProcess, user: str, password: str, timeout_s: float = 10.0) -> float:
    """Seconds until the device's login is accepted."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        try:
            async with aiomqtt.Client(mq.host, mq.device_port, username=user, password=password, timeout=2):
                return time.perf_counter() - start
        except aiomqtt.MqttError:
            await asyncio.sleep(0.01)
    raise TimeoutError(f"{user} was not accepted within {timeout_s}s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        hub_pw = PasswordFile(tmp / "passwd-hub")
        hub_pw.set("hub", "bench-hub-secret-0123456789")
        hub_pw.save()
        write_private(tmp / "passwd", "")
        write_private(tmp / "acl", acl_text([]))
        with MosquittoProcess(tmp / "mq", password_file=tmp / "passwd", hub_password_file=tmp / "passwd-hub",
                              acl_file=tmp / "acl") as mq:
            cfg = build_config({"data_dir": str(tmp / "hub"), "mqtt": {"enabled": False},
                                "broker_files": {"brokers": [{"acl": str(tmp / "acl"),
                                                              "password_file": str(tmp / "passwd"),
                                                              "pid_file": str(mq.pid_file)}]}}, environ={})
            s = build_services(cfg, speech=NoSpeech())
            tree = official.official_tree("68")
            s.areas.import_tree(tree, SYSTEM)
            communes = [f"{tree['code']}/{c['code']}" for c in tree["children"]]
            t0 = time.perf_counter()
            for i in range(args.devices):
                s.devices.register(SYSTEM, device_id=f"loa-{i:05d}", kind="radio",
                                   area=communes[i % len(communes)])
            register_s = time.perf_counter() - t0
            sync = BrokerSync(cfg.broker_files, s.ctx.db, hub_user="hub", prefix=cfg.mqtt.topic_prefix,
                              tz=ZoneInfo("Asia/Ho_Chi_Minh"))
            t0 = time.perf_counter()
            sync.sync_once()
            full_s = time.perf_counter() - t0
            new = s.devices.register(SYSTEM, device_id="loa-new", kind="radio", area=communes[0])
            t0 = time.perf_counter()
            sync.sync_once()
            one_s = time.perf_counter() - t0
            accepted_s = asyncio.run(connect_after(mq, "loa-new", new["broker_password"]))
            print(json.dumps({
                "devices": args.devices + 1,
                "register_all_s": round(register_s, 2),
                "sync_all_s": round(full_s, 3),
                "sync_after_one_added_s": round(one_s, 3),
                "new_device_accepted_after_reload_s": round(accepted_s, 3),
                "acl_bytes": (tmp / "acl").stat().st_size,
                "passwd_bytes": (tmp / "passwd").stat().st_size,
            }))
            s.ctx.db.dispose()


if __name__ == "__main__":
    main()
