"""Request bodies of the REST API (pydantic, extra fields refused); also feed the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from datetime import date as Date  # a field below is called `date`
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Body):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


class RepeatIn(_Body):
    count: int = Field(1, ge=1, le=100)
    interval_s: int = Field(0, ge=0)
    then_every_s: int = Field(0, ge=0)


class BulletinIn(_Body):
    title: str = Field(min_length=1, max_length=300, description="tiêu đề")
    priority: Literal["emergency", "priority", "normal"]
    form: Literal["text", "audio", "image", "infographic", "video"] = "text"
    text: str | None = Field(None, description="nội dung (bản tin ký tự)")
    media: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="sha256 of an uploaded file")
    subtitles: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="sha256 of uploaded WebVTT")
    targets: list[str] = Field(min_length=1, description="area paths, e.g. ['67/660']")
    kinds: list[Literal["radio", "led"]] = Field(default_factory=lambda: ["radio"])
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    plays_per_day: int = Field(1, ge=1, le=48)
    sensitive: bool = Field(False, description="needs a reviewer before approval")
    exercise: bool = Field(False, description="emergency exercise (diễn tập)")
    repeat: RepeatIn | None = None
    after_interrupt: Literal["restart", "resume", "drop"] = "restart"
    origin: Literal["central", "province", "district", "commune"] | None = None
    draft: bool = Field(False, description="save as a draft instead of submitting")


class ReasonIn(_Body):
    reason: str = Field(min_length=1)


class ReviewIn(_Body):
    decision: Literal["approve", "reject"]
    reason: str = ""


MAX_IDS = 500  # bulletins in one order or choice (a commune sees tens a day)


class OrderIn(_Body):
    area: str
    date: date
    order: list[str] = Field(max_length=MAX_IDS)
    kind: Literal["radio", "led", "*"] = "*"


class SelectionIn(_Body):
    """Art. 8.3: the chair's decision on normal bulletins; bulletins not listed keep their decision."""

    area: str
    selection: list[str] = Field(
        default_factory=list, max_length=MAX_IDS, description="bulletins chosen: they air"
    )
    declined: list[str] = Field(
        default_factory=list, max_length=MAX_IDS, description="bulletins not chosen: they do not air"
    )
    kind: Literal["radio", "led", "*"] = Field("*", description="'*' = both the radio and the LED board")
    scope: Literal["day", "validity"] = Field(
        "day", description="'day' = for `date` only; 'validity' = for the bulletin's whole validity"
    )
    date: Date | None = Field(None, description="the day (scope 'day'); default today")


class StandingIn(_Body):
    """The commune's standing rule: normal bulletins from these levels air on these kinds unasked."""

    area: str
    origins: list[Literal["central", "province", "district", "commune"]] = Field(max_length=4)
    kinds: list[Literal["radio", "led"]] = Field(max_length=2)


class UserIn(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str
    role: Literal["admin", "editor", "reviewer", "commune_chair", "commune_editor", "operator", "viewer"]
    area: str | None = None
    full_name: str = ""


class UserPatch(_Body):
    disabled: bool | None = None
    password: str | None = None


class DeviceIn(_Body):
    id: str
    kind: Literal["radio", "led"]
    area: str
    name: str = ""


class CommandIn(_Body):
    command: Literal["volume", "stop", "resync", "test_tone", "report"]
    args: dict[str, int] = Field(default_factory=dict)
