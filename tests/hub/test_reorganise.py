"""A reorganisation through the front door (POST /api/v1/areas/reorganise, `python -m hub areas reorganise`):
three communes merged into one and communes moved from their districts to the province, with devices,
accounts, bulletins, chairs' choices, windows and plays attached, before and after; a dry run and a plan
with an error change nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hub.__main__ import main
from hub.app import build_services
from hub.errors import Invalid
from hub.models import (
    Area,
    AreaLineage,
    AuditEntry,
    Bulletin,
    BulletinTarget,
    Device,
    NormalChoice,
    ProgrammeChoice,
    PublishedProgramme,
    StandingChoice,
    User,
    WindowRuleRow,
)
from hub.roles import SYSTEM
from hub.services.periods import Period
from tests.hub.conftest import PASSWORD, SAMPLE, T0, Hub, make_config
from tests.hub.statsdata import seed

GN = ("67/660/24611", "67/660/24613", "67/660/24631")  # the three communes of Gia Nghĩa (district 660)
MERGED = "67/24611"
STATS_PERIOD = Period("custom", date(2026, 11, 23), date(2026, 11, 24))
PLAN: dict[str, Any] = {
    "name": "NQ-1671-2025",
    "effective": "2025-07-01",
    "merge": [{"from": ["24611", "24613", "24631"],
               "into": {"code": "24611", "name": "Phường Bắc Gia Nghĩa", "parent": "67", "type": "phường"}}],
    "move": [{"area": "24658", "to": "67"}, {"area": "24661", "to": "67"}],
    "rename": [{"area": "24673", "name": "Xã Ea T'Ling", "type": "xã"}],
    "retire": ["660", "661"],
    "assign": {"accounts": {"editor660": "67"}},
}


def _bulletin(bid: str, target: str, *, status: str = "approved", origin: str = "province") -> Bulletin:
    return Bulletin(
        id=bid, title=f"Bản tin {bid}", priority="normal" if bid.startswith("n") else "priority", form="text",
        origin=origin, status=status, kinds=["radio"], targets=[BulletinTarget(area_path=target)],
        text="Thông báo.", duration_ms=10_000, plays_per_day=1, repeat={}, version=1, created_at=T0,
        updated_at=T0, approved_at=T0,
    )


def attach(hub: Hub) -> None:
    """Devices, bulletins, chairs' choices, windows and published programmes on the old map."""
    s = hub.s
    for i, area in enumerate((*GN, "67/661/24658")):
        s.devices.register(SYSTEM, device_id=f"loa-{i}", kind="radio", area=area)
    s.devices.register(SYSTEM, device_id="loa-far", kind="radio", area="67/662/24673")
    with s.ctx.db.session() as sess:
        sess.add(_bulletin("p-commune", "67/660/24631"))
        sess.add(_bulletin("p-district", "67/661", origin="district"))
        sess.add(_bulletin("n-1", "67"))
        sess.flush()
        sess.add(ProgrammeChoice(area_path="67/660/24613", date="2026-11-23", kind="*", order=["p-commune"],
                                 updated_at=T0))
        sess.add(ProgrammeChoice(area_path="67/660/24611", date="2026-11-23", kind="*", order=[],
                                 updated_at=T0 - timedelta(hours=1)))
        for area, chosen in (("67/660/24613", True), ("67/660/24611", False)):
            sess.add(NormalChoice(area_path=area, bulletin_id="n-1", kind="radio", date="*", chosen=chosen,
                                  decided_at=T0 if chosen else T0 - timedelta(hours=1)))
        sess.add(StandingChoice(area_path="67/660/24613", origin="province", kind="radio", set_at=T0))
        sess.add(WindowRuleRow(area_path="67/661", kind="radio", effective_from="2026-11-01",
                               windows=["05:30-06:30"], updated_at=T0))
        for n, area in enumerate(GN):
            sess.add(PublishedProgramme(area_path=area, kind="radio", version=3 + n, body={},
                                        published_at=T0))
    play = {"id": "loa-1:p1", "device_id": "loa-1", "type": "play", "at": "2026-11-23T05:00:00+07:00",
            "data": {"bulletin_id": "n-1", "outcome": "completed",
                     "started_at": "2026-11-23T05:00:00+07:00",
                     "ended_at": "2026-11-23T05:01:00+07:00", "scheduled_at": None, "emergency": False}}
    assert s.devices.ingest_events("loa-1", play) == 1


