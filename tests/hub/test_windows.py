"""Khung giờ phát through the API (Art. 10): a commune's own hours, district and province defaults with a
date of effect, LED occasion hours, who may set them, and what bad input gets."""

from __future__ import annotations

from typing import Any

from hub.models import AuditEntry, OccasionWindowRow, WindowRuleRow
from protocol.envelope import Verifier
from protocol.messages import ProgrammeBody
from tests.hub.conftest import Hub

OWN = "67/660/24613"  # Phường Nghĩa Thành
OTHER = "67/660/24611"
TODAY, TOMORROW = "2026-11-23", "2026-11-24"  # the hub's frozen clock: 2026-11-23 04:00 local


def latest(hub: Hub, area: str, kind: str) -> ProgrammeBody:
    v = Verifier([hub.s.envelopes.key.public])
    bodies = [
        ProgrammeBody.from_dict(dict(v.verify(w, now=hub.clock.now()).body))
        for t, w, retained in hub.publisher.messages
        if retained and t.endswith(f"{area}/program/{kind}")
    ]
    assert bodies, f"no programme published for {area} {kind}"
    return bodies[-1]


async def bulletin(hub: Hub, who: str = "editor67", **over: Any) -> str:
    body = {
        "title": "Lịch tiêm chủng",
        "priority": "priority",
        "text": "Tiêm chủng ngày 25/11.",
        "targets": ["67"],
        "kinds": ["radio", "led"],
        **over,
    }
    status, b = await hub.call("POST", "/api/v1/bulletins", who, json=body)
    assert status == 201, b
    status, b = await hub.call("POST", f"/api/v1/bulletins/{b['id']}/approve", who)
    assert status == 200, b
    return str(b["id"])


async def put(hub: Hub, who: str, **body: Any) -> tuple[int, Any]:
    data = {"area": OWN, "kind": "radio", "effective_from": TODAY, **body}
    return await hub.call("PUT", "/api/v1/windows", who, json=data)


async def test_chair_sets_own_hours_and_the_commune_programme_uses_them(hub: Hub) -> None:
    bid = await bulletin(hub)
    status, rule = await put(hub, "chair24613", windows=["17:30-18:30", "06:00-06:45"])
    assert status == 200, rule
    assert rule["windows"] == ["06:00-06:45", "17:30-18:30"]  # sorted
    await hub.s.publishing.flush()

    # the chair's API view: the commune's own windows, and where they come from
    status, view = await hub.call(
        "GET", f"/api/v1/programme?area={OWN}&kind=radio&date={TODAY}", "chair24613"
    )
    assert status == 200, view
    assert view["windows"] == ["06:00-06:45", "17:30-18:30"]
    assert "Khung giờ riêng của Phường Nghĩa Thành (từ 23/11/2026)" in view["windows_source"]
    assert [p["window"] for p in view["programme"]] == ["06:00-06:45"]
    assert view["programme"][0]["start"].startswith(f"{TODAY}T06:00:00")

    # the signed programme carries the windows of each day; the neighbour keeps the defaults
    prog = latest(hub, OWN, "radio")
    day = prog.days[0]
    assert [(w.label, w.start, w.end) for w in day.window_spans] == [
        ("06:00-06:45", f"{TODAY}T06:00:00+07:00", f"{TODAY}T06:45:00+07:00"),
        ("17:30-18:30", f"{TODAY}T17:30:00+07:00", f"{TODAY}T18:30:00+07:00"),
    ]
    assert day.windows == ["06:00-06:45", "17:30-18:30"]
    assert [i.bulletin_id for i in day.items] == [bid]
    assert latest(hub, OTHER, "radio").days[0].windows == ["05:00-06:30", "17:00-18:30"]
    # the LED board of the commune is not touched by a radio rule
    assert latest(hub, OWN, "led").days[0].windows == ["05:00-07:00", "17:00-22:00"]

    with hub.s.ctx.db.session() as sess:
        entry = sess.query(AuditEntry).filter_by(action="windows.set").one()
        assert (entry.username, entry.target) == ("chair24613", OWN)
        assert entry.detail["windows"] == ["06:00-06:45", "17:30-18:30"]


