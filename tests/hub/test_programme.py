"""What the retained programme and GET /api/v1/programme carry: repeat for emergencies, titles, reasons."""

from __future__ import annotations

from protocol.envelope import Verifier
from protocol.messages import ProgrammeBody, Repeat
from tests.hub.conftest import Hub

EMERGENCY = {"title": "Cảnh báo lũ quét", "priority": "emergency", "text": "Lũ quét, sơ tán ngay.",
             "targets": ["67/660"], "kinds": ["radio"], "repeat": {"count": 3, "interval_s": 120, "then_every_s": 900}}
PRIORITY = {"title": "Lịch tiêm chủng", "priority": "priority", "text": "Tiêm chủng ngày 25/11.",
            "targets": ["67/660"], "kinds": ["radio"]}


def programmes(hub: Hub, topic_end: str) -> list[ProgrammeBody]:
    v = Verifier([hub.s.envelopes.key.public])
    return [ProgrammeBody.from_dict(dict(v.verify(w, now=hub.clock.now()).body))
            for t, w, retained in hub.publisher.messages if retained and t.endswith(topic_end)]


async def test_emergency_repeat_folded_into_programme(hub: Hub) -> None:
    ids = {}
    for body in (EMERGENCY, PRIORITY):
        status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=body)
        assert status == 201, b
        status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", "editor67")
        assert status == 200, b
        ids[body["priority"]] = b["id"]
    await hub.s.publishing.flush()
    prog = programmes(hub, "67/660/24613/program/radio")[-1]
    infos = {i.id: i for i in prog.bulletins}
    assert prog.emergencies == [ids["emergency"]]
    # a late joiner learns the repeat pattern from the retained programme, same as from the alert
    assert infos[ids["emergency"]].repeat == Repeat(count=3, interval_s=120, then_every_s=900)
    assert infos[ids["priority"]].repeat is None
