"""Roles, what each may do, and area scope (a user acts on their area's subtree). Pure."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.topics import covers

ROLES = ("admin", "editor", "reviewer", "commune_chair", "commune_editor", "operator", "viewer")

ROLE_NAMES_VI = {
    "admin": "Quản trị hệ thống",
    "editor": "Biên tập viên",
    "reviewer": "Người kiểm duyệt",
    "commune_chair": "Chủ tịch UBND xã",
    "commune_editor": "Biên tập viên cấp xã",
    "operator": "Vận hành thiết bị",
    "viewer": "Người xem",
}

# action -> roles allowed (the area check comes on top).
PERMISSIONS: dict[str, frozenset[str]] = {
    "bulletin.create": frozenset({"admin", "editor", "commune_chair", "commune_editor"}),
    "bulletin.approve": frozenset({"admin", "editor", "commune_chair"}),
    "bulletin.review": frozenset({"admin", "reviewer"}),
    "bulletin.emergency": frozenset({"admin", "editor"}),
    "bulletin.recall": frozenset({"admin", "editor", "commune_chair"}),
    # live announcements from the microphone (hub/services/live.py): as an emergency, those who may send
    # one; as a priority item, also a commune's chair for their commune
    "live.emergency": frozenset({"admin", "editor"}),
    "live.priority": frozenset({"admin", "editor", "commune_chair"}),
    "programme.arrange": frozenset({"admin", "commune_chair"}),
    # Art. 10.1: the locality arranges its own hours (an admin for any area, a chair for the commune)
    "programme.windows": frozenset({"admin", "commune_chair"}),
    # tiếp sóng at fixed times (hub/services/relays.py): the province's editorial board for the areas it
    # covers, a commune chair for their own commune only
    "programme.relay": frozenset({"admin", "editor", "commune_chair"}),
    "device.manage": frozenset({"admin", "operator"}),
    "device.command": frozenset({"admin", "operator"}),
    "media.upload": frozenset({"admin", "editor", "commune_chair", "commune_editor"}),
    "user.manage": frozenset({"admin"}),
    "audit.read": frozenset({"admin"}),
    "area.manage": frozenset({"admin"}),
    "voice.default": frozenset({"admin"}),
    # Art. 18: the periodic report is drafted by the unit's editors and chair (a reader cannot archive one)
    "report.generate": frozenset({"admin", "editor", "commune_chair", "commune_editor"}),
    "read": frozenset(ROLES),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user (or the system itself for CLI and scheduler jobs)."""

    user_id: int | None
    username: str
    role: str
    area_path: str | None  # None = whole tree
    ip: str = ""

    def may(self, action: str) -> bool:
        return self.role in PERMISSIONS.get(action, frozenset())

    def covers(self, area_path: str) -> bool:
        """True if the area lies in this actor's subtree."""
        scope = self.area_path
        return scope is None or covers(scope, area_path)

    def sees(self, area_path: str) -> bool:
        """Covers it, or it is an ancestor of the actor's area (bulletins from above reach the commune)."""
        scope = self.area_path
        return self.covers(area_path) or (scope is not None and covers(area_path, scope))


SYSTEM = Actor(user_id=None, username="system", role="admin", area_path=None)
# The central system (HTTT nguồn Trung ương) acting through its signed interface (hub/central/): the only
# actor whose bulletins may carry origin `central`.
CENTRAL = Actor(user_id=None, username="trung-uong", role="admin", area_path=None)


def is_central(actor: Actor) -> bool:
    return actor.user_id is None and actor.username == CENTRAL.username
