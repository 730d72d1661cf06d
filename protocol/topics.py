"""The MQTT topic scheme (docs/PROTOCOL.md; docs/SECURITY.md says who may use which)."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_PREFIX = "nguon/v1"
DEVICE_KINDS = ("radio", "led")
_AREA_CODE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
_DEVICE_ID = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")


def validate_area_path(path: str) -> str:
    """An area path is codes joined by '/', province first, e.g. '67/660/24613'."""
    parts = path.split("/")
    if not path or any(not _AREA_CODE.match(p) for p in parts):
        raise ValueError(
            f"area path {path!r} must be area codes joined by '/', province first, e.g. 67/660/24613"
        )
    return path


def validate_device_id(device_id: str) -> str:
    if not _DEVICE_ID.match(device_id):
        raise ValueError(f"device id {device_id!r} may use letters, digits, '.', '_' and '-' (max 64)")
    return device_id


def ancestors(area_path: str) -> list[str]:
    """The path and each ancestor, province first: '67/660/24613' -> ['67', '67/660', '67/660/24613']."""
    parts = validate_area_path(area_path).split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def covers(target: str, area_path: str) -> bool:
    """True if `target` is `area_path` or one of its ancestors (a target covers its descendants)."""
    return area_path == target or area_path.startswith(target + "/")


@dataclass(frozen=True)
class Topics:
    prefix: str = DEFAULT_PREFIX

    def program(self, area_path: str, kind: str) -> str:
        if kind not in DEVICE_KINDS:
            raise ValueError(f"device kind {kind!r} must be one of {', '.join(DEVICE_KINDS)}")
        return f"{self.prefix}/area/{validate_area_path(area_path)}/program/{kind}"

    def alert(self, area_path: str) -> str:
        return f"{self.prefix}/area/{validate_area_path(area_path)}/alert"

    def cmd(self, device_id: str) -> str:
        return f"{self.prefix}/device/{validate_device_id(device_id)}/cmd"

    def status(self, device_id: str) -> str:
        return f"{self.prefix}/device/{validate_device_id(device_id)}/status"

    def event(self, device_id: str) -> str:
        return f"{self.prefix}/device/{validate_device_id(device_id)}/event"

    # Subscriptions used by the hub.
    def all_status(self) -> str:
        return f"{self.prefix}/device/+/status"

    def all_events(self) -> str:
        return f"{self.prefix}/device/+/event"

    def device_from_topic(self, topic: str) -> str | None:
        """The device id in a device/<id>/... topic, or None."""
        head = f"{self.prefix}/device/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head) :].split("/")
        return rest[0] if len(rest) == 2 else None

    def agent_subscriptions(self, commune_path: str, kind: str, device_id: str) -> list[str]:
        """Everything an agent listens to: its programme, the alerts of every ancestor area, its commands."""
        subs = [self.program(commune_path, kind)]
        subs += [self.alert(a) for a in ancestors(commune_path)]
        subs.append(self.cmd(device_id))
        return subs