async def test_commune_over_district_over_province_over_builtin_with_dates(hub: Hub) -> None:
    # the province's defaults from today, a district's own from tomorrow, one commune's own from tomorrow
    assert (await put(hub, "admin1", area="67", windows=["05:30-06:30", "17:00-18:00"]))[0] == 200
    assert (
        await put(
            hub, "admin1", area="67/660", effective_from=TOMORROW, windows=["05:00-06:00", "18:00-19:00"]
        )
    )[0] == 200
    assert (await put(hub, "chair24613", effective_from=TOMORROW, windows=["19:00-20:00"]))[0] == 200

    async def windows(area: str, day: str, kind: str = "radio") -> tuple[list[str], str]:
        status, v = await hub.call("GET", f"/api/v1/programme?area={area}&kind={kind}&date={day}", "admin1")
        assert status == 200, v
        return v["windows"], v["windows_source"]

    assert (await windows(OWN, TODAY))[0] == ["05:30-06:30", "17:00-18:00"]
    assert "Mặc định của tỉnh" in (await windows(OWN, TODAY))[1]
    assert (await windows(OWN, TOMORROW))[0] == ["19:00-20:00"]
    assert (await windows(OTHER, TOMORROW))[0] == ["05:00-06:00", "18:00-19:00"]
    assert (await windows("67/661/24658", TOMORROW))[0] == ["05:30-06:30", "17:00-18:00"]
    # no rule for LED anywhere: the regulation's defaults
    assert await windows(OWN, TOMORROW, "led") == (["05:00-07:00", "17:00-22:00"], "Mặc định theo quy định")

    # GET /windows: what applies per kind, and the rules on the area's line
    status, ov = await hub.call("GET", f"/api/v1/windows?area={OWN}&date={TOMORROW}", "chair24613")
    assert status == 200, ov
    assert ov["in_force"]["radio"]["windows"] == ["19:00-20:00"]
    assert {(r["area"], r["effective_from"]) for r in ov["rules"]} == {
        ("67", TODAY),
        ("67/660", TOMORROW),
        (OWN, TOMORROW),
    }
    assert ov["can_edit"] is True

    # removing the commune's rule brings its district's back
    mine = next(r for r in ov["rules"] if r["area"] == OWN)
    status, _ = await hub.call("DELETE", f"/api/v1/windows/{mine['id']}", "chair24613")
    assert status == 200
    assert (await windows(OWN, TOMORROW))[0] == ["05:00-06:00", "18:00-19:00"]


async def test_occasion_adds_led_hours_only(hub: Hub) -> None:
    await bulletin(hub, kinds=["led"])
    status, occ = await hub.call(
        "POST",
        "/api/v1/windows/occasions",
        "admin1",
        json={
            "area": "67/660",
            "name": "Bầu cử đại biểu Quốc hội",
            "date_from": TODAY,
            "date_to": TODAY,
            "windows": ["20:00-23:30", "12:00-13:00"],
        },
    )
    assert status == 201, occ
    await hub.s.publishing.flush()
    led = latest(hub, OWN, "led")
    # 17:00-22:00 and 20:00-23:30 become one window; the occasion's noon hour is added
    assert led.days[0].windows == ["05:00-07:00", "12:00-13:00", "17:00-23:30"]
    assert led.days[1].windows == ["05:00-07:00", "17:00-22:00"]  # tomorrow: no occasion
    status, v = await hub.call("GET", f"/api/v1/programme?area={OWN}&kind=led&date={TODAY}", "chair24613")
    assert "Bầu cử đại biểu Quốc hội" in v["windows_source"]
    status, v = await hub.call("GET", f"/api/v1/programme?area={OWN}&kind=radio&date={TODAY}", "chair24613")
    assert v["windows"] == ["05:00-06:30", "17:00-18:30"]  # Art. 10.2 is for LED boards
    # outside the district: nothing
    status, v = await hub.call("GET", f"/api/v1/programme?area=67/661/24658&kind=led&date={TODAY}", "admin1")
    assert v["windows"] == ["05:00-07:00", "17:00-22:00"]
    status, _ = await hub.call("DELETE", f"/api/v1/windows/occasions/{occ['id']}", "admin1")
    assert status == 200
    status, v = await hub.call("GET", f"/api/v1/programme?area={OWN}&kind=led&date={TODAY}", "chair24613")
    assert v["windows"] == ["05:00-07:00", "17:00-22:00"]


