"""The bulletin state machine (hub/services/lifecycle.py): every legal move, some illegal ones, and the
refusal reaching a person through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hub.errors import Conflict
from hub.roles import SYSTEM
from hub.services.lifecycle import STATUS_VI, TRANSITIONS, IllegalTransition, allowed, move
from protocol.vocabulary import BulletinStatus as S
from tests.hub.conftest import Hub
from tests.hub.test_api import TEXT

LEGAL = {
    ("draft", "submitted"), ("draft", "in_review"),
    ("rejected", "submitted"), ("rejected", "in_review"), ("rejected", "draft"),
    ("submitted", "submitted"), ("submitted", "in_review"),
    ("submitted", "approved"), ("submitted", "rejected"),
    ("in_review", "in_review"), ("in_review", "submitted"),
    ("in_review", "approved"), ("in_review", "rejected"),
    ("approved", "on_air"), ("approved", "finished"), ("approved", "recalled"), ("approved", "cancelled"),
    ("on_air", "finished"), ("on_air", "recalled"), ("on_air", "cancelled"),
}


@dataclass
class _B:
    status: str


def test_the_table_is_exactly_the_legal_moves() -> None:
    assert {(a.value, b.value) for a, to in TRANSITIONS.items() for b in to} == LEGAL
    assert set(TRANSITIONS) == set(S)  # every status has a row (the ends have an empty one)
    assert set(STATUS_VI) == {s.value for s in S}


@pytest.mark.parametrize(("old", "new"), sorted(LEGAL))
def test_every_legal_move_sets_the_plain_string(old: str, new: str) -> None:
    b = _B(old)
    move(b, S(new))
    assert b.status == new and type(b.status) is str


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("draft", "approved"),  # not without being submitted
        ("draft", "on_air"),
        ("rejected", "approved"),
        ("submitted", "on_air"),
        ("approved", "draft"),  # an approved bulletin is not edited back
        ("approved", "submitted"),
        ("on_air", "approved"),
        ("finished", "on_air"),  # the ends are final
        ("recalled", "approved"),
        ("cancelled", "on_air"),
        ("recalled", "recalled"),
        ("finished", "finished"),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(old: str, new: str) -> None:
    b = _B(old)
    with pytest.raises(IllegalTransition) as err:
        move(b, S(new))
    assert b.status == old
    assert isinstance(err.value, Conflict) and err.value.status == 409
    assert err.value.field == "status" and err.value.extra == {"from": old, "to": new}
    assert STATUS_VI[old] in err.value.message and STATUS_VI[new] in err.value.message


def test_unknown_statuses_are_never_allowed() -> None:
    assert not allowed("published", "approved")
    assert not allowed("approved", "published")
    assert not allowed("", "draft")
    b = _B("archived")  # a row written by hand with a status nobody knows
    with pytest.raises(IllegalTransition, match="archived"):
        move(b, S.APPROVED)
    assert b.status == "archived"


async def test_a_bulletin_lives_through_the_api_and_an_end_is_final(hub: Hub) -> None:
    hub.s.devices.register(SYSTEM, device_id="radio-1", kind="radio", area="67/660/24613")
    status, b = await hub.call("POST", "/api/v1/bulletins", "editor67", json=TEXT)
    assert status == 201 and b["status"] == "submitted", b
    bid = b["id"]
    status, b = await hub.call("POST", f"/api/v1/bulletins/{bid}/approve", "editor67")
    assert status == 200 and b["status"] == "approved", b

    def play(event_id: str) -> dict[str, Any]:
        return {
            "id": event_id, "device_id": "radio-1", "type": "play", "at": "2026-11-23T05:00:00+07:00",
            "data": {"bulletin_id": bid, "outcome": "completed", "started_at": "2026-11-23T05:00:00+07:00",
                     "ended_at": "2026-11-23T05:01:00+07:00", "scheduled_at": None, "emergency": False},
        }

    assert hub.s.devices.ingest_events("radio-1", play("radio-1:first")) == 1  # the device ingest moves it
    status, b = await hub.call("GET", f"/api/v1/bulletins/{bid}", "viewer")
    assert status == 200 and b["status"] == "on_air", b
    recall = f"/api/v1/bulletins/{bid}/recall"
    status, b = await hub.call("POST", recall, "editor67", json={"reason": "Sai ngày"})
    assert status == 200 and b["status"] == "recalled", b
    # a recalled bulletin is not approved, recalled or put on air again
    status, err = await hub.call("POST", f"/api/v1/bulletins/{bid}/approve", "editor67")
    assert status == 409 and err["error"]["field"] == "status", err
    status, err = await hub.call("POST", recall, "editor67", json={"reason": "Lại"})
    assert status == 409 and err["error"]["field"] == "status", err
    hub.s.devices.ingest_events("radio-1", play("radio-1:late"))  # a play reported late, or replayed
    status, b = await hub.call("GET", f"/api/v1/bulletins/{bid}", "viewer")
    assert status == 200 and b["status"] == "recalled", b
