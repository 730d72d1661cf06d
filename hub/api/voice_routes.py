"""The REST API's voices: the installed neural voices and the province's default, and a preview of a
sentence in a voice (the bulletin form's "Nghe thử"). Installing a voice is the operator's
`python -m tts voice add` on the hub (docs/OPERATIONS.md): model files never come over the web."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hub.api.routes import A, S, api
from hub.api.schemas import VoiceDefaultIn, VoicePreviewIn
from hub.services.base import require
from hub.services.voices import check_preview_text


@api.route("GET", "/voices", "installed voices, espeak-ng, and the province's default", tag="voices")
def list_voices(request: web.Request, s: S, a: A) -> Any:
    require(a, "read")
    return s.voices.listing()


@api.route("PUT", "/voices/default", "set the province's default voice (admin)", body=VoiceDefaultIn,
           tag="voices")
def set_default_voice(request: web.Request, s: S, a: A, *, body: VoiceDefaultIn) -> Any:
    return s.voices.set_default(a, body.voice)


@api.route("POST", "/voices/preview", "a sentence spoken in a voice (audio; espeak-ng if the voice fails)",
           body=VoicePreviewIn, tag="voices", media="audio/mpeg")
async def preview_voice(request: web.Request, s: S, a: A, *, body: VoicePreviewIn) -> Any:
    require(a, "bulletin.create")
    text = check_preview_text(body.text)
    voice = s.voices.check_choice(body.voice)
    with s.voices.previewing(a):
        resolved = voice or await _default(s)
        result = await s.bulletins.speech.speak(text, voice=resolved, preview=True)
    return web.FileResponse(result.path, headers={
        "Content-Type": result.mime, "Cache-Control": "no-store",
        "X-Voice-Engine": result.engine, "X-Voice": result.voice,
    })


async def _default(s: S) -> str:
    return await asyncio.to_thread(s.voices.default)