async def test_window_crossing_midnight_in_programme(hub: Hub) -> None:
    status, rule = await put(hub, "admin1", area=OWN, kind="led", windows=["05:00-07:00", "21:00-01:00"])
    assert status == 200, rule
    await hub.s.publishing.flush()
    day = latest(hub, OWN, "led").days[0]
    assert [(w.label, w.start, w.end) for w in day.window_spans] == [
        ("05:00-07:00", f"{TODAY}T05:00:00+07:00", f"{TODAY}T07:00:00+07:00"),
        ("21:00-01:00", f"{TODAY}T21:00:00+07:00", f"{TOMORROW}T01:00:00+07:00"),
    ]
    # what an agent of the previous release can parse: cut at 23:59, morning part from 00:00
    assert day.windows == ["00:00-01:00", "05:00-07:00", "21:00-23:59"]
    # a bulletin shown in the window's part after midnight
    bid = await bulletin(
        hub, kinds=["led"], valid_from=f"{TOMORROW}T00:00:00+07:00", valid_until=f"{TOMORROW}T00:50:00+07:00"
    )
    await hub.s.publishing.flush()
    day = latest(hub, OWN, "led").days[0]
    assert [(i.bulletin_id, i.window, i.start[:16]) for i in day.items] == [
        (bid, "21:00-01:00", f"{TOMORROW}T00:00")
    ]

    # after midnight the programme still carries yesterday, whose window is open until 01:00
    hub.clock.advance(24 * 3600)
    hub.s.publishing.republish_soon([OWN], ("led", "radio"))
    await hub.s.publishing.flush()
    led = latest(hub, OWN, "led")
    assert [d.date for d in led.days][:2] == [TODAY, TOMORROW]
    assert [i.bulletin_id for i in led.days[0].items] == [bid]
    assert latest(hub, OWN, "radio").days[0].date == TOMORROW  # no window crossing midnight


BAD_WINDOWS: list[tuple[dict[str, Any], int, str]] = [
    ({"windows": ["5:00-6:30"]}, 422, "không đúng dạng GG:PP-GG:PP"),
    ({"windows": ["25:00-26:00"]}, 422, "không đúng dạng"),
    ({"windows": ["05:00"]}, 422, "không đúng dạng"),
    ({"windows": ["05:00-05:00"]}, 422, "rỗng"),
    ({"windows": ["05:00-05:03"]}, 422, "ít nhất 5 phút"),
    ({"windows": ["06:30-05:00"]}, 422, "kết thúc trước khi bắt đầu"),
    ({"windows": ["05:00-23:30"]}, 422, "quá 18 giờ"),
    ({"windows": ["05:00-06:30", "06:00-07:00"]}, 422, "chồng lên nhau"),
    ({"windows": ["05:00-06:30", "05:00-06:30"]}, 422, "nhập hai lần"),
    ({"windows": ["22:00-05:30", "05:00-06:00"]}, 422, "khung sáng hôm sau"),
    (
        {
            "windows": [
                "04:00-05:00",
                "05:00-06:00",
                "07:00-08:00",
                "09:00-10:00",
                "11:00-12:00",
                "13:00-14:00",
                "15:00-16:00",
            ]
        },
        422,
        "windows",
    ),
    ({"windows": []}, 422, "windows"),
    ({"windows": "05:00-06:30"}, 422, "windows"),
    ({"windows": ["05:00-06:30"], "effective_from": "2026-11-22"}, 422, "đã qua"),
    ({"windows": ["05:00-06:30"], "effective_from": "2028-01-01"}, 422, "xa quá một năm"),
    ({"windows": ["05:00-06:30"], "effective_from": "23/11/2026"}, 422, "effective_from"),
    ({"windows": ["05:00-06:30"], "kind": "tv"}, 422, "kind"),
    ({"windows": ["05:00-06:30"], "extra": 1}, 422, "không được phép"),
    ({"windows": ["05:00-06:30" * 1000]}, 422, "không đúng dạng"),
    ({"windows": ["05:00-06:30"], "area": "67/999"}, 422, "Không có khu vực"),
]


async def test_bad_windows_are_refused_and_nothing_is_written(hub: Hub) -> None:
    for body, status, words in BAD_WINDOWS:
        got, err = await put(hub, "chair24613" if "area" not in body else "admin1", **body)
        assert got == status, (body, err)
        assert words in err["error"]["message"], (body, err)
    assert hub.count(WindowRuleRow) == 0
    assert not hub.publisher.messages  # nothing republished


DENIED = [
    ("chair24611", OWN, "ngoài phạm vi"),  # another commune's chair
    ("chair24613", "67/660", "ngoài phạm vi"),  # a chair on the district above
    ("editor67", OWN, "không được phép"),  # editors do not set hours
    ("viewer", "67", "không được phép"),
]


