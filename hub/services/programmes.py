"""Programmes: what each commune plays, compiled by playlists/ from the approved bulletins.

A Snapshot loads everything once (bulletins, media, choices, recalls) so republishing 1,000 communes
costs one set of queries, then compiles per commune and kind.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub import engine
from hub.errors import Invalid
from hub.models import Bulletin, Device, Play, ProgrammeChoice
from hub.roles import Actor
from hub.services.areas import AreaService
from hub.services.base import Context, require
from hub.services.choices import DECLINED_VI, MAX_IDS, Choices, ChoiceService, load_choices
from hub.services.languages import codes_by_leaf, names_by_leaf
from hub.services.live_bulletins import LiveBulletin, load_live_bulletins
from hub.services.relays import RelayInfo, RelayService
from hub.services.windows import WindowService
from playlists.window_sets import WindowTable, crosses_midnight, day_spans, legacy_labels
from protocol.messages import (
    ProgrammeBody,
    ProgrammeDay,
    ProgrammeItem,
    WindowSpan,
)
from protocol.topics import covers
from protocol.vocabulary import DEVICE_KINDS, LIVE_STATUSES, ORIGINS, PLAY_OUTCOMES

# Why a bulletin for this commune is not in its programme, before the engine is even asked (chair's screen).
NOT_LIVE = {
    "submitted": "Bản tin đang chờ duyệt; chỉ được phát sau khi người có thẩm quyền duyệt.",
    "in_review": "Bản tin nhạy cảm đang chờ người kiểm duyệt xem xét.",
    "rejected": "Bản tin bị từ chối ({why}); người soạn cần sửa rồi gửi duyệt lại.",
    "recalled": "Bản tin đã bị thu hồi ({why}); thiết bị đã gỡ và sẽ không phát lại.",
    "cancelled": "Bản tin khẩn cấp đã được hủy.",
}
@dataclass
class Snapshot:
    live: list[LiveBulletin]  # every approved or on-air bulletin
    choices: dict[tuple[str, str, str], ProgrammeChoice]  # (area, date, kind|'*'): the chair's order
    recalled: list[LiveBulletin]
    normal: Choices = field(default_factory=Choices)  # the chair's choices of normal bulletins
    windows: WindowTable = field(default_factory=WindowTable)
    relays: list[RelayInfo] = field(default_factory=list)  # tiếp sóng (hub/services/relays.py)
    engine_cache: dict[tuple[str, ...], Any] = field(default_factory=dict)
    days: engine.DayCache = field(default_factory=engine.DayCache)
    languages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # area -> local languages in force
    language_names: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # as the area says
    _by_kind: dict[tuple[str, tuple[str, ...]], list[Any]] = field(default_factory=dict)
    _version_codes: frozenset[str] | None = None
    _normal: dict[str, list[LiveBulletin]] = field(default_factory=dict)

    def normal_by_rank(self, kind: str) -> list[LiveBulletin]:
        """The normal bulletins of `kind` from the top level down, then by approval time (Art. 8.3: the
        order the chosen ones are placed in)."""
        if kind not in self._normal:
            self._normal[kind] = sorted(
                (s for s in self.live if s.priority == "normal" and kind in s.kinds),
                key=lambda s: (
                    ORIGINS.index(s.origin) if s.origin in ORIGINS else len(ORIGINS),
                    s.approved_at.isoformat() if s.approved_at else "",
                    s.id,
                ),
            )
        return self._normal[kind]

    def used(self, area: str, kind: str) -> tuple[str, ...]:
        """The local languages of `area` that some live bulletin has a version in (radio): communes with the
        same share one prepared day, and with none (most communes, most days) the province's common one."""
        if kind != "radio":
            return ()
        if self._version_codes is None:
            self._version_codes = frozenset(c for s in self.live for c, _ in s.languages)
        return tuple(c for c in self.languages.get(area, ()) if c in self._version_codes)

    def engine_bulletins(self, kind: str, used: tuple[str, ...] = ()) -> list[Any]:
        """Every live bulletin of `kind` (the prepared day holds the province's; compile_day picks the
        commune's by target), each as long as it plays in a commune using the languages `used`."""
        key = (kind, used)
        if key not in self._by_kind:
            self._by_kind[key] = [self.engine_bulletin(s, kind, used) for s in self.live if kind in s.kinds]
        return self._by_kind[key]

    def engine_bulletin(self, s: LiveBulletin, kind: str, used: tuple[str, ...] = ()) -> Any:
        mine = tuple(c for c, _ in s.languages if c in used)
        key = (s.id, kind, *mine)
        if key not in self.engine_cache:
            self.engine_cache[key] = engine.engine_bulletin(
                id=s.id,
                priority=s.priority,
                origin=s.origin,
                kinds=s.kinds,
                targets=s.targets,
                duration_s=max(s.duration_for(kind, mine), 1000) / 1000,
                plays_per_day=s.plays_per_day,
                valid_from=s.valid_from,
                valid_until=s.valid_until,
                approved_at=s.approved_at,
                title=s.title,
            )
        return self.engine_cache[key]

    def choice(self, area: str, day: str, kind: str) -> ProgrammeChoice | None:
        return self.choices.get((area, day, kind)) or self.choices.get((area, day, "*"))


