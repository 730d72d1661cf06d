"""set_area (docs/PROTOCOL.md): the area a reorganisation moved the device to is kept over the config file's,
until a technician edits the config; a malformed area is refused with what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.commands import CommandError, check
from edge_agent.store import Store
from protocol.messages import CommandBody


def test_the_moved_area_outlives_a_restart_until_the_config_changes(tmp_path: Path) -> None:
    store = Store(tmp_path / "agent.db")
    assert store.area_for("67/660/24613") is None
    store.save_area("67/24611", "67/660/24613")
    store.close()
    store = Store(tmp_path / "agent.db")  # a restart (power cut, systemd) keeps it
    assert store.area_for("67/660/24613") == "67/24611"
    assert store.area_for("68/24781") is None  # the config file was edited since: it wins
    store.close()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ({}, "thiếu tham số: area"),
        ({"area": "67/../x"}, "khu vực mới không hợp lệ"),
        ({"area": 67}, "khu vực mới không hợp lệ"),
        ({"area": "67/24611", "level": 3}, "thừa: level"),
    ],
)
def test_a_bad_set_area_is_refused(args: dict[str, object], says: str) -> None:
    with pytest.raises(CommandError, match=says):
        check(CommandBody("set_area", args))
    check(CommandBody("set_area", {"area": "67/24611"}))
