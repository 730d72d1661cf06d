"""Mosquitto accounts, ACL and listeners for a province: the hub writes everything, a device only its own.

The password file uses Mosquitto 2's own format (PBKDF2-SHA512, `$7$`), written here so that adding a
thousand devices does not mean a thousand `mosquitto_passwd` processes. The ACL is generated from the device
registry: a device may read its commune's programme, the alerts of every ancestor area and its own command
topic, and write only its own status and event topics (docs/SECURITY.md, "A broker that knows who is who").

The broker has two listeners (`mosquitto_conf`): the hub's, which knows only the hub's account, and the
devices', where the client id is the user name, so that one device's password cannot disconnect another
device or the hub by connecting with its client id.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from protocol.envelope import MAX_MESSAGE_BYTES
from protocol.topics import Topics, ancestors, validate_device_id

PBKDF2_ITERATIONS = 101  # what mosquitto_passwd uses for `$7$`
# Agents refuse an envelope above MAX_MESSAGE_BYTES (1 MiB). The broker lets a quarter more through, so that
# a message just over reaches the agents and comes back as a `rejected` report the operator sees, and
# refuses anything bigger (a device's 20 MB "event" never reaches the hub). A packet adds its topic and
# properties to the payload: 64 KiB of room; a client sending a bigger packet is disconnected.
MESSAGE_SIZE_LIMIT = MAX_MESSAGE_BYTES + 256 * 1024
MAX_PACKET_SIZE = MESSAGE_SIZE_LIMIT + 64 * 1024


@dataclass(frozen=True)
class DeviceGrant:
    id: str
    kind: str
    area: str


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A Mosquitto 2 `$7$` password hash."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, PBKDF2_ITERATIONS)
    return f"$7${PBKDF2_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, hashed: str) -> bool:
    try:
        _, kind, iters, salt_b64, digest_b64 = hashed.split("$")
    except ValueError:
        return False
    if kind != "7":
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), base64.b64decode(salt_b64), int(iters))
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def read_password_lines(path: Path) -> dict[str, str]:
    """user -> hash of a Mosquitto password file ({} when it does not exist yet)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    out: dict[str, str] = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            user, hashed = line.split(":", 1)
            out[user] = hashed
    return out


