"""`python -m hub demo ...` hands the demo its arguments untouched, a directory named "demo" included."""

from __future__ import annotations

import pytest

import hub.__main__ as cli
from hub import demo


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["demo", "--data-dir", "demo"], ["--data-dir", "demo"]),
        (
            ["--config", "hub.toml", "demo", "--data-dir", "var/demo"],
            ["--config", "hub.toml", "--data-dir", "var/demo"],
        ),
        (["demo"], []),
    ],
)
def test_demo_word_is_dropped_only_where_it_is_the_command(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], expected: list[str]
) -> None:
    seen: list[list[str]] = []

    def record(args: list[str] | None = None) -> int:
        seen.append(list(args or []))
        return 0

    monkeypatch.setattr(demo, "main", record)
    assert cli.main(argv) == 0
    assert seen == [expected]
