"""The bulletin form's language versions (bản tiếng dân tộc, "Thêm bản tiếng dân tộc"): rows of a language and
an audio file, read, uploaded and turned into the service's input (hub/services/languages.py checks them)."""

from __future__ import annotations

from typing import Any

from aiohttp.web_request import FileField

from hub.errors import Invalid
from hub.services.languages import CATALOGUE, MAX_VERSIONS, VIE
from hub.web.core import Req

FIELD = "language_versions"
EMPTY_ROWS = 2  # rows offered for new versions below the ones the bulletin has


def choices() -> list[tuple[str, str]]:
    return [(c, n) for c, n in CATALOGUE.items() if c != VIE]


def read_rows(req: Req) -> list[dict[str, str]]:
    """The rows as typed: language code, the audio already uploaded (sha256) and its index."""
    rows = []
    for i in range(MAX_VERSIONS):
        code, media = req.field(f"lang_{i}").strip(), req.field(f"lang_media_{i}").strip()
        if code or media or _file(req, i) is not None:
            rows.append({"i": str(i), "language": code, "media": media})
    return rows


def _file(req: Req, i: int) -> FileField | None:
    up = req.form.get(f"lang_file_{i}") if req.form is not None else None
    return up if isinstance(up, FileField) and up.filename else None


def upload(req: Req, rows: list[dict[str, str]], errors: dict[str, str]) -> None:
    """Store each row's audio (the loudspeakers' kind: audio only); an error names the row's language."""
    for row in rows:
        up = _file(req, int(row["i"]))
        if up is None:
            continue
        data = up.file.read()
        if not data:
            continue
        try:
            m = req.services.media.upload(
                req.actor, data, filename=up.filename, declared_mime=up.content_type, purpose="radio"
            )
        except Invalid as exc:
            name = CATALOGUE.get(row["language"], "dân tộc")
            errors.setdefault(FIELD, f"Bản tiếng {name}: {exc.message}")
            continue
        row["media"] = m["sha256"]


def to_input(rows: list[dict[str, str]], errors: dict[str, str]) -> tuple[tuple[str, str], ...]:
    for row in rows:
        if not row["language"]:
            errors.setdefault(FIELD, "Chọn tiếng cho mỗi bản ghi âm tiếng dân tộc (hoặc bỏ tệp đó đi).")
    return tuple((r["language"], r["media"]) for r in rows if r["language"])


def from_saved(saved: list[dict[str, str]] | None) -> list[dict[str, str]]:
    return [{"i": str(i), "language": v["language"], "media": v["media"]} for i, v in enumerate(saved or [])]


def shown(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
    """The rows the form shows: the versions it has, then empty ones, numbered afresh."""
    out: list[dict[str, Any]] = [{**r, "i": i} for i, r in enumerate(rows[:MAX_VERSIONS])]
    while len(out) < min(len(rows) + EMPTY_ROWS, MAX_VERSIONS):
        out.append({"i": len(out), "language": "", "media": ""})
    return out
