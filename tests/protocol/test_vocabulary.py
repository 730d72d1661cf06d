"""protocol.vocabulary: each shared word spelled once, with the strings the wire, the DB and the API use."""

from __future__ import annotations

import json
from typing import get_args

import playlists
from hub.services import choices, programmes
from protocol import topics
from protocol import vocabulary as v
from protocol.canonical import canonical_json


def test_values_are_todays_strings() -> None:
    assert v.PRIORITIES == ("emergency", "priority", "normal")
    assert v.ORIGINS == ("central", "province", "district", "commune")
    assert v.DEVICE_KINDS == ("radio", "led")
    assert v.PLAY_OUTCOMES == ("completed", "interrupted", "skipped", "failed")
    assert v.BULLETIN_STATUSES == (
        "draft", "submitted", "in_review", "approved", "on_air", "finished",
        "rejected", "recalled", "cancelled",
    )
    assert v.LIVE_STATUSES == ("approved", "on_air")
    # plain strings, so messages that print the tuples read as before
    assert all(type(s) is str for s in (*v.PRIORITIES, *v.ORIGINS, *v.DEVICE_KINDS, *v.BULLETIN_STATUSES))


def test_literal_types_match_the_enums() -> None:
    assert get_args(v.PriorityName) == v.PRIORITIES
    assert get_args(v.OriginName) == v.ORIGINS
    assert get_args(v.SubjectName) == v.SUBJECTS
    assert get_args(v.DeviceKindName) == v.DEVICE_KINDS


def test_members_serialise_as_their_strings() -> None:
    data = {"outcome": v.PlayOutcome.INTERRUPTED, "priority": v.Priority.EMERGENCY, "kind": v.DeviceKind.LED}
    plain = {"outcome": "interrupted", "priority": "emergency", "kind": "led"}
    assert canonical_json(data) == canonical_json(plain)
    assert json.loads(json.dumps(data)) == plain
    assert f"{v.BulletinStatus.ON_AIR}" == "on_air"
    assert v.BulletinStatus("on_air") is v.BulletinStatus.ON_AIR


def test_the_old_homes_read_from_the_vocabulary() -> None:
    assert playlists.PRIORITIES is v.PRIORITIES
    assert playlists.ORIGINS is v.ORIGINS
    assert playlists.DEVICE_KINDS is v.DEVICE_KINDS
    assert topics.DEVICE_KINDS is v.DEVICE_KINDS
    assert programmes.LIVE_STATUSES is choices.LIVE_STATUSES is v.LIVE_STATUSES
