from datetime import UTC, datetime, timedelta

import pytest

from protocol import EnvelopeError, KeyPair, SeqTracker, Signer, Topics, Verifier, ancestors, canonical_json

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def _signed(kp: KeyPair, seq: int = 1, expires: datetime | None = None) -> bytes:
    return Signer(kp.private).sign(type="alert", id="e1", seq=seq, issued_at=NOW, expires_at=expires,
                                   body={"title": "Bão số 9"}, audience=["nguon/v1/area/67/alert"])


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


def test_attachments_ride_unsigned_and_are_trusted_only_by_their_hash() -> None:
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    from protocol.envelope import check_attachment  # noqa: PLC0415

    kp = KeyPair.generate()
    audio = bytes(range(256)) * 40
    sha = hashlib.sha256(audio).hexdigest()
    wire = Signer(kp.private).sign(type="alert", id="e1", seq=1, issued_at=NOW, expires_at=None,
                                   body={"media": {"sha256": sha, "size": len(audio)}}, attachments=[audio],
                                   audience=["nguon/v1/area/67/alert"])
    v = Verifier([kp.public])
    env = v.verify(wire, now=NOW)
    assert set(env.attachments) == {sha}
    assert check_attachment(env, sha, len(audio)) == audio
    assert check_attachment(env, sha, len(audio) + 1) is None  # the signed size must match too
    assert check_attachment(env, "0" * 64, len(audio)) is None  # not attached

    # Not signed: changing it leaves the signature valid, but the hash check refuses the bytes.
    outer = json.loads(wire)
    outer["attachments"][sha] = base64.b64encode(b"x" + audio[1:]).decode()
    env2 = v.verify(json.dumps(outer).encode(), now=NOW)
    assert check_attachment(env2, sha, len(audio)) is None
    outer["attachments"][sha] = "not base64!"
    assert check_attachment(v.verify(json.dumps(outer).encode(), now=NOW), sha, len(audio)) is None
    outer["attachments"] = ["junk"]  # the wrong shape is ignored, never the message with it
    assert v.verify(json.dumps(outer).encode(), now=NOW).attachments == {}
    # A message without attachments has the wire form it always had.
    plain = _signed(kp)
    assert b"attachments" not in plain and v.verify(plain, now=NOW).attachments == {}


def test_attachment_decoding_without_pybase64(monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard library path (a device without pybase64) accepts and refuses exactly the same."""
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415

    from protocol import envelope  # noqa: PLC0415

    kp = KeyPair.generate()
    audio = b"\x00\xffID3" * 999
    sha = hashlib.sha256(audio).hexdigest()
    wire = Signer(kp.private).sign(type="alert", id="e2", seq=1, issued_at=NOW, expires_at=None,
                                   body={}, attachments=[audio], audience=["nguon/v1/area/67/alert"])
    env = Verifier([kp.public]).verify(wire, now=NOW)
    for decoder in (envelope._b64, None):
        monkeypatch.setattr(envelope, "_b64", decoder)
        assert envelope.check_attachment(env, sha, len(audio)) == audio
        for bad in ("AAAA=", "AA AA", base64.b64encode(audio).decode() + "\n"):
            bent = envelope.Envelope(**{**env.__dict__, "attachments": {sha: bad}})
            assert envelope.check_attachment(bent, sha, len(audio)) is None


def test_verify_reads_the_same_with_the_standard_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson reads alerts on devices that have it; without it the standard library gives the same result."""
    import json  # noqa: PLC0415

    from protocol import envelope  # noqa: PLC0415

    kp = KeyPair.generate()
    wire = _signed(kp)
    for loads in (envelope._loads, json.loads):
        monkeypatch.setattr(envelope, "_loads", loads)
        assert Verifier([kp.public]).verify(wire, now=NOW).body == {"title": "Bão số 9"}
        for bad in (b"not json", b"\xff\xfe", b"[1, 2"):
            with pytest.raises(EnvelopeError) as info:
                Verifier([kp.public]).verify(bad, now=NOW)
            assert info.value.reason == "malformed"
        with pytest.raises(EnvelopeError):  # "malformed" (orjson) or "unsigned" (json): refused either way
            Verifier([kp.public]).verify(b'{"envelope": NaN}', now=NOW)


def test_audience_is_signed_and_checked() -> None:
    """The audience (the topics the hub published on) is inside what is signed; a receiver refuses a
    message on any other topic, and one without audience (a hub older than the agent, or a replay)."""
    import base64  # noqa: PLC0415
    import json  # noqa: PLC0415

    from protocol.envelope import Envelope, check_audience  # noqa: PLC0415

    kp = KeyPair.generate()
    v = Verifier([kp.public])
    a611, a613 = Topics().alert("67/660/24611"), Topics().alert("67/660/24613")
    wire = Signer(kp.private).sign(
        type="alert",
        id="e1",
        seq=5,
        issued_at=NOW,
        expires_at=None,
        body={},
        audience=[a611, Topics().alert("67")],
    )
    env = v.verify(wire, now=NOW)
    check_audience(env, a611)
    check_audience(env, Topics().alert("67"))
    with pytest.raises(EnvelopeError) as exc:
        check_audience(env, a613)
    assert exc.value.reason == "misaddressed" and a613 in exc.value.detail
    # moved by hand: the signature no longer matches
    outer = json.loads(wire)
    outer["envelope"]["audience"] = [a613]
    with pytest.raises(EnvelopeError, match="bad_signature"):
        v.verify(json.dumps(outer).encode(), now=NOW)
    # malformed audiences are refused as malformed, never raised as something else
    for bad in ("nguon/v1/area/67/alert", [1], [""], {"a": 1}, [None], [[a611]]):
        body = Envelope("alert", "e1", 5, NOW, None, kp.key_id, {}).to_dict() | {"audience": bad}
        sig = base64.b64encode(kp.private.sign(canonical_json(body))).decode()
        with pytest.raises(EnvelopeError, match="malformed"):
            v.verify(json.dumps({"envelope": body, "sig": sig}).encode(), now=NOW)
    # none at all (an old hub's message): verifies, but check_audience refuses it
    old = v.verify(
        Signer(kp.private).sign_envelope(Envelope("alert", "e0", 4, NOW, None, kp.key_id, {})), now=NOW
    )
    assert old.audience == ()
    with pytest.raises(EnvelopeError, match="misaddressed"):
        check_audience(old, a611)
    with pytest.raises(ValueError, match="audience"):
        Signer(kp.private).sign(
            type="alert", id="e2", seq=6, issued_at=NOW, expires_at=None, body={}, audience=[]
        )