def snapshot(hub: Hub) -> dict[str, Any]:
    """Everything a plan may change, as plain values (for 'nothing changed' comparisons)."""
    with hub.s.ctx.db.session() as sess:
        return {
            "areas": sorted((a.path, a.name, a.level) for a in sess.scalars(select(Area))),
            "devices": sorted((d.id, d.area_path) for d in sess.scalars(select(Device))),
            "users": sorted((u.username, u.area_path or "") for u in sess.scalars(select(User))),
            "targets": sorted((t.bulletin_id, t.area_path) for t in sess.scalars(select(BulletinTarget))),
            "orders": sorted((c.area_path, c.date) for c in sess.scalars(select(ProgrammeChoice))),
            "normal": sorted((c.area_path, c.chosen) for c in sess.scalars(select(NormalChoice))),
            "windows": sorted((w.area_path, w.kind) for w in sess.scalars(select(WindowRuleRow))),
            "lineage": list(sess.scalars(select(AreaLineage.old_path))),
        }


async def test_merge_and_move_through_the_api_with_everything_attached(hub: Hub) -> None:  # noqa: PLR0915 - one story, before and after
    attach(hub)
    hub.user("chair24631", "commune_chair", "67/660/24631")
    # local languages (Decree 49/2024): the district's Ê Đê, one commune's own M'Nông
    hub.s.languages.set(SYSTEM, "67/660", ["rad"])
    hub.s.languages.set(SYSTEM, "67/661/24658", ["cmo"])
    before = snapshot(hub)
    url = "/api/v1/areas/reorganise"
    # only an administrator reorganises the map
    status, err = await hub.call("POST", url, "editor67", json={"plan": PLAN})
    assert status == 403, err
    # a dry run says what would change and changes nothing
    status, dry = await hub.call("POST", url, "admin1", json={"plan": PLAN, "dry_run": True})
    assert status == 200 and dry["dry_run"] is True, dry
    assert {"id": "loa-1", "old": "67/660/24613", "new": MERGED} in dry["devices"]
    assert snapshot(hub) == before
    hub.publisher.messages.clear()

    status, out = await hub.call("POST", url, "admin1", json={"plan": PLAN})
    assert status == 200 and out["dry_run"] is False, out
    after = snapshot(hub)
    # the tree: the three communes are one under the province, districts 660 and 661 are gone
    assert [a for a in after["areas"] if a[0].count("/") <= 1] == [
        ("67", "Tỉnh Mẫu Ba Cấp", "province"), ("67/24611", "Phường Bắc Gia Nghĩa", "commune"),
        ("67/24658", "Xã Quảng Sơn", "commune"), ("67/24661", "Xã Đắk Ha", "commune"),
        ("67/662", "Huyện Cư Jút", "district"),
    ]
    assert not any(p.startswith(("67/660", "67/661")) for p, _, _ in after["areas"])
    # devices, accounts, bulletins' targets, chairs' orders and choices, windows follow their areas
    # the merged commune keeps the Ê Đê its old communes used (their district is gone), the moved one its
    # M'Nông; one that used only Vietnamese still inherits
    langs = {p: hub.s.languages.view(p) for p in (MERGED, "67/24658", "67/24661")}
    assert langs[MERGED]["languages"] == [{"code": "rad", "name": "Ê Đê"}]
    assert langs["67/24658"]["languages"] == [{"code": "cmo", "name": "M'Nông"}]
    assert langs["67/24661"]["languages"] is None
    assert after["devices"] == [("loa-0", MERGED), ("loa-1", MERGED), ("loa-2", MERGED),
                                ("loa-3", "67/24658"), ("loa-far", "67/662/24673")]
    users = dict(after["users"])
    assert users["chair24613"] == users["chair24611"] == users["chair24631"] == MERGED
    assert users["editor660"] == "67" and users["editor67"] == "67"
    assert ("p-commune", MERGED) in after["targets"]
    # a retired district's bulletin reaches the communes it had, where they went
    assert {t for t in after["targets"] if t[0] == "p-district"} == {
        ("p-district", "67/24658"), ("p-district", "67/24661")}
    # two chairs' orders of one day clash: the newer wins; the chosen/declined clash too
    assert after["orders"] == [(MERGED, "2026-11-23")]
    with hub.s.ctx.db.session() as sess:
        assert sess.scalars(select(ProgrammeChoice.order)).one() == ["p-commune"]
        assert sess.scalars(select(StandingChoice.area_path)).all() == [MERGED]
        # a device never goes back to a lower programme version: the merged commune continues at the highest
        assert sess.scalars(select(PublishedProgramme.version).where(
            PublishedProgramme.area_path == MERGED)).one() == 5
        b = sess.get(Bulletin, "p-district")
        assert b is not None and b.origin == "district"  # the level its author had when it was approved
    assert after["normal"] == [(MERGED, True)]
    # district 661's own hours go down to its former communes
    assert after["windows"] == [("67/24658", "radio"), ("67/24661", "radio")]
    # history keeps the old unit and reads per old and per new unit
    status, plays = await hub.call("GET", "/api/v1/plays", "admin1", params={"area": MERGED})
    assert status == 200 and [(p["event_id"], p["area"]) for p in plays["plays"]] == [
        ("loa-1:p1", "67/660/24613")], plays
    status, plays = await hub.call("GET", "/api/v1/plays", "admin1", params={"area": "67/660/24613"})
    assert [p["event_id"] for p in plays["plays"]] == ["loa-1:p1"]
    status, lin = await hub.call("GET", "/api/v1/areas/lineage", "viewer", params={"area": MERGED})
    assert status == 200 and sorted(r["old"] for r in lin["came_from"]) == sorted(GN), lin
    status, lin = await hub.call("GET", "/api/v1/areas/lineage", "viewer", params={"area": "67/661"})
    assert [(r["change"], r["new"]) for r in lin["became"]] == [("retire", None)]
    # every programme republished under the new map, and each moved device told its new commune
    await hub.s.publishing.flush()
    topics = {t for t, *_ in hub.publisher.messages}
    assert "nguon/v1/area/67/24611/program/radio" in topics
    assert not any(t.startswith(("nguon/v1/area/67/660/", "nguon/v1/area/67/661/")) for t in topics)
    assert {t for t in topics if t.endswith("/cmd")} == {f"nguon/v1/device/loa-{i}/cmd" for i in range(4)}
    # a device that missed its set_area (offline) is told again when its status names the old commune,
    # at most once a minute; a user cannot send set_area (the hub sends the registered area itself)
    assert hub.s.devices.ingest_statuses({"loa-1": {"area": "67/660/24613", "state": "idle"},
                                          "loa-3": {"area": "67/24658", "state": "idle"}}) == ("loa-1",)
    assert await hub.s.send_areas(["loa-1"]) == 0  # sent a moment ago by the reorganisation
    status, err = await hub.call("POST", "/api/v1/devices/loa-1/commands", "admin1",
                                 json={"command": "set_area", "args": {}})
    assert status == 422, err
    with hub.s.ctx.db.session() as sess:
        audit = sess.scalars(select(AuditEntry).where(AuditEntry.action == "areas.reorganise")).one()
        assert audit.username == "admin1" and audit.target == "NQ-1671-2025"
    # the same plan twice: refused, nothing changes
    status, err = await hub.call("POST", url, "admin1", json={"plan": PLAN})
    assert status in (409, 422) and snapshot(hub) == after, err


