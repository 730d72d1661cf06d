"""Shared fixtures: a private Mosquitto per test session (real broker, free port, temp dir)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.mosquitto import MosquittoProcess


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoProcess]:
    """A real Mosquitto on a free port; tests use unique topic prefixes to stay apart."""
    with MosquittoProcess(tmp_path_factory.mktemp("mosquitto")) as proc:
        yield proc


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A broker of this test's own (for tests that restart or stop it)."""
    with MosquittoProcess(tmp_path / "mosquitto") as proc:
        yield proc
