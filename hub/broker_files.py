"""The broker files the hub keeps in step with the device registry ([broker_files], docs/OPERATIONS.md).

Each broker has an ACL file, optionally the devices' password file, and a way to make it re-read them: a
command (an argv list, run without a shell: `systemctl reload mosquitto`, or a script that copies the files
to a broker on another machine and reloads it there) or the pid file of a Mosquitto to send SIGHUP. No
broker listed = the manual mode (`python -m hub broker acl`, docs/OPERATIONS.md).

The devices' password file holds every registered device: the hash the hub issued it (`devices.broker_secret`,
given once to whoever registered the device), else the line the file already had for that device (a secret
set by hand with `python -m hub broker passwd`). A device no longer registered loses its line.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.broker import DeviceGrant, acl_text, read_password_lines


class BrokerTarget(BaseModel):
    """One broker: its files and how to reload it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    acl: str = Field(min_length=1)
    password_file: str = ""
    reload_command: tuple[str, ...] = ()
    pid_file: str = ""

    @field_validator("acl", "password_file", "pid_file")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if value and not Path(value).is_absolute():
            raise ValueError(f"{value!r}: give an absolute path")
        if "\n" in value or "\0" in value:
            raise ValueError("a path without line breaks")
        return value

    @model_validator(mode="after")
    def _reload(self) -> BrokerTarget:
        if bool(self.reload_command) == bool(self.pid_file):
            raise ValueError(
                f"broker with acl {self.acl}: give exactly one of reload_command (e.g. "
                '["systemctl", "reload", "mosquitto"]) or pid_file (the Mosquitto to send SIGHUP)'
            )
        if self.reload_command:
            exe = self.reload_command[0]
            found = shutil.which(exe)
            if not exe or found is None:
                raise ValueError(
                    f"reload_command {list(self.reload_command)}: {exe!r} is not an executable file"
                    + (" (not found on PATH)" if "/" not in exe else "")
                )
        return self

    @property
    def name(self) -> str:
        return self.acl


class BrokerFilesConfig(BaseModel):
    """[broker_files]: `brokers` empty = manual mode."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    brokers: tuple[BrokerTarget, ...] = ()
    debounce_s: float = Field(1.0, ge=0, le=60)  # changes within this time are folded into one write
    poll_s: float = Field(10.0, ge=0.5, le=3600)  # also look at the registry this often (other processes)
    retry_s: float = Field(2.0, ge=0.1, le=3600)  # the first retry after a failure; doubles each time...
    retry_max_s: float = Field(60.0, ge=0.1, le=3600)  # ...up to this (a change retries at once)

    @property
    def enabled(self) -> bool:
        return bool(self.brokers)

    @model_validator(mode="after")
    def _distinct(self) -> BrokerFilesConfig:
        paths = [p for b in self.brokers for p in (b.acl, b.password_file) if p]
        twice = sorted({p for p in paths if paths.count(p) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)}: each broker needs files of its own (a copy for broker B)")
        return self


@dataclass(frozen=True)
class Registry:
    """What the broker files are made of: each device's grant and the hash it was issued (or "")."""

    grants: tuple[DeviceGrant, ...]
    hashes: Mapping[str, str]


def password_text(reg: Registry, existing: Mapping[str, str]) -> str:
    """The devices' password file: the issued hash, else the hand-set line kept; unregistered users go."""
    lines = []
    for dev in sorted(reg.grants, key=lambda d: d.id):
        hashed = reg.hashes.get(dev.id) or existing.get(dev.id, "")
        if hashed:
            lines.append(f"{dev.id}:{hashed}\n")
    return "".join(lines)


def render(target: BrokerTarget, reg: Registry, *, hub_user: str, prefix: str) -> dict[Path, str]:
    """The files of one broker and their new text."""
    out = {Path(target.acl): acl_text(reg.grants, hub_user=hub_user, prefix=prefix)}
    if target.password_file:
        path = Path(target.password_file)
        out[path] = password_text(reg, read_password_lines(path))
    return out


def same_on_disk(files: Mapping[Path, str]) -> bool:
    for path, text in files.items():
        try:
            if path.read_text(encoding="utf-8") != text:
                return False
        except OSError:
            return False
    return True


def grants_of(rows: Iterable[tuple[str, str, str, str | None]]) -> Registry:
    """A Registry from (id, kind, area, hash) rows."""
    rows = list(rows)
    return Registry(
        tuple(DeviceGrant(i, k, a) for i, k, a, _ in rows), {i: h for i, _, _, h in rows if h}
    )
