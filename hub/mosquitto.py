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

from hub.broker import MAX_PACKET_SIZE, MESSAGE_SIZE_LIMIT, Listener, mosquitto_conf


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
    """A broker listening on 127.0.0.1:`port`, its config and persistence in `workdir`.

    Open (anonymous) by default, with the production size limits. With `password_file`, `hub_password_file`
    and `acl_file` it is configured as a province's (hub/broker.py `mosquitto_conf`): `port` is the hub's
    listener (the hub's accounts only), `device_port` the devices' (client id = user name).
    """

    workdir: Path
    port: int = 0
    host: str = "127.0.0.1"
    extra_config: str = ""
    password_file: Path | None = None
    acl_file: Path | None = None
    hub_password_file: Path | None = None
    device_port: int = 0
    # False: an open broker without size limits, as one set up before them (tests of the hub's own bounds)
    size_limits: bool = True
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def _listeners(self) -> str:
        if self.password_file is None:
            limits = (f"message_size_limit {MESSAGE_SIZE_LIMIT}\nmax_packet_size {MAX_PACKET_SIZE}\n"
                      if self.size_limits else "")
            return f"listener {self.port} {self.host}\nallow_anonymous true\n{limits}"
        if self.hub_password_file is None or self.acl_file is None:
            raise ValueError("a secured broker needs password_file, hub_password_file and acl_file")
        if not self.device_port:
            self.device_port = free_port(self.host)
        return mosquitto_conf(
            hub=Listener(self.port, self.host),
            devices=Listener(self.device_port, self.host),
            hub_password_file=self.hub_password_file,
            password_file=self.password_file,
            acl_file=self.acl_file,
        )

    def start(self, timeout_s: float = 10.0) -> MosquittoProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"{self._listeners()}"
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
        self.pid_file.write_text(f"{self.proc.pid}\n", encoding="ascii")  # for a hub that reloads it
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with {self.proc.returncode}; see {self.workdir}/mosquitto.log"
                )
            try:
                for port in (self.port, self.device_port) if self.device_port else (self.port,):
                    with socket.create_connection((self.host, port), timeout=0.2):
                        pass
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout_s}s")

    @property
    def pid_file(self) -> Path:
        """The running broker's pid (for [broker_files] pid_file: the hub reloads it with SIGHUP)."""
        return self.workdir / "mosquitto.pid"

    def kill(self) -> None:
        """Stop at once (SIGKILL), as a crash or a power cut would: no goodbye to the clients."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

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
