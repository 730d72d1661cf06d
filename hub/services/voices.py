"""Voices for text bulletins: the installed neural voices (tts/voices.py, added by the operator with
`python -m tts voice add`), the province's default (an admin setting, else [tts] neural_voice, else
espeak-ng) and the check of a bulletin's choice. espeak-ng is always a choice and always the fallback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from hub.errors import Invalid, Locked
from hub.models import HubSetting
from hub.roles import Actor
from hub.services.base import Context, require
from tts.voices import VoiceStore

ESPEAK = "espeak-ng"
ESPEAK_LABEL = "espeak-ng (giọng máy, luôn có)"
DEFAULT_KEY = "tts.default_voice"
PREVIEW_MAX = 300
VOICE_MAX = 80


@dataclass(frozen=True)
class VoiceChoice:
    """One voice an editor can pick."""

    id: str
    label: str
    region: str | None
    language: str
    neural: bool


@dataclass(frozen=True)
class VoiceList:
    """What the form and the admin page show."""

    default: str
    default_missing: bool  # the default names a voice that was removed: espeak-ng speaks meanwhile
    voices: list[VoiceChoice]


class VoiceService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.store = VoiceStore(ctx.config.voices_dir)
        self._previewing: set[str] = set()
        self._guard = threading.Lock()

    @contextmanager
    def previewing(self, actor: Actor) -> Iterator[None]:
        """One preview at a time per person: the speech threads also speak the bulletins being submitted."""
        with self._guard:
            if actor.username in self._previewing:
                raise Locked("Đang tạo câu nghe thử trước; hãy chờ nghe xong rồi thử lại.", field="text",
                             code="preview_busy")
            self._previewing.add(actor.username)
        try:
            yield
        finally:
            with self._guard:
                self._previewing.discard(actor.username)

    def choices(self) -> list[VoiceChoice]:
        """The installed voices, then espeak-ng."""
        out = [VoiceChoice(v.id, v.label, v.region, v.language, True) for v in self.store.list()]
        return [*out, VoiceChoice(ESPEAK, ESPEAK_LABEL, None, "vi", False)]

    def _installed(self) -> set[str]:
        return {v.id for v in self.store.list()}

    def default(self) -> str:
        """The province's default voice: the admin's setting, else [tts] neural_voice, else espeak-ng."""
        with self.ctx.tx() as sess:
            row = sess.get(HubSetting, DEFAULT_KEY)
            if row is not None:
                return str(json.loads(row.value))
        return self.ctx.config.tts.neural_voice or ESPEAK

    def listing(self) -> VoiceList:
        default = self.default()
        return VoiceList(default, default != ESPEAK and default not in self._installed(), self.choices())

    def check_choice(self, voice: str | None) -> str | None:
        """A bulletin's choice as stored (None = the default); Invalid (field "voice") naming the choices."""
        if voice is None or voice == "":
            return None
        if voice == ESPEAK or voice in self._installed():
            return voice
        names = ", ".join(c.id for c in self.choices())
        shown = voice[:VOICE_MAX] + ("…" if len(voice) > VOICE_MAX else "")
        raise Invalid(f"Không có giọng đọc '{shown}'. Hãy chọn một trong: {names}.", field="voice",
                      code="unknown_voice")

    def resolve(self, choice: str | None) -> str:
        """The voice to speak with now: the bulletin's choice, else the province's default."""
        return choice or self.default()

    def set_default(self, actor: Actor, voice: str) -> VoiceList:
        """The admin's choice of the province's default voice (audited)."""
        require(actor, "voice.default")
        checked = self.check_choice(voice)
        if checked is None:
            raise Invalid("Hãy chọn một giọng đọc.", field="voice")
        now = self.ctx.now()
        with self.ctx.tx(actor) as sess:
            row = sess.get(HubSetting, DEFAULT_KEY)
            before = json.loads(row.value) if row is not None else None
            if row is None:
                row = HubSetting(key=DEFAULT_KEY, value="", updated_at=now)
                sess.add(row)
            row.value, row.updated_at, row.updated_by = json.dumps(checked), now, actor.user_id
            self.ctx.audit(sess, actor, "voice.default", checked, detail={"before": before})
        return self.listing()


def check_preview_text(text: str) -> str:
    """The sentence a preview speaks: non-empty, at most PREVIEW_MAX characters."""
    text = (text or "").strip()
    if not text:
        raise Invalid("Hãy nhập một câu để nghe thử.", field="text")
    if len(text) > PREVIEW_MAX:
        raise Invalid(f"Câu nghe thử dài {len(text)} ký tự; tối đa {PREVIEW_MAX}.", field="text")
    return text