class PasswordFile:
    """Read, change and atomically rewrite a Mosquitto password file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = read_password_lines(path)

    def set(self, username: str, password: str) -> None:
        if ":" in username or not username:
            raise ValueError(f"broker user name {username!r} may not be empty or contain ':'")
        self.entries[username] = hash_password(password)

    def remove(self, username: str) -> bool:
        return self.entries.pop(username, None) is not None

    def save(self) -> None:
        write_private(self.path, "".join(f"{u}:{h}\n" for u, h in sorted(self.entries.items())))


def acl_text(devices: Iterable[DeviceGrant], *, hub_user: str = "hub", prefix: str = "nguon/v1") -> str:
    topics = Topics(prefix)
    lines = ["# Generated from the device registry: by the hub itself with [broker_files], else by",
             "# `python -m hub broker acl` after adding or moving devices. Edits by hand are lost.",
             f"user {hub_user}", f"topic readwrite {prefix}/#", ""]
    for dev in sorted(devices, key=lambda d: d.id):
        validate_device_id(dev.id)
        if dev.id == hub_user:
            raise ValueError(f"device id {dev.id!r} is the hub's broker user: rename the device")
        lines.append(f"user {dev.id}")
        lines.append(f"topic read {topics.program(dev.area, dev.kind)}")
        lines += [f"topic read {topics.alert(a)}" for a in ancestors(dev.area)]
        lines.append(f"topic read {topics.cmd(dev.id)}")
        lines.append(f"topic write {topics.status(dev.id)}")
        lines.append(f"topic write {topics.event(dev.id)}")
        lines.append("")
    return "\n".join(lines)


DEFAULT_HUB_USER = "hub"  # the hub's broker user in docs/OPERATIONS.md and the demo


def hub_names(*, hub_user: str, client_id: str) -> tuple[str, ...]:
    """The broker names that belong to the hub: its user (and the documented default) and the prefix of
    its client ids (`<client_id>-pub`, `<client_id>-ingest`)."""
    return tuple(dict.fromkeys(n for n in (DEFAULT_HUB_USER, hub_user, client_id) if n))


def clashes_with_hub(device_id: str, names: tuple[str, ...]) -> str | None:
    """The hub name that a device of this id would share on the broker (the name itself, or a client id
    made from it), or None. Compared without case: a name that only differs by case is refused too."""
    low = device_id.lower()
    for name in names:
        if low == name.lower() or low.startswith(name.lower() + "-"):
            return name
    return None


_HOST = re.compile(r"[A-Za-z0-9.:-]{1,253}")
_PATH = re.compile(r"[^\s#]{1,4096}")  # one mosquitto.conf token: no space, newline or comment


def _conf_path(value: str | Path, what: str) -> str:
    text = str(value)
    if not _PATH.fullmatch(text):
        raise ValueError(f"{what} {text[:80]!r}: a path without spaces, line breaks or '#' (mosquitto.conf)")
    return text


@dataclass(frozen=True)
class Listener:
    """One `listener` block: `port`, optional bind address, TLS certificate and key files (checked: a value
    must not add lines of its own to the broker's config)."""

    port: int
    host: str = ""
    certfile: str = ""
    keyfile: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"listener port {self.port}: use 1-65535")
        if self.host and not _HOST.fullmatch(self.host):
            raise ValueError(f"listener address {self.host[:80]!r}: an IP address or a host name")
        if bool(self.certfile) != bool(self.keyfile):
            raise ValueError("a TLS listener needs both certfile and keyfile")
        for what, value in (("certfile", self.certfile), ("keyfile", self.keyfile)):
            if value:
                _conf_path(value, what)

    def lines(self) -> list[str]:
        out = [f"listener {self.port} {self.host}".rstrip()]
        if self.certfile:
            out += [f"certfile {self.certfile}", f"keyfile {self.keyfile}"]
        return out


def mosquitto_conf(
    *, hub: Listener, devices: Listener, hub_password_file: Path, password_file: Path, acl_file: Path,
) -> str:
    """The nguon part of a mosquitto.conf: size limits, the hub's listener (the hub's account only) and the
    devices' listener (client id = user name). `python -m hub broker conf` prints it; the demo and the
    tests run their broker with it."""
    if hub.port == devices.port:
        raise ValueError(f"the hub's and the devices' listeners need two ports (both are {hub.port})")
    for what, path in (("hub_password_file", hub_password_file), ("password_file", password_file),
                       ("acl_file", acl_file)):
        _conf_path(path, what)
    return "\n".join([
        "# Generated by `python -m hub broker conf` (docs/OPERATIONS.md).",
        "# Each listener has its own accounts: the devices' passwords do not open the hub's listener.",
        "per_listener_settings true",
        "# Agents refuse envelopes above 1 MiB; the broker refuses payloads above 1.25 MiB and disconnects a",
        "# client sending a packet above 1.3125 MiB.",
        f"message_size_limit {MESSAGE_SIZE_LIMIT}",
        f"max_packet_size {MAX_PACKET_SIZE}",
        "",
        "# the hub",
        *hub.lines(),
        "allow_anonymous false",
        f"password_file {hub_password_file}",
        f"acl_file {acl_file}",
        "",
        "# the devices: the client id is replaced by the user name (the device id), so a device's password",
        "# cannot take over another client's session (the hub's publisher, another device)",
        *devices.lines(),
        "use_username_as_clientid true",
        "allow_anonymous false",
        f"password_file {password_file}",
        f"acl_file {acl_file}",
        "",
    ])


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write `text` to `path` atomically (temporary file, fsync, rename, directory fsync: a broker or a
    power cut sees the old file or the new one), readable by its owner only; a file that exists keeps its
    owner, group and mode up to 0640 (one the operator gave to the mosquitto group stays readable by it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        _keep_owner(path, tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _keep_owner(path: Path, tmp: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    with contextlib.suppress(PermissionError):
        os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, (st.st_mode & 0o640) or 0o600)
