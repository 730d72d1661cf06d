"""A bulletin's life: the one table of legal status changes, and `move`, the one way to change a status.

Every path that changes a bulletin's status goes through `move` (submit, flag and unflag, approve, reject,
an edit that reopens a rejected bulletin, the first play a device reports, the end of validity, recall,
cancel); a change the table does not list is refused with a 409 saying from what to what. Each service
still checks its own preconditions first (who may, which states its action accepts) with its own message;
this table is the guarantee underneath that no path invents a move. Pure: no database, no I/O.

    draft, rejected --submit--> submitted, or in_review if sensitive (an edit submits a waiting one again)
    submitted <--flag / unflag--> in_review
    submitted, in_review --approve (a sensitive one: its last sign-off)--> approved; --reject--> rejected
    rejected --edit--> draft
    approved --a device reports playing it--> on_air
    approved, on_air --> finished (validity ended), recalled, cancelled (an emergency)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from hub.errors import Conflict
from protocol.vocabulary import BulletinStatus

S = BulletinStatus

STATUS_VI: Mapping[str, str] = {
    S.DRAFT.value: "Bản nháp",
    S.SUBMITTED.value: "Chờ duyệt",
    S.IN_REVIEW.value: "Chờ kiểm duyệt",
    S.APPROVED.value: "Đã duyệt",
    S.ON_AIR.value: "Đang phát",
    S.FINISHED.value: "Đã kết thúc",
    S.REJECTED.value: "Bị từ chối",
    S.RECALLED.value: "Đã thu hồi",
    S.CANCELLED.value: "Đã hủy",
}

_WAITING = frozenset({S.SUBMITTED, S.IN_REVIEW})
_ENDS = frozenset({S.FINISHED, S.RECALLED, S.CANCELLED})

# from -> the statuses it may become. Submitting again after an edit keeps a waiting bulletin waiting
# (submitted -> submitted, in_review -> in_review), so those two list themselves.
TRANSITIONS: Mapping[BulletinStatus, frozenset[BulletinStatus]] = {
    S.DRAFT: _WAITING,  # submit
    S.REJECTED: _WAITING | {S.DRAFT},  # submit again, or an edit reopens it as a draft
    S.SUBMITTED: _WAITING | {S.APPROVED, S.REJECTED},  # resubmit, flag, approve, reject
    S.IN_REVIEW: _WAITING | {S.APPROVED, S.REJECTED},  # resubmit, unflag, last sign-off, reject
    S.APPROVED: _ENDS | {S.ON_AIR},  # a device reports playing it; end of validity, recall, cancel
    S.ON_AIR: _ENDS,
    S.FINISHED: frozenset(),
    S.RECALLED: frozenset(),
    S.CANCELLED: frozenset(),
}


class IllegalTransition(Conflict):
    """A status change the table does not allow (409)."""

    code = "illegal_transition"


class HasStatus(Protocol):
    status: str


def allowed(current: str, new: str) -> bool:
    """True if a bulletin in `current` may become `new`; unknown statuses are never allowed."""
    try:
        return BulletinStatus(new) in TRANSITIONS[BulletinStatus(current)]
    except (ValueError, KeyError):
        return False


def move(b: HasStatus, new: BulletinStatus) -> None:
    """Set `b.status` to `new` if the table allows it, else raise IllegalTransition (nothing changed)."""
    if not allowed(b.status, new):
        now = STATUS_VI.get(b.status, b.status)
        raise IllegalTransition(
            f"Bản tin đang ở trạng thái '{now}', không chuyển sang '{STATUS_VI[new]}' được.",
            field="status",
            extra={"from": b.status, "to": str(new)},
        )
    b.status = str(new)  # the plain string, as the database and the API have always had it
