"""Bulletin forms: read what the person typed, upload files, build a BulletinInput; errors per field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp.web_request import FileField

from hub.errors import Invalid, ServiceError
from hub.limits import check_date
from hub.services import BulletinDetail, BulletinInput
from hub.services.bulletin_checks import input_problems
from hub.web import language_form
from hub.web.core import Req

FIELDS = (
    "title",
    "priority",
    "form",
    "text",
    "media",
    "subtitles",
    "valid_from",
    "valid_until",
    "plays_per_day",
    "repeat_count",
    "repeat_interval_s",
    "repeat_then_every_s",
    "subject",
    "voice",
)


@dataclass
class BulletinForm:
    """The form's values as strings (so a re-rendered form shows exactly what was typed)."""

    values: dict[str, str] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    sensitive: bool = False
    exercise: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    languages: list[dict[str, str]] = field(default_factory=list)  # bản tiếng dân tộc rows (language_form)

    def v(self, name: str) -> str:
        return self.values.get(name, "")

    @classmethod
    def blank(cls, *, priority: str = "normal") -> BulletinForm:
        return cls(
            values={
                "priority": priority,
                "form": "text",
                "plays_per_day": "1",
                "repeat_count": "3",
                "repeat_interval_s": "60",
                "repeat_then_every_s": "0",
                "subject": "other",
            },
            kinds=["radio"],
        )

    @classmethod
    def from_bulletin(cls, b: BulletinDetail, tz: Any) -> BulletinForm:
        rep = b.repeat or {}

        def local(v: str | None) -> str:
            return datetime.fromisoformat(v).astimezone(tz).strftime("%Y-%m-%dT%H:%M") if v else ""

        return cls(
            values={
                "title": b.title,
                "priority": b.priority,
                "form": b.form,
                "text": b.text or "",
                "media": b.media or "" if b.form != "text" else "",
                "subtitles": b.subtitles or "",
                "valid_from": local(b.valid_from),
                "valid_until": local(b.valid_until),
                "plays_per_day": str(b.plays_per_day),
                "repeat_count": str(rep.get("count", 1)),
                "repeat_interval_s": str(rep.get("interval_s", 0)),
                "repeat_then_every_s": str(rep.get("then_every_s", 0)),
                "subject": b.subject,
                "voice": b.voice or "",
            },
            targets=list(b.targets),
            kinds=list(b.kinds),
            sensitive=b.sensitive,
            exercise=b.exercise,
            languages=language_form.from_saved(b.language_versions),
        )


def read_form(req: Req) -> BulletinForm:
    f = BulletinForm(values={k: req.field(k) for k in FIELDS})
    f.targets = req.fields("targets")
    f.kinds = req.fields("kinds")
    f.sensitive = req.field("sensitive") == "on"
    f.exercise = req.field("exercise") == "on"
    f.languages = language_form.read_rows(req)
    return f


def upload_files(req: Req, f: BulletinForm) -> None:
    """Store uploaded files first (content-addressed, so a later form error leaves nothing half-saved)."""
    assert req.form is not None
    for name, target in (("file", "media"), ("subtitles_file", "subtitles")):
        up = req.form.get(name)
        if isinstance(up, FileField) and up.filename:
            data = up.file.read()
            if not data:
                continue
            try:
                m = req.services.media.upload(
                    req.actor, data, filename=up.filename, declared_mime=up.content_type
                )
            except Invalid as exc:
                f.errors[target] = exc.message
                continue
            if target == "subtitles" and m["kind"] != "subtitles":
                f.errors["subtitles"] = "Tệp phụ đề phải là WebVTT (bắt đầu bằng dòng WEBVTT)."
                continue
            f.values[target] = m["sha256"]
    language_form.upload(req, f.languages, f.errors)


def _int(f: BulletinForm, name: str, label: str, default: int) -> int:
    raw = f.v(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        f.errors[name] = f"{label} phải là số nguyên."
        return default


def _when(f: BulletinForm, name: str, tz: Any) -> datetime | None:
    raw = f.v(name)
    if not raw:
        return None
    try:
        return check_date(datetime.fromisoformat(raw).replace(tzinfo=tz), name)
    except ValueError:
        f.errors[name] = "Cần ngày giờ dạng YYYY-MM-DDTHH:MM (giờ Việt Nam)."
    except Invalid as exc:
        f.errors[name] = exc.message
    return None


def to_input(f: BulletinForm, tz: Any) -> BulletinInput | None:
    """The service input, or None with f.errors filled when something is unreadable."""
    form = f.v("form") or "text"
    plays = _int(f, "plays_per_day", "Số lần phát mỗi ngày", 1)
    repeat = None
    if f.v("priority") == "emergency":
        repeat = {
            "count": _int(f, "repeat_count", "Số lần lặp", 1),
            "interval_s": _int(f, "repeat_interval_s", "Khoảng cách giữa các lần", 0),
            "then_every_s": _int(f, "repeat_then_every_s", "Nhắc lại sau đó", 0),
        }
    data = BulletinInput(
        title=f.v("title"),
        priority=f.v("priority") or "normal",
        form=form,
        targets=f.targets,
        kinds=f.kinds,
        text=f.v("text") if form == "text" else None,
        media=(f.v("media") or None) if form != "text" else None,
        subtitles=(f.v("subtitles") or None) if form == "video" else None,
        valid_from=_when(f, "valid_from", tz),
        valid_until=_when(f, "valid_until", tz),
        plays_per_day=plays,
        sensitive=f.sensitive,
        exercise=f.exercise,
        repeat=repeat,
        subject=f.v("subject") or None,
        voice=(f.v("voice") or None) if form == "text" else None,
        language_versions=language_form.to_input(f.languages, f.errors),
    )
    for problem in input_problems(data):  # every problem at once, each by its field
        field_error(f, problem, keep=True)
    return None if f.errors else data


def field_error(f: BulletinForm, exc: ServiceError, *, keep: bool = False) -> None:
    """Put a service's message next to its field (unknown fields go to the top of the form); `keep`: not
    over a message the field already has."""
    name = (exc.field or "").split(".")[0]
    name = {"repeat": "repeat_count", "id": "", "status": ""}.get(name, name)
    name = name if name in (*FIELDS, "targets", "kinds", "sensitive", language_form.FIELD) else "_form"
    if not (keep and name in f.errors):
        f.errors[name] = exc.message
