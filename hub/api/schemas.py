"""Request bodies of the REST API (pydantic, extra fields refused); also feed the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hub.limits import (
    ID_MAX,
    LIST_MAX,
    NAME_MAX,
    PASSWORD_MAX,
    PATH_MAX,
    REASON_MAX,
    TEXT_MAX,
    TITLE_MAX,
    USERNAME_MAX,
    YEAR_MAX,
    YEAR_MIN,
)
from protocol.vocabulary import DeviceKindName, OriginName, PriorityName, SubjectName

AreaPath = Annotated[str, Field(min_length=1, max_length=PATH_MAX)]
Id = Annotated[str, Field(min_length=1, max_length=ID_MAX)]


def _in_range(value: date) -> date:
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValueError(f"ngày {value.isoformat()} nằm ngoài khoảng hệ thống xử lý ({YEAR_MIN}–{YEAR_MAX})")
    return value


Day = Annotated[date, AfterValidator(_in_range)]
When = Annotated[datetime, AfterValidator(_in_range)]


def _radio_only() -> list[DeviceKindName]:
    return ["radio"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_Body):
    username: str = Field(min_length=1, max_length=USERNAME_MAX)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class RepeatIn(_Body):
    count: int = Field(1, ge=1, le=100)
    interval_s: int = Field(0, ge=0, le=86_400)
    then_every_s: int = Field(0, ge=0, le=86_400)


VoiceName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class VoiceDefaultIn(_Body):
    voice: VoiceName = Field(description="an installed voice's id, or espeak-ng")


class VoicePreviewIn(_Body):
    text: str = Field(min_length=1, max_length=300, description="the sentence to hear")
    voice: VoiceName | None = Field(None, description="null = the province's default")
class LanguageVersionIn(_Body):
    language: str = Field(max_length=8, description="ISO 639-3 code of a local language, e.g. rad (Ê Đê)")
    media: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="sha256 of the uploaded audio")


class AreaLanguageIn(_Body):
    code: str = Field(max_length=8)
    name: str | None = Field(None, max_length=60, description="as people there call it (default: catalogue)")


class AreaLanguagesIn(_Body):
    area: AreaPath
    languages: list[str | AreaLanguageIn] | None = Field(
        max_length=8, description="local languages besides Vietnamese; null: as the unit above")


class BulletinIn(_Body):
    title: str = Field(min_length=1, max_length=TITLE_MAX, description="tiêu đề")
    priority: PriorityName
    form: Literal["text", "audio", "image", "infographic", "video"] = "text"
    text: str | None = Field(None, max_length=TEXT_MAX, description="nội dung (bản tin ký tự)")
    media: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="sha256 of an uploaded file")
    subtitles: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="sha256 of uploaded WebVTT")
    targets: list[AreaPath] = Field(
        min_length=1, max_length=LIST_MAX, description="area paths, e.g. ['67/660']"
    )
    kinds: list[DeviceKindName] = Field(default_factory=_radio_only, max_length=2)
    valid_from: When | None = None
    valid_until: When | None = None
    plays_per_day: int = Field(1, ge=1, le=48)
    sensitive: bool = Field(False, description="needs a reviewer before approval")
    exercise: bool = Field(False, description="emergency exercise (diễn tập)")
    repeat: RepeatIn | None = None
    after_interrupt: Literal["restart", "resume", "drop"] = "restart"
    origin: OriginName | None = None
    subject: SubjectName | None = Field(
        None, description="lĩnh vực (statistics): none on a new bulletin is 'other'; an edit keeps it"
    )
    voice: VoiceName | None = Field(None, description="voice for a text bulletin: an installed voice's id "
                                    "or espeak-ng (GET /voices); null = the province's default")
    language_versions: list[LanguageVersionIn] = Field(
        default_factory=list, max_length=8,
        description="bản tiếng dân tộc: audio versions played after the Vietnamese (loudspeakers)")
    draft: bool = Field(False, description="save as a draft instead of submitting")


class ReasonIn(_Body):
    reason: str = Field(min_length=1, max_length=REASON_MAX)


class ReviewIn(_Body):
    decision: Literal["approve", "reject"] = Field(
        description="approve = my sign-off (approved with the last one the province requires)"
    )
    reason: str = Field("", max_length=REASON_MAX, description="required to reject; the editor sees it")


class FlagIn(_Body):
    reason: str = Field("", max_length=REASON_MAX, description="why it is sensitive (audited)")


class UnflagIn(_Body):
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="why it is not sensitive (audited)")


class OrderIn(_Body):
    area: AreaPath
    date: Day
    order: list[Id] = Field(max_length=LIST_MAX)
    kind: Literal[DeviceKindName, "*"] = "*"


class SelectionIn(_Body):
    """Art. 8.3: the chair's decision on normal bulletins; bulletins not listed keep their decision."""

    area: AreaPath
    selection: list[Id] = Field(
        default_factory=list, max_length=LIST_MAX, description="bulletins chosen: they air"
    )
    declined: list[Id] = Field(
        default_factory=list, max_length=LIST_MAX, description="bulletins not chosen: they do not air"
    )
    kind: Literal[DeviceKindName, "*"] = Field("*", description="'*' = both the radio and the LED board")
    scope: Literal["day", "validity"] = Field(
        "day", description="'day' = for `date` only; 'validity' = for the bulletin's whole validity"
    )
    date: Day | None = Field(None, description="the day (scope 'day'); default today")