BAD_PLANS: list[tuple[dict[str, Any], list[str]]] = [
    # a device and a chair left without a commune: refused with the list
    ({"retire": ["24673"]}, ["thiết bị loa-far", "Thị trấn Ea T'Ling"]),
    ({"split": [{"area": "24613", "into": [
        {"code": "24613", "name": "Phường A", "parent": "67"},
        {"code": "24614", "name": "Phường B", "parent": "67"}]}]},
     ["thiết bị loa-1", "bị chia", "tài khoản chair24613 (commune_chair)"]),
    ({"retire": ["661"]}, ["còn đơn vị cấp dưới: 67/661/24658, 67/661/24661"]),
    ({"merge": [{"from": ["24611", "24613"], "into": {"code": "24673", "name": "X", "parent": "662"}}]},
     ["67/662/24673", "đã có"]),
    ({"move": [{"area": "24658", "to": "24611"}]}, ["không thể nằm dưới Phường Nghĩa Đức"]),
    ({"rename": [{"area": "99999", "name": "X"}]}, ["không có khu vực mã '99999'"]),
    ({"merge": "24611"}, ["'merge' là một danh sách"]),
    ({"bogus": []}, ["Khoá không biết: bogus"]),
]


async def test_plans_with_an_error_change_nothing(hub: Hub) -> None:
    attach(hub)
    before = snapshot(hub)
    for change, says in BAD_PLANS:
        plan = {"name": "bad", "effective": "2025-07-01", **change}
        status, err = await hub.call("POST", "/api/v1/areas/reorganise", "admin1", json={"plan": plan})
        assert status == 422, (change, err)
        for text in says:
            assert text in err["error"]["message"], (change, err)
        assert snapshot(hub) == before, change
    url = "/api/v1/areas/reorganise"
    for body in ({"plan": []}, {"plan": {}, "extra": 1}, {"plan": {"name": "x"}}, {}):
        status, err = await hub.call("POST", url, "admin1", json=body)
        assert status == 422, (body, err)
    renames = [{"area": "1", "name": "x" * 300}] * 2000
    big = {"plan": {"name": "x", "effective": "2025-07-01", "rename": renames}}
    status, err = await hub.call("POST", url, "admin1", json=big)
    assert status == 413, err
    assert snapshot(hub) == before


