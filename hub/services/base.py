"""What every service shares: the database, the clock, the config, and the transaction/audit helper."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hub.config import HubConfig
from hub.db import Database
from hub.errors import Forbidden
from hub.limits import USERNAME_MAX, bounded, cut
from hub.models import AuditEntry
from hub.roles import Actor
from hub.services.intents import record as record_intent
from protocol.clock import Clock

if TYPE_CHECKING:
    from tts import SpeechResult


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


class Speaker(Protocol):
    """What the bulletin service needs of speech (hub/speech.py's SpeechService, or the CLI's NoSpeech)."""

    async def speak(self, text: str, *, voice: str | None = None, preview: bool = False) -> SpeechResult:
        """The text spoken (with `voice`: an installed voice's id or "espeak-ng"; None = the configured
        default; `preview`: only listened to), or Invalid (422, field "text") saying why not."""
        ...


@dataclass
class Context:
    db: Database
    config: HubConfig
    clock: Clock

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    def now(self) -> datetime:
        return self.clock.now()

    def local_now(self) -> datetime:
        return self.clock.now().astimezone(self.tz)

    @contextmanager
    def tx(self, actor: Actor | None = None) -> Iterator[Session]:
        """One transaction; a Forbidden is audited in its own transaction after the rollback."""
        try:
            with self.db.session() as sess:
                yield sess
        except Forbidden as exc:
            if actor is not None:
                self.audit_denied(actor, exc)
            raise

    def audit_denied(self, actor: Actor, exc: Forbidden) -> None:
        """Record a refusal once (the API layer calls this for refusals raised outside a transaction)."""
        if getattr(exc, "audited", False):
            return
        exc.audited = True  # type: ignore[attr-defined]
        self.audit_now(
            actor,
            exc.extra.get("action", "denied"),
            exc.extra.get("target", ""),
            outcome="denied",
            detail={"message": exc.message},
        )

    def audit(
        self,
        sess: Session,
        actor: Actor,
        action: str,
        target: str = "",
        *,
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        # Bounded: the log is append-only and some values come from strangers (a login's username).
        sess.add(
            AuditEntry(
                at=self.now(),
                user_id=actor.user_id,
                username=cut(actor.username, USERNAME_MAX),
                action=cut(action, 64),
                target=cut(target),
                outcome=outcome,
                ip=cut(actor.ip, 64),
                detail=bounded(detail or {}),
            )
        )

    def intend(self, sess: Session, kind: str, params: dict[str, Any]) -> None:
        """Record what the change in `sess` must publish, in its transaction (hub/services/intents.py)."""
        record_intent(sess, kind, params, self.now())

    def audit_now(
        self,
        actor: Actor,
        action: str,
        target: str = "",
        *,
        outcome: str = "ok",
        detail: dict[str, Any] | None = None,
    ) -> None:
        with self.db.session() as sess:
            self.audit(sess, actor, action, target, outcome=outcome, detail=detail)


def deny(action: str, target: str, message: str) -> Forbidden:
    """A 403 that Context.tx records in the audit log."""
    return Forbidden(message, extra={"action": action, "target": target})


def require(actor: Actor, action: str, target: str = "", *, area: str | None = None) -> None:
    """Raise a (audited) 403 unless the actor's role allows `action` on `area`."""
    if not actor.may(action):
        raise deny(
            action, target, f"Vai trò '{actor.role}' không được phép thực hiện thao tác này ({action})."
        )
    if area is not None and not actor.covers(area):
        raise deny(action, target, f"Khu vực {area} nằm ngoài phạm vi được giao ({actor.area_path}).")
