"""Bench: how long after a `kill -9` of the publishing hub a standby publishes (hub roles, hub/election.py).

A private Mosquitto, a fresh PostgreSQL database (127.0.0.1:5432, user postgres), two `python -m hub serve`
processes on it. Each round kills the leader with SIGKILL and polls the standby's /healthz every 20 ms
until it says `"role": "leader"` with its MQTT publisher connected (`takeover_ms`); the killed one is
started again (a standby) for the next round. Prints ONE JSON line.

    .venv/bin/python bench/failover.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text

from hub.mosquitto import MosquittoProcess

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def start(conf: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NGUON_")}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "--config", str(conf), "serve"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("nguon hub: "):
                return proc, line.split()[2]
        if proc.poll() is not None:
            raise SystemExit(log.read_text()[-2000:])
        time.sleep(0.1)
    raise SystemExit("hub did not start: " + log.read_text()[-2000:])


def health(url: str) -> dict[str, object]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:  # noqa: S310 - our own hub
            return dict(json.loads(r.read()))
    except OSError as exc:  # 503 while not ready, or refused
        body = getattr(exc, "read", None)
        return dict(json.loads(body())) if callable(body) else {}


def leading(url: str) -> bool:
    h = health(url)
    mqtt = h.get("mqtt")
    return h.get("role") == "leader" and isinstance(mqtt, dict) and bool(mqtt.get("publisher"))


def main(rounds: int) -> dict[str, object]:
    tmp = Path(tempfile.mkdtemp(prefix="nguon-failover-"))
    name = f"nguon_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with MosquittoProcess(tmp / "mosquitto") as broker:
            confs = []
            for n in ("a", "b"):
                conf = tmp / f"{n}.toml"
                conf.write_text(
                    f'data_dir = "{tmp / "hub"}"\n[database]\nurl = "{url}"\n'
                    '[http]\nhost = "127.0.0.1"\nport = 0\n'
                    f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nclient_id = "hub-{n}"\n'
                    "[programme]\nscheduler = false\n",
                    encoding="utf-8",
                )
                confs.append(conf)
            leader, leader_url = start(confs[0], tmp / "a0.log")
            standby, standby_url = start(confs[1], tmp / "b0.log")
            procs += [leader, standby]
            conf_of = {leader.pid: confs[0], standby.pid: confs[1]}
            while not leading(leader_url):
                time.sleep(0.1)
            took = []
            for i in range(rounds):
                t0 = time.monotonic()
                leader.kill()
                leader.wait()
                while not leading(standby_url):
                    time.sleep(0.02)
                took.append((time.monotonic() - t0) * 1000)
                conf = conf_of[leader.pid]
                leader, leader_url = standby, standby_url
                standby, standby_url = start(conf, tmp / f"r{i}.log")
                conf_of[standby.pid] = conf
                procs.append(standby)
                time.sleep(1.0)  # the new standby tries the lock, as it would in service
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(30)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return {
        "rounds": rounds,
        "takeover_ms": [round(t) for t in took],
        "p50_ms": round(statistics.median(took)),
        "max_ms": round(max(took)),
        "load": os.getloadavg()[0],
    }


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5)
    print(json.dumps(main(p.parse_args().rounds)))
