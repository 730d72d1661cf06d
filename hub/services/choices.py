"""Art. 8.3: the normal bulletins a commune airs are the ones its chair chose.

A chair decides per bulletin: air it or not, on the radio, the LED board or both, for one day or for the
bulletin's whole validity; or sets a standing rule for the commune ("tự động nhận bản tin thông thường của
tỉnh/huyện"). Nothing airs by default: a bulletin with no decision and no rule waits for the chair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hub.errors import Invalid
from hub.models import VALIDITY, Bulletin, BulletinTarget, NormalChoice, StandingChoice
from hub.roles import Actor
from hub.services.areas import AreaService
from hub.services.base import Context, require
from protocol.topics import covers
from protocol.vocabulary import DEVICE_KINDS, LIVE_STATUSES, ORIGINS

KINDS = DEVICE_KINDS
MAX_IDS = 500  # bulletins in one decision; a commune sees tens a day
KIND_VI = {"radio": "đài truyền thanh", "led": "bảng tin điện tử"}
ORIGIN_VI = {"central": "Trung ương", "province": "tỉnh", "district": "huyện", "commune": "xã"}
Why = Literal["day", "validity", "standing", "waiting"]
Check = Callable[[Session, str, list[str]], None]  # refuses a choice whose programme would be too big
# Shown on the chair's screen for a normal bulletin not on air because of a decision.
DECLINED_VI = {
    "day": "Chủ tịch UBND xã không chọn bản tin này cho ngày này.",
    "validity": "Chủ tịch UBND xã không chọn bản tin này (cho suốt thời gian hiệu lực).",
}


@dataclass(frozen=True)
class Choices:
    """Every decision on live normal bulletins and every standing rule, loaded once per republish."""

    decisions: dict[tuple[str, str, str, str], bool] = field(default_factory=dict)  # area, id, kind, date
    standing: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)  # area -> (origin, kind)

    @cached_property
    def areas(self) -> frozenset[str]:
        """Communes with any decision or rule (the others air no normal bulletin)."""
        return frozenset(a for a, *_ in self.decisions) | frozenset(self.standing)

    def decide(self, area: str, bulletin_id: str, origin: str, kind: str, day: str) -> tuple[bool, Why]:
        """Does the bulletin air in `area` on `kind` that day, and what decided it."""
        d = self.decisions.get((area, bulletin_id, kind, day))
        if d is not None:
            return d, "day"
        d = self.decisions.get((area, bulletin_id, kind, VALIDITY))
        if d is not None:
            return d, "validity"
        if (origin, kind) in self.standing.get(area, frozenset()):
            return True, "standing"
        return False, "waiting"


def load_choices(sess: Session, dates: Iterable[str], areas: Iterable[str] | None = None) -> Choices:
    """Decisions for the given days and whole-validity ones, on bulletins still live."""
    q = (
        select(
            NormalChoice.area_path,
            NormalChoice.bulletin_id,
            NormalChoice.kind,
            NormalChoice.date,
            NormalChoice.chosen,
        )
        .join(Bulletin, Bulletin.id == NormalChoice.bulletin_id)
        .where(Bulletin.status.in_(LIVE_STATUSES), NormalChoice.date.in_([*dates, VALIDITY]))
    )
    rq = select(StandingChoice.area_path, StandingChoice.origin, StandingChoice.kind)
    if areas is not None:
        alist = list(areas)
        q = q.where(NormalChoice.area_path.in_(alist))
        rq = rq.where(StandingChoice.area_path.in_(alist))
    decisions = {(a, b, k, d): bool(c) for a, b, k, d, c in sess.execute(q)}
    standing: dict[str, set[tuple[str, str]]] = {}
    for a, o, k in sess.execute(rq):
        standing.setdefault(a, set()).add((o, k))
    return Choices(decisions, {a: frozenset(v) for a, v in standing.items()})


def _covers(targets: Iterable[str], area: str) -> bool:
    return any(covers(t, area) for t in targets)


def _unique(ids: list[str], fld: str) -> None:
    if len(ids) > MAX_IDS:
        raise Invalid(f"Danh sách quá dài ({len(ids)} bản tin); mỗi lần chọn tối đa {MAX_IDS}.", field=fld)
    if len(set(ids)) != len(ids):
        raise Invalid("Danh sách có bản tin lặp lại.", field=fld)


class ChoiceService:
    """The chair's decisions on normal bulletins and the commune's standing rules (audited)."""

    def __init__(self, ctx: Context, areas: AreaService) -> None:
        self.ctx = ctx
        self.areas = areas

    def _commune(self, actor: Actor, area: str) -> None:
        self.areas.get(area)
        require(actor, "programme.arrange", area, area=area)
        if not self.areas.is_leaf(area):
            raise Invalid(f"'{area}' không phải cấp xã; lựa chọn được đặt cho từng xã.", field="area")

    def choose(
        self,
        actor: Actor,
        *,
        area: str,
        kinds: tuple[str, ...],
        scope: str,
        day: date | None,
        chosen: list[str],
        declined: list[str],
        check: Check | None = None,
    ) -> dict[str, Any]:
        """Record the chair's decision on each listed bulletin (others are left as they were). `check`
        (the publisher's size check) may refuse the result before it is committed."""
        self._commune(actor, area)
        self._check_request(kinds, scope, day, chosen, declined)
        key = day.isoformat() if scope == "day" and day is not None else VALIDITY
        now = self.ctx.now()
        changed: list[dict[str, Any]] = []
        with self.ctx.tx(actor) as sess:
            rows = {b.id: b for b in sess.scalars(select(Bulletin).where(Bulletin.id.in_(chosen + declined)))}
            plan: list[tuple[str, str, bool]] = []
            for bid, want in [(b, True) for b in chosen] + [(b, False) for b in declined]:
                on = self._check_bulletin(
                    rows.get(bid), bid, area, kinds=kinds, scope=scope, day=day, want=want
                )
                plan.extend((bid, k, want) for k in on)
            existing = {
                (r.bulletin_id, r.kind): r
                for r in sess.scalars(
                    select(NormalChoice).where(
                        NormalChoice.area_path == area,
                        NormalChoice.date == key,
                        NormalChoice.bulletin_id.in_(chosen + declined),
                    )
                )
            }
            for bid, k, want in plan:
                row = existing.get((bid, k))
                if row is not None and row.chosen == want:
                    continue  # a replayed or repeated decision changes nothing
                if row is None:
                    sess.add(
                        NormalChoice(
                            area_path=area,
                            bulletin_id=bid,
                            kind=k,
                            date=key,
                            chosen=want,
                            decided_by=actor.user_id,
                            decided_at=now,
                        )
                    )
                else:
                    row.chosen, row.decided_by, row.decided_at = want, actor.user_id, now
                changed.append({"bulletin_id": bid, "kind": k, "chosen": want})
            if changed and check is not None and any(c["chosen"] for c in changed):
                check(sess, area, sorted({c["kind"] for c in changed}))
            if changed:
                self.ctx.audit(
                    sess,
                    actor,
                    "programme.choose",
                    area,
                    detail={"scope": scope, "date": key, "kinds": list(kinds), "changes": changed},
                )
                self.ctx.intend(sess, "republish", {"areas": [area], "kinds": list(kinds)})
        return {
            "area": area,
            "scope": scope,
            "date": key if scope == "day" else None,
            "kinds": list(kinds),
            "selection": chosen,
            "declined": declined,
            "changed": len(changed),
        }

    def _check_request(
        self, kinds: tuple[str, ...], scope: str, day: date | None, chosen: list[str], declined: list[str]
    ) -> None:
        if not kinds or any(k not in KINDS for k in kinds) or len(set(kinds)) != len(kinds):
            raise Invalid(
                "Chọn loại thiết bị: đài truyền thanh (radio), bảng tin (led) hoặc cả hai.", field="kind"
            )
        if scope not in ("day", "validity"):
            raise Invalid(
                "scope là 'day' (một ngày) hoặc 'validity' (suốt thời gian hiệu lực).", field="scope"
            )
        if scope == "day":
            if day is None:
                raise Invalid("Chọn cho một ngày cần có ngày (date).", field="date")
            if day < self.ctx.local_now().date():
                raise Invalid(f"Ngày {day:%d/%m/%Y} đã qua; chỉ chọn được từ hôm nay trở đi.", field="date")
        _unique(chosen, "selection")
        _unique(declined, "declined")
        both = set(chosen) & set(declined)
        if both:
            raise Invalid(f"Bản tin '{sorted(both)[0]}' vừa được chọn vừa bị bỏ.", field="declined")
        if not chosen and not declined:
            raise Invalid("Không có bản tin nào trong lựa chọn.", field="selection")

    def _check_bulletin(
        self,
        b: Bulletin | None,
        bid: str,
        area: str,
        *,
        kinds: tuple[str, ...],
        scope: str,
        day: date | None,
        want: bool,
    ) -> list[str]:
        """The kinds the decision applies to, or a 422 saying why this bulletin cannot be chosen here."""
        fld = "selection" if want else "declined"
        if b is None or b.status not in LIVE_STATUSES:
            raise Invalid(f"Bản tin '{bid}' không có hoặc chưa được duyệt.", field=fld)
        if b.priority != "normal":
            raise Invalid(
                f"Bản tin '{bid}' không phải bản tin thông thường; chỉ bản tin thông thường được chọn "
                "(bản tin ưu tiên được sắp thứ tự).",
                field=fld,
            )
        if not _covers(b.target_paths, area):
            raise Invalid(f"Bản tin '{bid}' không gửi tới xã {area}.", field=fld)
        on = [k for k in kinds if k in b.kinds]
        if not on:
            names = " hay ".join(KIND_VI[k] for k in kinds)
            raise Invalid(f"Bản tin '{bid}' không dành cho {names}.", field=fld)
        if want and scope == "day" and day is not None:  # not airing it on a day it cannot air is harmless
            self._valid_on(b, day, fld)
        return on

    def _valid_on(self, b: Bulletin, day: date, fld: str) -> None:
        start = datetime.combine(day, time(0), self.ctx.tz)
        end = start + timedelta(days=1)
        if (b.valid_until is not None and b.valid_until <= start) or (
            b.valid_from is not None and b.valid_from >= end
        ):
            raise Invalid(
                f"Bản tin '{b.id}' không có hiệu lực ngày {day:%d/%m/%Y}; chọn một ngày trong thời gian "
                "hiệu lực, hoặc chọn cho suốt thời gian hiệu lực.",
                field=fld,
            )

    def standing(self, actor: Actor, area: str) -> dict[str, Any]:
        """The commune's standing rules: which origins' normal bulletins air on which kinds unasked."""
        require(actor, "read")
        self.areas.get(area)
        if not actor.covers(area):
            require(actor, "programme.arrange", area, area=area)
        with self.ctx.db.session() as sess:
            rules = self.rules_in(sess, area)
        return {"area": area, "rules": [{"origin": o, "kind": k} for o, k in rules]}

    def rules_in(self, sess: Session, area: str) -> list[tuple[str, str]]:
        rows = sess.execute(
            select(StandingChoice.origin, StandingChoice.kind).where(StandingChoice.area_path == area)
        ).all()
        return sorted(((o, k) for o, k in rows), key=lambda r: (ORIGINS.index(r[0]), KINDS.index(r[1])))

    def set_standing(
        self, actor: Actor, *, area: str, origins: list[str], kinds: list[str], check: Check | None = None
    ) -> dict[str, Any]:
        """Replace the commune's standing rule: every origin listed, on every kind listed (none = no rule)."""
        self._commune(actor, area)
        if any(o not in ORIGINS for o in origins) or len(set(origins)) != len(origins):
            raise Invalid(
                f"origins: dùng các cấp trong {', '.join(ORIGINS)}, mỗi cấp một lần.", field="origins"
            )
        if any(k not in KINDS for k in kinds) or len(set(kinds)) != len(kinds):
            raise Invalid("kinds: 'radio' và/hoặc 'led', mỗi loại một lần.", field="kinds")
        if bool(origins) != bool(kinds):
            raise Invalid(
                "Quy tắc cần cả cấp gửi (tỉnh, huyện...) và loại thiết bị; bỏ hết cả hai để tắt quy tắc.",
                field="kinds" if origins else "origins",
            )
        want = {(o, k) for o in origins for k in kinds}
        with self.ctx.tx(actor) as sess:
            rows = {
                (r.origin, r.kind): r
                for r in sess.scalars(select(StandingChoice).where(StandingChoice.area_path == area))
            }
            before = self.rules_in(sess, area)
            if set(rows) != want:
                for key, r in rows.items():
                    if key not in want:
                        sess.delete(r)
                for o, k in sorted(want - set(rows)):
                    sess.add(
                        StandingChoice(
                            area_path=area, origin=o, kind=k, set_by=actor.user_id, set_at=self.ctx.now()
                        )
                    )
                sess.flush()
                if check is not None and want - set(rows):
                    check(sess, area, sorted({k for _, k in want - set(rows)}))
                self.ctx.audit(
                    sess,
                    actor,
                    "programme.standing",
                    area,
                    detail={
                        "before": [list(r) for r in before],
                        "after": [list(r) for r in self.rules_in(sess, area)],
                    },
                )
                self.ctx.intend(sess, "republish", {"areas": [area], "kinds": list(DEVICE_KINDS)})
                changed = True
            else:
                changed = False
            rules = self.rules_in(sess, area)
        return {"area": area, "rules": [{"origin": o, "kind": k} for o, k in rules], "changed": changed}

    def waiting(self, actor: Actor, area: str) -> list[dict[str, Any]]:
        """Normal bulletins for the commune, still valid, that no decision or rule covers yet."""
        require(actor, "read")
        self.areas.get(area)
        if not actor.sees(area):
            require(actor, "programme.arrange", area, area=area)
        with self.ctx.db.session() as sess:
            return self.waiting_in(sess, area)

    def waiting_in(self, sess: Session, area: str) -> list[dict[str, Any]]:
        now = self.ctx.now()
        today = self.ctx.local_now().date().isoformat()
        # only the bulletins aimed at the commune or above it (its path's prefixes): not the whole province's
        parts = area.split("/")
        above = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        rows = sess.scalars(
            select(Bulletin)
            .where(
                Bulletin.priority == "normal",
                Bulletin.status.in_(LIVE_STATUSES),
                or_(Bulletin.valid_until.is_(None), Bulletin.valid_until > now),
                Bulletin.id.in_(
                    select(BulletinTarget.bulletin_id).where(BulletinTarget.area_path.in_(above))
                ),
            )
            .order_by(Bulletin.approved_at)
        ).all()
        mine = [b for b in rows if _covers(b.target_paths, area)]
        if not mine:
            return []
        decided = set(
            sess.scalars(
                select(NormalChoice.bulletin_id).where(
                    NormalChoice.area_path == area,
                    NormalChoice.bulletin_id.in_([b.id for b in mine]),
                    or_(NormalChoice.date == VALIDITY, NormalChoice.date >= today),
                )
            )
        )
        rules = set(self.rules_in(sess, area))
        return [
            {
                "id": b.id,
                "title": b.title,
                "origin": b.origin,
                "kinds": list(b.kinds),
                "valid_until": b.valid_until.isoformat() if b.valid_until else None,
            }
            for b in mine
            if b.id not in decided and not any((b.origin, k) in rules for k in b.kinds)
        ]

    def waiting_count(self, actor: Actor) -> int | None:
        """For the menu: a chair's count of bulletins waiting for a choice (None for others)."""
        area = actor.area_path
        if not actor.may("programme.arrange") or area is None or area not in self.areas.all():
            return None
        if not self.areas.is_leaf(area):
            return None
        with self.ctx.db.session() as sess:
            return len(self.waiting_in(sess, area))