def test_cli_dry_run_then_apply_and_the_acl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg_file = tmp_path / "hub.toml"
    cfg_file.write_text(
        f'data_dir = "{tmp_path / "hub"}"\n[programme]\nscheduler = false\n', encoding="utf-8"
    )
    s = build_services(make_config(tmp_path), speech=object())
    s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
    s.devices.register(SYSTEM, device_id="loa-1", kind="radio", area="67/660/24613")
    s.accounts.create_user(SYSTEM, username="ttvh", password=PASSWORD, role="editor", area="67/660")
    plan = tmp_path / "plan.toml"
    plan.write_text(
        'name = "NQ-1"\neffective = "2025-07-01"\nretire = ["660"]\n\n'
        '[[merge]]\nfrom = ["24611", "24613", "24631"]\n'
        'into = { code = "24611", name = "Phường Bắc Gia Nghĩa", parent = "67", type = "phường" }\n\n'
        '[assign.accounts]\nttvh = "67"\n',
        encoding="utf-8",
    )
    args = ["--config", str(cfg_file), "areas", "reorganise", str(plan)]
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Dry run — nothing changed: NQ-1" in out and "device  loa-1: 67/660/24613 -> 67/24611" in out
    s.areas.invalidate()
    assert "67/660/24613" in s.areas.all()
    acl = tmp_path / "acl"
    assert main([*args, "--acl", str(acl)]) == 0
    out = capsys.readouterr().out
    assert "Applied: NQ-1" in out and "account ttvh: 67/660 -> 67" in out
    text = acl.read_text(encoding="utf-8")
    assert "topic read nguon/v1/area/67/24611/program/radio" in text and "67/660" not in text
    assert main(args) == 2  # applied already
    assert "đã được áp dụng" in capsys.readouterr().err


