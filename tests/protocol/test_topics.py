"""protocol.topics.covers: the one answer to "does this target cover that area" (hub and playlists use it)."""

from __future__ import annotations

import pytest

from protocol.topics import ancestors, covers


@pytest.mark.parametrize(
    ("target", "area", "expected"),
    [
        ("67", "67", True),
        ("67", "67/660", True),
        ("67", "67/660/24613", True),
        ("67/660", "67/660/24613", True),
        ("67/660/24613", "67/660/24613", True),
        # a sibling whose code starts with the same digits is not covered
        ("67/66", "67/660", False),
        ("67/660", "67/6601/1", False),
        # a child does not cover its parent
        ("67/660", "67", False),
        ("68", "67/660", False),
        ("", "67", False),
    ],
)
def test_covers(target: str, area: str, expected: bool) -> None:
    assert covers(target, area) is expected


def test_covers_agrees_with_ancestors() -> None:
    area = "67/660/24613"
    for a in ancestors(area):
        assert covers(a, area)
    assert not covers("67/660/2461", area)
