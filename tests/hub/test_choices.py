"""Art. 8.3 through the API: a normal bulletin airs only once the commune chair (or the commune's standing
rule) chose it; for a day or its whole validity, on the radio, the LED board or both; hostile requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.config import ConfigError, build_config
from hub.models import AuditEntry, NormalChoice, StandingChoice
from protocol.envelope import MAX_MESSAGE_BYTES
from tests.dbfill import add_approved_led_bulletins
from tests.hub.conftest import Hub
from tests.hub.test_programme import programmes

AREA = "67/660/24613"
TODAY, TOMORROW = "2026-11-23", "2026-11-24"
NORMAL = {
    "title": "Họp dân về đường giao thông",
    "priority": "normal",
    "text": "Mời bà con dự họp tại nhà văn hóa thôn.",
    "targets": ["67/660"],
    "kinds": ["radio", "led"],
}


async def approved(hub: Hub, who: str = "editor67", **over: Any) -> str:
    status, b = await hub.call("POST", "/api/v1/bulletins", who, json={**NORMAL, **over})
    assert status == 201, b
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", who)
    assert status == 200, b
    return str(b["id"])


async def programme(hub: Hub, day: str = TODAY, kind: str = "radio", area: str = AREA) -> dict[str, Any]:
    status, prog = await hub.call(
        "GET", f"/api/v1/programme?area={area}&kind={kind}&date={day}", "chair24613"
    )
    assert status == 200, prog
    return dict(prog)


def on_air(prog: dict[str, Any]) -> set[str]:
    return {i["bulletin_id"] for i in prog["programme"]}


async def choose(hub: Hub, who: str = "chair24613", **body: Any) -> tuple[int, Any]:
    return await hub.call("PUT", "/api/v1/programme/selection", who, json={"area": AREA, **body})


def audits(hub: Hub, action: str, outcome: str = "ok") -> list[AuditEntry]:
    with hub.s.ctx.db.session() as sess:
        q = select(AuditEntry).where(AuditEntry.action == action, AuditEntry.outcome == outcome)
        return list(sess.scalars(q))


async def test_normal_bulletin_waits_until_the_chair_chooses_it_for_the_day(hub: Hub) -> None:
    n = await approved(hub)
    prog = await programme(hub)
    assert n not in on_air(prog)
    assert prog["choices"][n] == {"chosen": False, "by": "waiting"}
    assert [b["id"] for b in prog["waiting"]] == [n]
    status, w = await hub.call("GET", f"/api/v1/programme/waiting?area={AREA}", "chair24613")
    assert status == 200 and w["count"] == 1 and w["bulletins"][0]["title"] == NORMAL["title"]
    # nothing went down to the devices either
    await hub.s.publishing.flush()
    assert all(
        n not in {i.bulletin_id for d in p.days for i in d.items}
        for p in programmes(hub, f"{AREA}/program/radio")
    )

    status, out = await choose(hub, selection=[n], date=TODAY, kind="radio")
    assert status == 200 and out["changed"] == 1, out
    prog = await programme(hub)
    assert n in on_air(prog) and prog["choices"][n]["by"] == "day" and prog["waiting"] == []
    await hub.s.publishing.flush()
    (today,) = [d for d in programmes(hub, f"{AREA}/program/radio")[-1].days if d.date == TODAY]
    assert n in {i.bulletin_id for i in today.items}
    # for that day only, and on the radio only
    assert n not in on_air(await programme(hub, TOMORROW))
    assert n not in on_air(await programme(hub, kind="led"))
    # another commune of the district is untouched
    status, other = await hub.call(
        "GET", f"/api/v1/programme?area=67/660/24611&kind=radio&date={TODAY}", "chair24611"
    )
    assert n not in on_air(other)


async def test_chosen_for_the_validity_carries_to_tomorrow_and_both_kinds_reach_the_led_board(
    hub: Hub,
) -> None:
    n = await approved(hub)
    status, out = await choose(hub, selection=[n], scope="validity")  # kind '*' = both
    assert status == 200 and out["changed"] == 2 and out["date"] is None, out
    for day in (TODAY, TOMORROW):
        for kind in ("radio", "led"):
            prog = await programme(hub, day, kind)
            assert n in on_air(prog), (day, kind)
            assert prog["choices"][n]["by"] == "validity"
    await hub.s.publishing.flush()
    led = programmes(hub, f"{AREA}/program/led")[-1]
    assert {d.date for d in led.days if n in {i.bulletin_id for i in d.items}} >= {TODAY, TOMORROW}
    # a decision for one day wins over the validity one: not tomorrow on the LED board
    status, out = await choose(hub, declined=[n], date=TOMORROW, kind="led")
    assert status == 200 and out["changed"] == 1, out
    prog = await programme(hub, TOMORROW, "led")
    assert n not in on_air(prog)
    (why,) = [u for u in prog["unscheduled"] if u["bulletin_id"] == n]
    assert why["reason"] == "declined" and "không chọn" in why["detail"]
    assert n in on_air(await programme(hub, TOMORROW, "radio"))
    # audited as the chair's decision
    (first, second) = audits(hub, "programme.choose")
    assert first.username == "chair24613" and first.detail["scope"] == "validity"
    assert second.detail["date"] == TOMORROW and second.detail["changes"] == [
        {"bulletin_id": n, "kind": "led", "chosen": False}
    ]


async def test_standing_rule_airs_new_province_bulletins_and_is_audited(hub: Hub) -> None:
    status, out = await hub.call(
        "PUT",
        "/api/v1/programme/standing",
        "chair24613",
        json={"area": AREA, "origins": ["province"], "kinds": ["radio"]},
    )
    assert status == 200 and out["rules"] == [{"origin": "province", "kind": "radio"}], out
    (entry,) = audits(hub, "programme.standing")
    assert entry.username == "chair24613" and entry.target == AREA
    assert entry.detail == {"before": [], "after": [["province", "radio"]]}
    province = await approved(hub)  # editor67 writes for the province
    district = await approved(hub, "editor660", title="Thông báo của huyện")
    prog = await programme(hub)
    assert province in on_air(prog) and prog["choices"][province]["by"] == "standing"
    assert district not in on_air(prog) and [b["id"] for b in prog["waiting"]] == [district]
    assert province not in on_air(await programme(hub, kind="led"))  # the rule is for the radio only
    assert prog["standing"] == [{"origin": "province", "kind": "radio"}]
    await hub.s.publishing.flush()
    assert province in {
        i.bulletin_id for d in programmes(hub, f"{AREA}/program/radio")[-1].days for i in d.items
    }
    # the chair can still decline one bulletin the rule would take
    status, out = await choose(hub, declined=[province], date=TODAY, kind="radio")
    assert status == 200
    assert province not in on_air(await programme(hub))
    assert province in on_air(await programme(hub, TOMORROW))
    # the same rule again changes nothing and is not audited twice
    status, out = await hub.call(
        "PUT",
        "/api/v1/programme/standing",
        "chair24613",
        json={"area": AREA, "origins": ["province"], "kinds": ["radio"]},
    )
    assert status == 200 and out["changed"] is False and len(audits(hub, "programme.standing")) == 1
    # rule off: waiting again
    status, out = await hub.call(
        "PUT", "/api/v1/programme/standing", "chair24613", json={"area": AREA, "origins": [], "kinds": []}
    )
    assert status == 200 and out["rules"] == []
    assert province not in on_air(await programme(hub, TOMORROW))
    status, got = await hub.call("GET", f"/api/v1/programme/standing?area={AREA}", "chair24613")
    assert status == 200 and got["rules"] == []


async def test_hostile_choices_are_refused_and_change_nothing(hub: Hub) -> None:
    n = await approved(hub)
    elsewhere = await approved(hub, targets=["67/660/24611"], title="Chỉ cho xã khác")
    led_only = await approved(hub, kinds=["led"], title="Chỉ cho bảng tin")
    prio = await approved(hub, priority="priority", title="Bản tin ưu tiên")
    ended = await approved(hub, valid_until="2026-11-23T12:00:00+07:00", title="Hết hạn trưa nay")
    # another commune's chair: 403, audited
    status, out = await choose(hub, "chair24611", selection=[n], date=TODAY)
    assert status == 403, out
    assert audits(hub, "programme.arrange", "denied")
    status, out = await hub.call(
        "PUT",
        "/api/v1/programme/standing",
        "chair24611",
        json={"area": AREA, "origins": ["province"], "kinds": ["radio"]},
    )
    assert status == 403, out
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"selection": [elsewhere]}, "selection", "không gửi tới xã"),
        ({"selection": ["b-000000000000"]}, "selection", "không có"),
        ({"selection": [prio]}, "selection", "không phải bản tin thông thường"),
        ({"selection": [led_only], "kind": "radio"}, "selection", "không dành cho đài truyền thanh"),
        ({"selection": [n, n]}, "selection", "lặp lại"),
        ({"selection": [n], "declined": [n]}, "declined", "vừa được chọn vừa bị bỏ"),
        ({"selection": [n], "date": "2026-11-22"}, "date", "đã qua"),
        ({"selection": [ended], "date": TOMORROW}, "selection", "không có hiệu lực ngày 24/11/2026"),
        ({"selection": []}, "selection", "Không có bản tin"),
        ({"selection": [n] * 501}, "selection", ""),
        ({"selection": [n], "scope": "forever"}, "scope", ""),
        ({"selection": [n], "area": "67/999/1"}, "area", ""),
        ({"selection": [n], "owner": "chair24611"}, "owner", ""),
    ]
    for body, field, words in cases:
        status, out = await choose(hub, **body)
        assert status == 422, (body, out)
        assert out["error"]["field"] == field, (body, out)
        assert words in out["error"]["message"], (body, out)
    status, out = await choose(hub, "admin1", selection=[n], area="67/660")  # a district, not a commune
    assert status == 422 and "không phải cấp xã" in out["error"]["message"], out
    for body in (
        {"origins": ["ward"], "kinds": ["radio"]},
        {"origins": ["province"], "kinds": []},
        {"origins": ["province", "province"], "kinds": ["radio"]},
    ):
        status, out = await hub.call(
            "PUT", "/api/v1/programme/standing", "chair24613", json={"area": AREA, **body}
        )
        assert status == 422, (body, out)
    # reading another commune's rule or waiting list: 403; an unknown commune or a missing one: 422
    for path in (f"/api/v1/programme/standing?area={AREA}", f"/api/v1/programme/waiting?area={AREA}"):
        status, out = await hub.call("GET", path, "chair24611")
        assert status == 403, (path, out)
        status, out = await hub.call("GET", path.replace(AREA, "67/999/1"), "chair24613")
        assert status == 422, (path, out)
        status, out = await hub.call("GET", path.split("?")[0], "chair24613")
        assert status == 422 and out["error"]["field"] == "area", (path, out)
    with hub.s.ctx.db.session() as sess:
        assert sess.scalars(select(NormalChoice)).all() == []
    assert audits(hub, "programme.choose") == [] and audits(hub, "programme.standing") == []
    # a replayed decision: same state, one audit entry, no second republish
    status, out = await choose(hub, selection=[n], date=TODAY)
    assert status == 200 and out["changed"] == 2
    await hub.s.publishing.flush()
    published = len(hub.publisher.messages)
    status, out = await choose(hub, selection=[n], date=TODAY)
    assert status == 200 and out["changed"] == 0
    await hub.s.publishing.flush()
    assert len(hub.publisher.messages) == published and len(audits(hub, "programme.choose")) == 1


def test_the_removed_auto_normal_setting_says_what_replaced_it(tmp_path: Path) -> None:
    for data, environ in (
        ({"programme": {"auto_normal_until_chosen": True}}, {}),
        ({}, {"NGUON_HUB_PROGRAMME__AUTO_NORMAL_UNTIL_CHOSEN": "true"}),
        ({}, {"NGUON_PROGRAMME__AUTO_NORMAL_UNTIL_CHOSEN": "true"}),  # its old name too
    ):
        with pytest.raises(ConfigError) as err:
            build_config({"data_dir": str(tmp_path), **data}, environ=environ)
        assert "programme.auto_normal_until_chosen" in str(err.value)
        assert "standing rule" in str(err.value) and "/api/v1/programme/standing" in str(err.value)


async def test_a_choice_that_overfills_the_programme_is_refused(hub: Hub) -> None:
    """Choosing so many long normal bulletins that the LED board's programme would be over what devices
    accept (protocol MAX_MESSAGE_BYTES): 422 saying what to do, nothing saved, nothing published."""
    sentence = "Nước lũ đang lên nhanh ở các thôn ven sông, người dân chuẩn bị sơ tán theo hướng dẫn của xã. "
    text_10k = (sentence * 120)[:10_000].rsplit(" ", 1)[0]
    now = hub.clock.now()
    ids = [f"b-dai{i:04d}" for i in range(80)]
    add_approved_led_bulletins(
        hub.s.ctx.db, ids, priority="normal", target="67", text=text_10k, duration_ms=20_000, now=now
    )
    await hub.s.publishing.flush()
    before = len(hub.publisher.messages)
    status, out = await choose(hub, selection=ids, scope="validity", kind="led")
    assert status == 422, out
    e = out["error"]
    assert e["code"] == "too_big_to_send" and e["field"] == "selection" and e["bytes"] > MAX_MESSAGE_BYTES
    assert "bảng tin điện tử của Phường Nghĩa Thành" in e["message"] and "chọn bớt" in e["message"]
    status, out = await hub.call(
        "PUT",
        "/api/v1/programme/standing",
        "chair24613",
        json={"area": AREA, "origins": ["province"], "kinds": ["led"]},
    )
    assert status == 422 and out["error"]["code"] == "too_big_to_send", out
    with hub.s.ctx.db.session() as sess:
        assert sess.scalars(select(NormalChoice)).all() == []
        assert sess.scalars(select(StandingChoice)).all() == []
    assert audits(hub, "programme.choose") == [] and audits(hub, "programme.standing") == []
    await hub.s.publishing.flush()
    assert len(hub.publisher.messages) == before
    # a few of them fit
    status, out = await choose(hub, selection=ids[:5], scope="validity", kind="led")
    assert status == 200 and out["changed"] == 5, out
    assert set(ids[:5]) <= on_air(await programme(hub, kind="led"))