class ProgrammeService:
    def __init__(
        self,
        ctx: Context,
        areas: AreaService,
        windows: WindowService | None = None,
        relays: RelayService | None = None,
    ) -> None:
        self.ctx = ctx
        self.areas = areas
        self.windows = windows or WindowService(ctx, areas)
        self.relays = relays or RelayService(ctx, areas, self.windows)

    def days(self) -> list[date]:
        today = self.ctx.local_now().date()
        return [today + timedelta(days=i) for i in range(self.ctx.config.programme.days_ahead)]

    def snapshot(self, sess: Session, dates: list[date] | None = None) -> Snapshot:
        # yesterday too: its window crossing midnight may still be open (body() then sends that day)
        dates = dates or [self.days()[0] - timedelta(days=1), *self.days()]
        keys = [d.isoformat() for d in dates]
        choices = {
            (c.area_path, c.date, c.kind): c
            for c in sess.scalars(select(ProgrammeChoice).where(ProgrammeChoice.date.in_(keys)))
        }
        since = self.ctx.now() - timedelta(days=self.ctx.config.programme.recall_memory_days)
        recalled_ids = list(
            sess.scalars(
                select(Bulletin.id).where(or_(Bulletin.recalled_at >= since, Bulletin.cancelled_at >= since))
            )
        )
        recalled = load_live_bulletins(sess, ids=recalled_ids) if recalled_ids else []
        return Snapshot(
            load_live_bulletins(sess),
            choices,
            recalled,
            normal=load_choices(sess, keys),
            windows=self.windows.table(sess),
            languages=codes_by_leaf(self.areas.all()),
            language_names=names_by_leaf(self.areas.all()),
            relays=self.relays.rows(sess),
        )

    def compile(self, snap: Snapshot, area: str, kind: str, day: date) -> dict[str, Any]:
        """One commune/kind/day: the engine's result (playlists.compile_day, as a dict) plus the windows
        in force (Art. 10)."""
        tz = self.ctx.config.timezone
        windows = snap.windows.resolve(area, kind, day).windows
        used = snap.used(area, kind)
        relays = RelayService.engine_relays(snap.relays, day) if kind == "radio" else []
        prepared = snap.days.get(
            kind, day, windows, tz, snap.engine_bulletins(kind, used), relays=relays, languages=used
        )
        choice = snap.choice(area, day.isoformat(), kind)
        order = list(choice.order or []) if choice else []
        return engine.compile_prepared(
            prepared,
            area=area,
            selection=self.selection(snap, area, kind, day),
            order=order,
            gap_s=self.ctx.config.programme.gap_s,
        )

    @staticmethod
    def selection(snap: Snapshot, area: str, kind: str, day: date) -> list[str]:
        """The normal bulletins the chair (or the commune's standing rule) chose for that day and kind, by
        rank: origin from the top down, then approval time (Art. 8.3: nothing else airs)."""
        if area not in snap.normal.areas:  # no decision, no rule: no normal bulletin (most communes)
            return []
        key = day.isoformat()
        return [
            s.id
            for s in snap.normal_by_rank(kind)
            if s.covers(area) and snap.normal.decide(area, s.id, s.origin, kind, key)[0]
        ]

    def active_emergencies(self, snap: Snapshot, area: str, kind: str) -> list[LiveBulletin]:
        now = self.ctx.now()
        return [
            s
            for s in snap.live
            if s.priority == "emergency"
            and kind in s.kinds
            and s.covers(area)
            and (s.valid_until is None or s.valid_until > now)
            and (s.valid_from is None or s.valid_from <= now + timedelta(days=1))
        ]

    def body(self, snap: Snapshot, area: str, kind: str, version: int) -> ProgrammeBody:
        """The retained programme of one commune and kind (docs/PROTOCOL.md, "Windows in the programme")."""
        by_id = {s.id: s for s in snap.live}
        days: list[ProgrammeDay] = []
        used: set[str] = set()
        dates = self.days()
        yesterday = dates[0] - timedelta(days=1)
        if any(crosses_midnight(w) for w in snap.windows.resolve(area, kind, yesterday).windows):
            # after midnight, yesterday's window crossing midnight is still open: its plays stay on air
            dates.insert(0, yesterday)
        for d in dates:
            res = self.compile(snap, area, kind, d)
            items = [
                ProgrammeItem(
                    bulletin_id=p["bulletin_id"],
                    start=p["start"],
                    end=p["end"],
                    window=p["window"],
                    play=p.get("play", 1),
                )
                for p in res["programme"]
            ]
            used.update(i.bulletin_id for i in items)
            relays = self.relays.entries(snap.relays, res["relays"])
            spans = [
                WindowSpan(w.label, w.start.isoformat(), w.end.isoformat())
                for w in day_spans(d, res["windows"], self.ctx.config.timezone)
            ]
            # `windows` keeps the shape agents of the previous release parse (no window crossing
            # midnight); `window_spans` is what agents use now (docs/PROTOCOL.md, Windows)
            days.append(
                ProgrammeDay(
                    date=d.isoformat(),
                    windows=list(legacy_labels(res["windows"])),
                    items=items,
                    window_spans=spans,
                    relays=relays,
                )
            )
        emergencies = self.active_emergencies(snap, area, kind)
        used.update(e.id for e in emergencies)
        langs, names = snap.used(area, kind), dict(snap.language_names.get(area, ()))
        infos = [by_id[b].info(kind, langs, names) for b in sorted(used) if b in by_id]
        recalled = sorted(s.id for s in snap.recalled if s.covers(area))
        return ProgrammeBody(
            area=area,
            kind=kind,
            version=version,
            timezone=self.ctx.config.timezone,
            days=days,
            bulletins=infos,
            emergencies=[e.id for e in emergencies],
            recalled=recalled,
        )

    def view(self, actor: Actor, area: str, kind: str, day: date) -> dict[str, Any]:
        """The programme as the API and the chair's page show it: plays with titles and reasons."""
        require(actor, "read")
        if kind not in DEVICE_KINDS:
            raise Invalid("kind phải là 'radio' hoặc 'led'.", field="kind")
        self.areas.get(area)
        if not self.areas.is_leaf(area):
            raise Invalid(f"'{area}' không phải cấp xã; chương trình được lập cho từng xã.", field="area")
        with self.ctx.db.session() as sess:
            snap = self.snapshot(sess, [day])
            res = self.compile(snap, area, kind, day)
            titles = {s.id: s for s in snap.live}
            choice = snap.choice(area, day.isoformat(), kind)
            in_force = self.windows.in_force(snap.windows, area, kind, day)
            not_live = self._not_live(sess, actor, area, kind, day)
            reports, devices = self._reports(sess, area, kind, day)
            choices = ChoiceService(self.ctx, self.areas)
            standing = choices.rules_in(sess, area)
            waiting = choices.waiting_in(sess, area)

        used, names = snap.used(area, kind), dict(snap.language_names.get(area, ()))

        def t(bid: str) -> str:
            return titles[bid].title if bid in titles else ""

        key = day.isoformat()
        normal: dict[str, dict[str, Any]] = {}
        for s in titles.values():
            if s.priority == "normal" and kind in s.kinds and s.covers(area):
                on, why = snap.normal.decide(area, s.id, s.origin, kind, key)
                normal[s.id] = {"chosen": on, "by": why}
        unscheduled = []
        for u in res["unscheduled"]:
            d = normal.get(u["bulletin_id"])
            declined = u["reason"] == "not_selected" and d is not None and d["by"] in DECLINED_VI
            unscheduled.append(
                {**u, "reason": "declined", "detail": DECLINED_VI[d["by"]]} if declined and d else u
            )
        # priority bulletins approved after the chair saved the order: placed by rank, shown as new
        order = list(choice.order or []) if choice else []
        new = sorted(
            s.id
            for s in titles.values()
            if choice is not None
            and choice.order is not None
            and s.priority == "priority"
            and s.id not in order
            and s.approved_at is not None
            and s.approved_at > choice.updated_at
            and kind in s.kinds
            and s.covers(area)
        )

        return {
            "area": area,
            "kind": kind,
            "date": day.isoformat(),
            "windows": res["windows"],
            "windows_source": in_force["source"],  # Art. 10: the commune's own, its district's, ...
            "windows_rule": in_force["rule"],
            "programme": [
                {
                    **p,
                    "title": t(p["bulletin_id"]),
                    "priority": titles[p["bulletin_id"]].priority,
                    # bản tiếng dân tộc played after the Vietnamese here (the item's length counts them)
                    "languages": [v.name for v in titles[p["bulletin_id"]].versions_for(kind, used, names)],
                    "reports": _item_reports(reports, devices, p),
                }
                for p in res["programme"]
            ],
            "emergencies": [{"id": e, "title": t(e)} for e in res["emergencies"]],
            "unscheduled": [
                {
                    **u,
                    "title": t(u["bulletin_id"]),
                    "priority": titles[u["bulletin_id"]].priority if u["bulletin_id"] in titles else None,
                }
                for u in unscheduled
            ],
            # on air with fewer plays than plays_per_day (radio), and why
            "short": [{**s, "title": t(s["bulletin_id"])} for s in res.get("short", [])],
            # tiếp sóng at fixed times: on air, and those for this commune that are not, with why
            **self.relays.view(snap.relays, res["relays"], res["relays_off"]),
            "order": order,
            "new": new,
            # Art. 8.3: the normal bulletins that air, and what decided (day, validity, standing, waiting)
            "selection": [b for b, d in normal.items() if d["chosen"]],
            "choices": normal,
            "standing": [{"origin": o, "kind": k} for o, k in standing],
            "waiting": waiting,
            "not_live": not_live,
        }

    def _reports(
        self, sess: Session, area: str, kind: str, day: date
    ) -> tuple[dict[tuple[str, float], Counter[str]], int]:
        """What this commune's devices of `kind` reported for the day's scheduled plays: outcomes counted
        per (bulletin, scheduled start), and how many such devices there are."""
        start = datetime.combine(day, time(0), self.ctx.tz)
        ids = list(sess.scalars(select(Device.id).where(Device.area_path == area, Device.kind == kind)))
        out: dict[tuple[str, float], Counter[str]] = {}
        if ids:
            q = select(Play.bulletin_id, Play.scheduled_at, Play.outcome, Play.device_id).where(
                Play.device_id.in_(ids),
                Play.scheduled_at >= start,
                Play.scheduled_at < start + timedelta(days=1),
            )
            seen: set[tuple[str, float, str, str]] = set()
            for bid, at, outcome, dev in sess.execute(q):
                if at is None:  # the query's time range leaves none without a time
                    continue
                key = (bid, at.timestamp(), outcome, dev)
                if key not in seen:  # a device's repeated report of the same play counts once
                    seen.add(key)
                    out.setdefault((bid, at.timestamp()), Counter())[outcome] += 1
        return out, len(ids)

    def _not_live(self, sess: Session, actor: Actor, area: str, kind: str, day: date) -> list[dict[str, Any]]:
        """Bulletins for this commune that the engine never saw: waiting for approval, rejected, recalled."""
        day_start = datetime.combine(day, time(0), self.ctx.tz)
        since = self.ctx.now() - timedelta(days=self.ctx.config.programme.recall_memory_days)
        rows = sess.scalars(
            select(Bulletin)
            .where(
                Bulletin.status.in_(list(NOT_LIVE)),
                or_(Bulletin.valid_until.is_(None), Bulletin.valid_until > day_start),
                or_(
                    Bulletin.status.in_(("submitted", "in_review", "rejected")), Bulletin.updated_at >= since
                ),
            )
            .order_by(Bulletin.created_at)
        ).all()
        out = []
        for b in rows:
            if kind not in b.kinds or not any(covers(p, area) for p in b.target_paths):
                continue
            if not any(actor.sees(p) for p in b.target_paths):
                continue
            why = (
                b.rejected_reason
                if b.status == "rejected"
                else b.recall_reason
                if b.status == "recalled"
                else ""
            )
            out.append(
                {
                    "bulletin_id": b.id,
                    "title": b.title,
                    "priority": b.priority,
                    "reason": b.status,
                    "detail": NOT_LIVE[b.status].format(why=(why or "").strip() or "không ghi"),
                }
            )
        return out

    def set_order(
        self, actor: Actor, *, area: str, day: date, order: list[str], kind: str = "*"
    ) -> dict[str, Any]:
        """A commune chair's order of the priority bulletins for a day (Art. 8.2; the caller republishes)."""
        self.areas.get(area)
        require(actor, "programme.arrange", area, area=area)
        if not self.areas.is_leaf(area):
            raise Invalid(f"'{area}' không phải cấp xã; thứ tự được đặt cho từng xã.", field="area")
        if kind not in ("*", *DEVICE_KINDS):
            raise Invalid("kind phải là 'radio', 'led' hoặc bỏ trống (cả hai).", field="kind")
        if len(order) > MAX_IDS:
            raise Invalid(f"Danh sách quá dài ({len(order)} bản tin); tối đa {MAX_IDS}.", field="order")
        if len(set(order)) != len(order):
            raise Invalid("Danh sách có bản tin lặp lại.", field="order")
        with self.ctx.tx(actor) as sess:
            live = {b.id: b for b in sess.scalars(select(Bulletin).where(Bulletin.id.in_(order)))}
            for bid in order:
                b = live.get(bid)
                if b is None or b.status not in LIVE_STATUSES:
                    raise Invalid(f"Bản tin '{bid}' không có hoặc chưa được duyệt.", field="order")
                if b.priority != "priority":
                    raise Invalid(
                        f"Bản tin '{bid}' là bản tin {b.priority}; danh sách này chỉ nhận bản tin ưu tiên.",
                        field="order",
                    )
                if not any(covers(t, area) for t in b.target_paths):
                    raise Invalid(f"Bản tin '{bid}' không gửi tới xã {area}.", field="order")
            row = sess.scalar(
                select(ProgrammeChoice).where(
                    ProgrammeChoice.area_path == area,
                    ProgrammeChoice.date == day.isoformat(),
                    ProgrammeChoice.kind == kind,
                )
            )
            if row is None:
                row = ProgrammeChoice(
                    area_path=area, date=day.isoformat(), kind=kind, order=None, updated_at=self.ctx.now()
                )
                sess.add(row)
            row.order = list(order)
            row.updated_by, row.updated_at = actor.user_id, self.ctx.now()
            self.ctx.audit(
                sess,
                actor,
                "programme.order",
                area,
                detail={"date": day.isoformat(), "kind": kind, "order": order},
            )
            kinds = list(DEVICE_KINDS) if kind == "*" else [kind]
            self.ctx.intend(sess, "republish", {"areas": [area], "kinds": kinds})
        return {"area": area, "date": day.isoformat(), "kind": kind, "order": order}




def _item_reports(
    reports: dict[tuple[str, float], Counter[str]], devices: int, item: dict[str, Any]
) -> dict[str, int]:
    """The commune's proof of play for one programme item: devices, and how many reported each outcome."""
    got = reports.get((item["bulletin_id"], datetime.fromisoformat(item["start"]).timestamp()), Counter())
    return {"devices": devices, **{o: got.get(o, 0) for o in PLAY_OUTCOMES}}