class StandingIn(_Body):
    """The commune's standing rule: normal bulletins from these levels air on these kinds unasked."""

    area: AreaPath
    origins: list[OriginName] = Field(max_length=4)
    kinds: list[DeviceKindName] = Field(max_length=2)


class UserIn(_Body):
    username: str = Field(min_length=1, max_length=USERNAME_MAX)
    password: str = Field(max_length=PASSWORD_MAX)
    role: Literal["admin", "editor", "reviewer", "commune_chair", "commune_editor", "operator", "viewer"]
    area: AreaPath | None = None
    full_name: str = Field("", max_length=NAME_MAX)


class UserPatch(_Body):
    disabled: bool | None = None
    password: str | None = Field(None, max_length=PASSWORD_MAX)
    review_group: str | None = Field(
        None, max_length=40, description="reviewer group (config review.groups); '' removes it"
    )


class DeviceIn(_Body):
    id: Id
    kind: DeviceKindName
    area: AreaPath
    name: str = Field("", max_length=NAME_MAX)
    lat: float | None = Field(None, ge=-90, le=90, description="WGS84 latitude, for the map (Bản đồ)")
    lon: float | None = Field(None, ge=-180, le=180, description="WGS84 longitude")


class LocationIn(_Body):
    lat: float = Field(..., ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(..., ge=-180, le=180, allow_inf_nan=False)


class ReorganiseIn(_Body):
    """A reorganisation plan (docs/OPERATIONS.md: merge, split, move, rename, retire, assign)."""

    plan: dict[str, Any]
    dry_run: bool = False


class CommandIn(_Body):
    command: Literal["volume", "stop", "resync", "test_tone", "report"]
    args: dict[str, int] = Field(default_factory=dict, max_length=8)


class WindowsIn(_Body):
    """Khung giờ phát of an area and device kind from a date on (Art. 10.1)."""

    area: AreaPath = Field(description="area path: the province (its defaults), a district or a commune")
    kind: DeviceKindName
    effective_from: Day = Field(description="local date the windows take effect (today or later)")
    windows: list[str] = Field(
        min_length=1,
        max_length=6,
        description="['05:00-06:30', '17:00-18:30']; "
        "an end before the start crosses midnight ('21:00-01:00')",
    )


class OccasionIn(_Body):
    """Extra LED-board hours for an area on some days (Art. 10.2: Tết, an election day)."""

    area: AreaPath
    name: str = Field(min_length=1, max_length=NAME_MAX, description="the occasion, e.g. 'Tết Nguyên đán'")
    date_from: Day
    date_to: Day
    windows: list[str] = Field(min_length=1, max_length=6)


class ReportIn(_Body):
    """Draft the half-year report (Art. 18) of an area; the editor completes the assessment in the DOCX."""

    area: AreaPath | None = Field(None, description="the reporting unit (default: yours)")
    day: date | None = Field(None, description="a day in the half-year (default: the one to report now)")
    number: str = Field("", max_length=60, description="the document number, e.g. 125/BC-STTTT")
    place: str = Field("", max_length=100, description="where it is issued, e.g. Đà Lạt")
    signer: str = Field("", max_length=100, description="who signs (empty: a line to sign by hand)")


class LiveIn(_Body):
    """A live announcement from the microphone (docs/API.md, "Live announcements")."""

    areas: list[AreaPath] = Field(min_length=1, max_length=50, description="area paths that hear it")
    priority: Literal["emergency", "priority"] = Field(
        description="emergency: at once, at any hour; priority: preempts the programme inside its windows"
    )
    title: str = Field("", max_length=TITLE_MAX)


class RelayIn(_Body):
    """Tiếp sóng: a stream relayed at a fixed time inside a radio window (docs/API.md, "Relays")."""

    title: str = Field(min_length=1, max_length=TITLE_MAX, description="e.g. 'Thời sự VOV'")
    source: str = Field(
        min_length=1,
        max_length=600,
        description="http(s) URL of the station's stream, or /relay/NAME.mp3 on the province's stream server",
    )
    start: str = Field(min_length=1, max_length=10, description="local start time HH:MM, e.g. 06:00")
    minutes: int = Field(ge=1, le=90, description="length in minutes; start to end inside one radio window")
    days: Literal["daily", "weekdays", "dates"] = Field("daily", description="every day, Mon-Fri, or `dates`")
    dates: list[Day] = Field(default_factory=list, max_length=62, description="YYYY-MM-DD when days=dates")
    areas: list[AreaPath] = Field(min_length=1, max_length=50, description="area paths that relay it")
