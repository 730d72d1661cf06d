"""The API fuzzed from its own OpenAPI document (schemathesis) against a running hub, logged in as staff:
no server error, and every answer as the document says (status, content type, schema)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from hub.app import HubRuntime
from hub.config import build_config
from hub.roles import SYSTEM
from tests.web.conftest import PASSWORD, SAMPLE, USERS

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
# Logging out would end the fuzzer's own session; everything else is fair game.
SKIP = {("POST", "/api/v1/auth/logout")}
# per operation: ~30 operations, the whole test well under a minute; NGUON_FUZZ_EXAMPLES=200 for a deeper run
EXAMPLES = int(os.environ.get("NGUON_FUZZ_EXAMPLES", "12"))


class RunningHub:
    """A HubRuntime (HTTP on a free port, SQLite, espeak-ng) on an event loop of its own thread."""

    def __init__(self, tmp: Path) -> None:
        self.config = build_config(
            {
                "data_dir": str(tmp / "hub"),
                "mqtt": {"enabled": False},
                "programme": {"scheduler": False},
                "http": {"port": 0},
            },
            environ={},
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzzed-hub", daemon=True)
        self.runtime = HubRuntime(self.config)
        self.tokens: dict[str, str] = {}

    def __enter__(self) -> RunningHub:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.runtime.start(), self.loop).result(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runtime.stop(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    with RunningHub(tmp_path_factory.mktemp("fuzz")) as h:
        services: Any = h.runtime.services
        services.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        for name, role, area in USERS:
            services.accounts.create_user(SYSTEM, username=name, password=PASSWORD, role=role, area=area)
        # tokens first: fuzzing the login route soon gets this address throttled (as it should)
        for who in ("admin1", "editor67"):
            r = requests.post(
                f"{h.runtime.url}/api/v1/auth/login", json={"username": who, "password": PASSWORD}, timeout=10
            )
            h.tokens[who] = r.json()["token"]
        yield h


def _operations(schema: Any) -> list[Any]:
    ops = [r.ok() for r in schema.get_all_operations()]
    return [op for op in ops if (op.method.upper(), op.path) not in SKIP]


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("who", ["admin1", "editor67"])
def test_the_api_holds_to_its_document_under_fuzzing(running: RunningHub, who: str) -> None:
    base = running.runtime.url
    headers = {"Authorization": f"Bearer {running.tokens[who]}"}
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    session = requests.Session()
    failures: list[str] = []
    calls = 0
    operations = _operations(schema)
    assert len(operations) >= 25
    for op in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=base, session=session, headers=headers, checks=CHECKS, timeout=30)

        try:
            run()
        except BaseException as exc:  # collect every operation's failure, then report them together
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    assert calls >= len(operations) * 3  # hypothesis ran: a few examples at least for each operation
