"""Start a private Mosquitto broker from the installed binary (demo and tests)."""

from __future__ import annotations

import getpass
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def mosquitto_binary() -> str:
    sbin = "/usr/sbin/mosquitto"
    found = shutil.which("mosquitto") or (sbin if Path(sbin).exists() else None)
    if not found:
        raise FileNotFoundError(
            "mosquitto is not installed; run ./run demo (it installs it) or apt-get install mosquitto"
        )
    return found


@dataclass
class MosquittoProcess:
    """A broker listening on 127.0.0.1:`port`, its config and persistence in `workdir`."""

    workdir: Path
    port: int = 0
    host: str = "127.0.0.1"
    extra_config: str = ""
    # With both set, the broker refuses anonymous clients and applies the ACL (see hub/broker.py).
    password_file: Path | None = None
    acl_file: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout_s: float = 10.0) -> MosquittoProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        conf = self.workdir / "mosquitto.conf"
        auth = (
            "allow_anonymous true\n"
            if self.password_file is None
            else f"allow_anonymous false\npassword_file {self.password_file}\n"
            + (f"acl_file {self.acl_file}\n" if self.acl_file else "")
        )
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            f"{auth}"
            # A private broker runs as whoever started it (as root, mosquitto would otherwise switch to the
            # `mosquitto` user and lose access to this directory and its 0600 password file).
            f"user {getpass.getuser()}\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            "max_queued_messages 100000\n"
            "max_inflight_messages 0\n"
            "log_dest stderr\n"
            "log_type error\n"
            "log_type warning\n"
            f"{self.extra_config}\n"
        )
        log = (self.workdir / "mosquitto.log").open("ab")
        # Its own session: a Ctrl-C meant for the demo must not kill the broker before the hub and
        # agents stop.
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(conf)], stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.proc.returncode}; see {self.workdir}/mosquitto.log"
                )
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout_s}s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def reload(self) -> None:
        """Re-read the password and ACL files (SIGHUP), keeping connections."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> MosquittoProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
