"""Central-link fixtures: a test hub (tests/hub/conftest.py) with the central interface on and a key pinned,
and helpers that write Vietnamese CAP alerts and send them signed, as the central system would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.central import capwrite
from hub.central.signature import sign_headers
from protocol.keys import public_key_b64
from tests.hub.conftest import (  # noqa: F401 - fixtures
    T0,
    Hub,
    _task_leak_check,
    make_config,
    no_leaked_tasks,
    running_hub,
)
from tests.hub.conftest import hub as hub  # noqa: PLC0414 - the fixture, for tests/central

__all__ = ["DATA", "SENDER", "CentralHub", "vi_alert"]

DATA = Path(__file__).parent / "data"
SENDER = "canhbao@httt-nguon.gov.vn"


def vi_alert(
    identifier: str,
    *,
    codes: tuple[str, ...] = ("24611",),
    status: str = "Actual",
    msg_type: str = "Alert",
    sent: datetime = T0,
    expires: datetime | None = None,
    urgency: str = "Immediate",
    severity: str = "Extreme",
    references: tuple[tuple[str, str, datetime], ...] = (),
    headline: str = "Cảnh báo lũ quét",
    description: str = "Mưa lớn kéo dài, nguy cơ lũ quét và sạt lở đất tại các xã ven suối.",
    instruction: str = "Bà con khẩn trương di chuyển người và tài sản đến nơi an toàn.",
    parameters: tuple[tuple[str, str], ...] = (),
    resources: tuple[capwrite.ResourceOut, ...] = (),
    polygons: tuple[str, ...] = (),
    circles: tuple[str, ...] = (),
    english_first: bool = False,
) -> bytes:
    """A Vietnamese CAP 1.2 alert from the central system."""
    vi = capwrite.InfoOut(
        language="vi-VN",
        category="Met",
        event="Lũ quét",
        urgency=urgency,
        severity=severity,
        certainty="Likely",
        headline=headline,
        description=description,
        instruction=instruction,
        sender_name="Hệ thống thông tin nguồn Trung ương",
        expires=expires or sent + timedelta(hours=2),
        parameters=parameters,
        resources=resources,
        areas=[
            capwrite.AreaOut(
                description="Các xã được cảnh báo",
                geocodes=[("VN-DVHC", c) for c in codes],
                polygons=polygons,
                circles=circles,
            )
        ]
        if codes or polygons or circles
        else [],
    )
    en = capwrite.InfoOut(
        language="en-US",
        category="Met",
        event="Flash flood",
        urgency=urgency,
        severity=severity,
        certainty="Likely",
        headline="Flash flood warning",
        expires=expires or sent + timedelta(hours=2),
        areas=[capwrite.AreaOut(description="x", geocodes=[("VN-DVHC", c) for c in codes])],
    )
    return capwrite.write(
        capwrite.AlertOut(
            identifier=identifier,
            sender=SENDER,
            sent=sent,
            status=status,
            msg_type=msg_type,
            references=references,
            infos=[en, vi] if english_first else [vi],
        )
    )


class CentralHub:
    """The test hub plus the central system's key."""

    def __init__(self, test_hub: Hub, key: Ed25519PrivateKey) -> None:
        self.hub, self.key = test_hub, key

    async def send(
        self, body: bytes, *, key: Ed25519PrivateKey | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        h = headers if headers is not None else self.sign(body, key=key)
        r = await self.hub.client.post(
            "/api/v1/central/cap", data=body, headers={"Content-Type": "application/cap+xml", **h}
        )
        return r.status, await r.json()

    def sign(self, body: bytes, *, key: Ed25519PrivateKey | None = None, **kw: Any) -> dict[str, str]:
        return sign_headers(key or self.key, "POST", "/api/v1/central/cap", body, self.hub.clock.now(), **kw)

    def audit(self, action: str) -> list[dict[str, Any]]:
        from hub.roles import SYSTEM  # noqa: PLC0415

        return self.hub.s.audit(SYSTEM, action=action)


def central_config(tmp: Path, key: Ed25519PrivateKey, **central: Any) -> Any:
    return make_config(
        tmp, central={"enabled": True, "public_keys": [public_key_b64(key.public_key())], **central}
    )


@pytest.fixture
async def central(tmp_path: Path) -> AsyncIterator[CentralHub]:
    key = Ed25519PrivateKey.generate()
    async with running_hub(central_config(tmp_path, key)) as h:
        yield CentralHub(h, key)


def alerts(test_hub: Hub) -> list[tuple[str, Any]]:
    """(topic, AlertBody) of every alert the hub published, verified with its key."""
    from protocol.envelope import Verifier  # noqa: PLC0415
    from protocol.messages import AlertBody  # noqa: PLC0415

    verifier = Verifier([test_hub.s.envelopes.key.public])
    out = []
    for topic, wire, _ in test_hub.publisher.messages:
        if topic.endswith("/alert"):
            env = verifier.verify(wire, now=test_hub.clock.now())
            out.append((topic, AlertBody.from_dict(dict(env.body))))
    return out
