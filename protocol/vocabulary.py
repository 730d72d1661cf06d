"""The shared words of nguon, spelled once: priority, origin, subject, bulletin status, play outcome, device
kind.

Each is a `StrEnum` whose values are the strings on the wire, in the database and in the API, so a member
compares equal to (and serialises as) its string: `Priority.NORMAL == "normal"`. The tuples beside them
hold the plain strings in the regulation's order (for membership checks, `.index` ranks and messages).
Standard library only: protocol, playlists, hub and edge_agent all import it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class Priority(StrEnum):
    """A bulletin's priority, highest first (emergency interrupts, priority before normal)."""

    EMERGENCY = "emergency"
    PRIORITY = "priority"
    NORMAL = "normal"


class Origin(StrEnum):
    """Who issued a bulletin; among priority bulletins the regulation airs central, then province, district,
    commune."""

    CENTRAL = "central"
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class Subject(StrEnum):
    """A bulletin's subject (lĩnh vực), for the statistics: a short fixed list; "other" for bulletins written
    before subjects existed."""

    POLITICS = "politics"  # thời sự - chính trị
    LAW = "law"  # pháp luật
    DISASTER = "disaster"  # phòng, chống thiên tai
    HEALTH = "health"  # y tế
    AGRICULTURE = "agriculture"  # nông nghiệp
    EDUCATION = "education"  # giáo dục
    CULTURE = "culture"  # văn hoá - xã hội
    OTHER = "other"  # khác


class DeviceKind(StrEnum):
    """What plays a programme: a loudspeaker controller (radio) or an LED board."""

    RADIO = "radio"
    LED = "led"


class PlayOutcome(StrEnum):
    """How one play of a bulletin ended, as an agent reports it in a "play" event."""

    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"
    FAILED = "failed"


class BulletinStatus(StrEnum):
    """Where a bulletin is in its life (the legal moves between them: hub/services/lifecycle.py)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    ON_AIR = "on_air"
    FINISHED = "finished"
    REJECTED = "rejected"
    RECALLED = "recalled"
    CANCELLED = "cancelled"


PRIORITIES: tuple[str, ...] = tuple(p.value for p in Priority)
ORIGINS: tuple[str, ...] = tuple(o.value for o in Origin)
SUBJECTS: tuple[str, ...] = tuple(s.value for s in Subject)
DEVICE_KINDS: tuple[str, ...] = tuple(k.value for k in DeviceKind)
PLAY_OUTCOMES: tuple[str, ...] = tuple(o.value for o in PlayOutcome)
BULLETIN_STATUSES: tuple[str, ...] = tuple(s.value for s in BulletinStatus)
# The statuses in which a bulletin is in programmes (devices may play it).
LIVE_STATUSES: tuple[str, ...] = (BulletinStatus.APPROVED.value, BulletinStatus.ON_AIR.value)

# The same words as `Literal` types, for pydantic models and mypy (the API's schemas keep plain string enums).
# tests/protocol/test_vocabulary.py checks they list exactly the enums' values.
PriorityName = Literal["emergency", "priority", "normal"]
OriginName = Literal["central", "province", "district", "commune"]
SubjectName = Literal["politics", "law", "disaster", "health", "agriculture", "education", "culture", "other"]
DeviceKindName = Literal["radio", "led"]
