"""The programme's relay entries (docs/PROTOCOL.md, "Relays"): what a new agent accepts and refuses."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.messages import ProgrammeDay, RelayEntry

GOOD = {"relay_id": "relay-1", "title": "Thời sự", "url": "https://radio.example.vn/vov1.mp3",
        "start": "2026-11-23T06:00:00+07:00", "end": "2026-11-23T06:15:00+07:00", "window": "05:00-06:30"}


def test_a_day_carries_its_relays_and_a_day_without_them_has_none() -> None:
    day = ProgrammeDay.from_dict({"date": "2026-11-23", "windows": [], "items": [], "relays": [GOOD]})
    assert day.relays == [RelayEntry(**GOOD)]
    assert ProgrammeDay.from_dict({"date": "2026-11-23", "windows": [], "items": []}).relays == []


@pytest.mark.parametrize("bad", [
    {"url": "ftp://radio.example.vn/a.mp3"},
    {"url": "file:///etc/passwd"},
    {"url": "https://radio.example.vn/" + "a" * 500},
    {"url": "https://user:pw@radio.example.vn/a.mp3"},
    {"url": "https://radio.example.vn/a b.mp3"},
    {"end": "2026-11-23T05:59:00+07:00"},
    {"relay_id": ""},
    {"title": "x" * 201},
    {"start": "06:00"},
])
def test_a_malformed_relay_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RelayEntry.from_dict({**GOOD, **bad})
