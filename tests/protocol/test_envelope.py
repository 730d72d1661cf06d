from datetime import UTC, datetime, timedelta

import pytest

from protocol import EnvelopeError, KeyPair, SeqTracker, Signer, Topics, Verifier, ancestors, canonical_json

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def _signed(kp: KeyPair, seq: int = 1, expires: datetime | None = None) -> bytes:
    return Signer(kp.private).sign(type="alert", id="e1", seq=seq, issued_at=NOW, expires_at=expires,
                                   body={"title": "Bão số 9"})


def test_roundtrip_and_canonical_form() -> None:
    kp = KeyPair.generate()
    env = Verifier([kp.public]).verify(_signed(kp), now=NOW)
    assert env.body == {"title": "Bão số 9"} and env.seq == 1 and env.key_id == kp.key_id
    assert canonical_json({"b": 1, "a": "ố"}) == '{"a":"ố","b":1}'.encode()


@pytest.mark.parametrize("mutate, reason", [
    (lambda w: w.replace(b"B\xc3\xa3o", b"Bao"), "bad_signature"),
    (lambda w: w.replace(b'"sig"', b'"sog"'), "unsigned"),
    (lambda w: b"not json", "malformed"),
    (lambda w: b"{}", "malformed"),
])
def test_tampering_is_rejected(mutate, reason) -> None:
    kp = KeyPair.generate()
    with pytest.raises(EnvelopeError) as info:
        Verifier([kp.public]).verify(mutate(_signed(kp)), now=NOW)
    assert info.value.reason == reason


def test_unknown_key_expired_oversized_and_replay() -> None:
    kp, other = KeyPair.generate(), KeyPair.generate()
    with pytest.raises(EnvelopeError, match="unknown_key"):
        Verifier([other.public]).verify(_signed(kp), now=NOW)
    with pytest.raises(EnvelopeError, match="expired"):
        Verifier([kp.public]).verify(_signed(kp, expires=NOW - timedelta(seconds=1)), now=NOW)
    with pytest.raises(EnvelopeError, match="oversized"):
        Verifier([kp.public], max_bytes=50).verify(_signed(kp), now=NOW)
    tracker = SeqTracker()
    v = Verifier([kp.public])
    tracker.accept("t", v.verify(_signed(kp, seq=5), now=NOW))
    with pytest.raises(EnvelopeError, match="replayed"):
        tracker.accept("t", v.verify(_signed(kp, seq=5), now=NOW))
    tracker.accept("other", v.verify(_signed(kp, seq=5), now=NOW))


def test_topics() -> None:
    t = Topics()
    assert ancestors("67/660/24613") == ["67", "67/660", "67/660/24613"]
    assert t.program("67/660/24613", "radio") == "nguon/v1/area/67/660/24613/program/radio"
    assert t.device_from_topic("nguon/v1/device/d-1/event") == "d-1"
    with pytest.raises(ValueError, match="area path"):
        t.alert("67//1")
    with pytest.raises(ValueError, match="device kind"):
        t.program("67", "tv")