async def test_only_admin_or_the_communes_chair_may_set_hours(hub: Hub) -> None:
    for who, area, why in DENIED:
        status, err = await put(hub, who, area=area, windows=["05:00-06:00"])
        assert status == 403, (who, err)
        assert why in err["error"]["message"]
        status, err = await hub.call(
            "POST",
            "/api/v1/windows/occasions",
            who,
            json={
                "area": area,
                "name": "Tết",
                "date_from": TODAY,
                "date_to": TOMORROW,
                "windows": ["20:00-23:00"],
            },
        )
        assert status == 403, (who, err)
    assert hub.count(WindowRuleRow) == 0 and hub.count(OccasionWindowRow) == 0
    with hub.s.ctx.db.session() as sess:
        denied = sess.query(AuditEntry).filter_by(outcome="denied", action="programme.windows").all()
        assert sorted(d.username for d in denied) == sorted(2 * [who for who, _, _ in DENIED])


async def test_deleting_another_communes_rule_is_refused(hub: Hub) -> None:
    status, rule = await put(hub, "chair24613", windows=["06:00-07:00"])
    assert status == 200
    status, err = await hub.call("DELETE", f"/api/v1/windows/{rule['id']}", "chair24611")
    assert status == 403, err
    status, err = await hub.call("DELETE", "/api/v1/windows/999", "admin1")
    assert status == 404, err
    status, err = await hub.call("DELETE", "/api/v1/windows/abc", "admin1")
    assert status == 422, err
    assert hub.count(WindowRuleRow) == 1
    # reading another commune's windows: refused like its programme
    status, err = await hub.call("GET", f"/api/v1/windows?area={OWN}", "chair24611")
    assert status == 403, err
    status, err = await hub.call("GET", "/api/v1/windows?area=" + "6" * 300, "admin1")
    assert status == 422, err
    status, err = await put(hub, "admin1", area="67/" + "1" * 100, windows=["05:00-06:00"])
    assert status == 422 and err["error"]["field"] == "area", err


BAD_OCCASIONS: list[tuple[dict[str, Any], str]] = [
    ({"date_from": TOMORROW, "date_to": TODAY}, "trước ngày bắt đầu"),
    ({"date_from": "2026-11-01", "date_to": "2026-11-22"}, "đã qua"),
    ({"date_from": TODAY, "date_to": "2027-01-30"}, "tối đa 31 ngày"),
    ({"name": "   "}, "tên dịp"),
    ({"windows": ["20:00-21:00", "20:30-22:00"]}, "chồng lên nhau"),
    ({"name": "x" * 201}, "name"),
    ({"kind": "led"}, "không được phép"),
]


async def test_bad_occasions_are_refused(hub: Hub) -> None:
    for body, words in BAD_OCCASIONS:
        data = {
            "area": "67",
            "name": "Tết Nguyên đán",
            "date_from": TODAY,
            "date_to": TOMORROW,
            "windows": ["20:00-23:00"],
            **body,
        }
        status, err = await hub.call("POST", "/api/v1/windows/occasions", "admin1", json=data)
        assert status == 422, (body, err)
        assert words.lower() in err["error"]["message"].lower(), (body, err)
    assert hub.count(OccasionWindowRow) == 0


async def test_windows_routes_are_in_the_openapi_document(hub: Hub) -> None:
    r = await hub.client.get("/api/v1/openapi.json")
    doc = await r.json()
    assert {"get", "put"} <= set(doc["paths"]["/api/v1/windows"])
    assert "delete" in doc["paths"]["/api/v1/windows/{id}"]
    assert "post" in doc["paths"]["/api/v1/windows/occasions"]
    assert "WindowsIn" in doc["components"]["schemas"]


async def test_communes_with_the_same_windows_share_one_prepared_day(hub: Hub) -> None:
    await bulletin(hub)
    assert (await put(hub, "chair24613", windows=["06:00-07:00"]))[0] == 200
    programmes = hub.s.programmes
    leaves = hub.s.areas.leaves()
    with hub.s.ctx.db.session() as sess:
        snap = programmes.snapshot(sess)
        bodies = {(a, k): programmes.body(snap, a, k, 1) for a in leaves for k in ("radio", "led")}
    days = hub.s.ctx.config.programme.days_ahead
    # radio: the defaults and the commune's own set; LED: the defaults; per day — not per commune
    assert snap.days.prepared == 3 * days < len(leaves) * 2 * days
    assert bodies[OWN, "radio"].days[0].windows == ["06:00-07:00"]
    assert bodies[OTHER, "radio"].days[0].windows == ["05:00-06:30", "17:00-18:30"]
