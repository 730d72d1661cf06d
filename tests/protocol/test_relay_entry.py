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


def test_the_previous_release_parses_a_programme_with_relays_and_ignores_them() -> None:
    """An agent before relays (d38517f) drops the unknown `relays` key: it plays the bulletins and stays
    silent during the relay, refusing nothing (docs/PROTOCOL.md, "Relays")."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import types  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from protocol.messages import BulletinInfo, ProgrammeBody, ProgrammeItem  # noqa: PLC0415

    root = Path(__file__).resolve().parents[2]
    old = subprocess.run(["git", "-C", str(root), "show", "d38517f:protocol/messages.py"],
                         capture_output=True, text=True, check=False, timeout=30)
    if old.returncode != 0:
        pytest.skip("commit d38517f is not in this checkout's history (shallow clone?)")
    module = types.ModuleType("old_messages")
    sys.modules["old_messages"] = module
    try:
        exec(compile(old.stdout, "old_messages.py", "exec"), module.__dict__)  # noqa: S102 - our own history
        item = ProgrammeItem("b1", "2026-11-23T06:15:00+07:00", "2026-11-23T06:20:00+07:00", "05:00-06:30")
        day = ProgrammeDay("2026-11-23", ["05:00-06:30"], [item], relays=[RelayEntry(**GOOD)])
        info = BulletinInfo("b1", "Tin", "priority", "province", "audio", 300_000)
        new = ProgrammeBody("67/660/24613", "radio", 3, "Asia/Ho_Chi_Minh", [day], [info]).to_dict()
        assert new["days"][0]["relays"]
        parsed = module.ProgrammeBody.from_dict(new)
    finally:
        del sys.modules["old_messages"]
    assert [i.bulletin_id for i in parsed.days[0].items] == ["b1"]
    assert not hasattr(parsed.days[0], "relays")
