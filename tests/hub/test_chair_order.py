"""Art. 8.2 through the API: the chair's order decides when the priority bulletins play, never whether one
from a higher level plays (a long commune bulletin ordered first does not push the province's out)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import Hub

AREA = "67/660/24613"
TODAY = "2026-11-23"


@pytest.fixture
def long_mp3(tmp_path: Path) -> bytes:
    """Audio of 4 min 58 s: with any other bulletin it overfills a 5-minute window."""
    out = tmp_path / "hop-dan.mp3"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=298",
            "-ac",
            "1",
            "-b:a",
            "16k",
            str(out),
        ],
        check=True,
        timeout=60,
    )
    return out.read_bytes()


async def approved(hub: Hub, who: str, **body: Any) -> str:
    data = {"priority": "priority", "targets": [AREA], "kinds": ["radio"], **body}
    status, b = await hub.call("POST", "/api/v1/bulletins", who, json=data)
    assert status == 201, b
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", who)
    assert status == 200, b
    return str(b["id"])


async def test_chair_order_cannot_remove_a_province_priority_bulletin(hub: Hub, long_mp3: bytes) -> None:
    # The commune's radio has one 5-minute window (its own hours, Art. 10.1): room for one of the two.
    status, rule = await hub.call(
        "PUT",
        "/api/v1/windows",
        "chair24613",
        json={"area": AREA, "kind": "radio", "effective_from": TODAY, "windows": ["05:00-05:05"]},
    )
    assert status == 200, rule
    status, media = await hub.call(
        "POST",
        "/api/v1/media?for=radio",
        "chair24613",
        data=long_mp3,
        headers={"Content-Type": "audio/mpeg"},
    )
    assert status == 201, media
    commune = await approved(
        hub, "chair24613", title="Thông báo họp dân của xã", form="audio", media=media["sha256"]
    )
    province = await approved(
        hub,
        "editor67",
        title="Lịch tiêm chủng của tỉnh",
        targets=["67"],
        text="Từ ngày 25/11, các trạm y tế xã tiêm chủng mở rộng cho trẻ dưới 5 tuổi, từ 7 giờ 30 đến 11 giờ "
        "các ngày thứ Ba và thứ Năm; đề nghị phụ huynh đưa trẻ đến đúng giờ.",
    )
    # the chair puts the commune's own bulletin first
    status, out = await hub.call(
        "PUT",
        "/api/v1/programme/order",
        "chair24613",
        json={"area": AREA, "date": TODAY, "kind": "radio", "order": [commune, province]},
    )
    assert status == 200, out
    status, prog = await hub.call(
        "GET", f"/api/v1/programme?area={AREA}&kind=radio&date={TODAY}", "chair24613"
    )
    assert status == 200, prog
    assert prog["order"] == [commune, province]
    # the province's bulletin plays; the commune's, which no longer fits, is the one left out, and why
    assert [i["bulletin_id"] for i in prog["programme"]] == [province], prog
    (why,) = [u for u in prog["unscheduled"] if u["bulletin_id"] == commune]
    assert why["reason"] == "window_full"
    assert "Lịch tiêm chủng của tỉnh" in why["detail"] or province in why["detail"], why