async def test_the_rank_follows_the_authors_level_when_approved(hub: Hub) -> None:
    """Art. 8.2: a district centre's bulletin ranks as the district's; when the reorganisation abolishes the
    district and its editor works for the province, what is approved from then on ranks as the province's,
    and what was approved before keeps the rank it had."""
    body = {"title": "Lịch tiêm chủng", "priority": "priority", "form": "text", "kinds": ["radio"],
            "targets": ["67/660/24613"], "text": "Trạm y tế tiêm chủng vào thứ ba."}
    ids = []
    for _ in range(2):
        status, b = await hub.call("POST", "/api/v1/bulletins", "editor660", json=body)
        assert status == 201 and b["origin"] == "district", b
        ids.append(b["id"])
    status, b = await hub.call("POST", f"/api/v1/bulletins/{ids[0]}/approve", "editor67")
    assert status == 200 and b["origin"] == "district", b
    plan = {"name": "NQ-2", "effective": "2025-07-01", "retire": ["660"],
            "move": [{"area": c, "to": "67"} for c in ("24611", "24613", "24631")],
            "assign": {"accounts": {"editor660": "67"}}}
    status, out = await hub.call("POST", "/api/v1/areas/reorganise", "admin1", json={"plan": plan})
    assert status == 200, out
    status, b = await hub.call("POST", f"/api/v1/bulletins/{ids[1]}/approve", "editor67")
    assert status == 200 and b["origin"] == "province" and b["targets"] == ["67/24613"], b
    status, b = await hub.call("GET", f"/api/v1/bulletins/{ids[0]}", "viewer")
    assert b["origin"] == "district" and b["targets"] == ["67/24613"], b


async def test_statistics_of_a_new_commune_count_its_old_units(hub: Hub) -> None:
    """The figures of a period across the reorganisation: what the three old communes did (stored under
    their old paths, in plays and roll-ups) counts for the commune they became."""
    seed(hub.s, hub.clock)
    before = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=STATS_PERIOD)  # seed rolled up
    old = {c.path: c for c in before.communes}
    plan = {"name": "NQ-3", "effective": "2026-11-25", "retire": ["660"],
            "merge": [{"from": ["24611", "24613", "24631"],
                       "into": {"code": "24611", "name": "Phường Bắc Gia Nghĩa", "parent": "67"}}],
            "assign": {"accounts": {"editor660": "67"}}}
    await hub.s.reorganise(SYSTEM, plan)
    st = hub.s.stats.compute(SYSTEM, area=MERGED, level="commune", period=STATS_PERIOD)
    (merged,) = st.communes
    assert merged.planned == sum(old[p].planned for p in GN) == 7
    assert merged.completed == sum(old[p].completed for p in GN)
    assert merged.devices == 3 and merged.problems == sum(old[p].problems for p in GN)
    whole = hub.s.stats.compute(SYSTEM, area="67", level="commune", period=STATS_PERIOD)
    assert (whole.total.planned, whole.total.devices) == (before.total.planned, before.total.devices)


def test_the_same_plan_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """Paths are primary and foreign keys: the order of the writes holds on PostgreSQL too."""
    s = build_services(make_config(tmp_path, database={"url": pg_url}), speech=object())
    try:
        s.areas.import_tree(json.loads(SAMPLE.read_text(encoding="utf-8")), SYSTEM)
        for i, area in enumerate((*GN, "67/661/24658")):
            s.devices.register(SYSTEM, device_id=f"loa-{i}", kind="radio", area=area)
        s.accounts.create_user(SYSTEM, username="editor660", password=PASSWORD, role="editor", area="67/660")
        s.accounts.create_user(SYSTEM, username="chair24613", password=PASSWORD, role="commune_chair",
                               area="67/660/24613")
        bad = {**PLAN, "assign": {}}
        with pytest.raises(Invalid, match="tài khoản editor660"):
            s.reorganisation.run(SYSTEM, bad, dry_run=False)
        out = s.reorganisation.run(SYSTEM, PLAN, dry_run=False)
        assert len(out.devices) == 4
        with s.ctx.db.session() as sess:
            assert sorted(sess.scalars(select(Device.area_path))) == [MERGED] * 3 + ["67/24658"]
            assert sess.scalar(select(User.area_path).where(User.username == "chair24613")) == MERGED
            assert sess.get(Area, "67/660") is None
    finally:
        s.ctx.db.dispose()
