"""A bulletin's language versions as the radio plays them (docs/PROTOCOL.md, "Language versions"): the
Vietnamese first, then each version the hub put in this commune's programme, one after the other. An
item's offset (where a cut-off play resumes) counts from the start of the first part."""

from __future__ import annotations

from dataclasses import dataclass, replace

from protocol.messages import BulletinInfo

VIE = "vie"


@dataclass(frozen=True)
class Part:
    info: BulletinInfo  # the bulletin with this part's media and length (what the audio output plays)
    language: str  # ISO 639-3: "vie", or the version's code
    start_ms: int  # where the part starts within the item

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.info.duration_ms


def parts(b: BulletinInfo) -> list[Part]:
    """The parts of a programme item: one (the Vietnamese) for a bulletin without language versions."""
    if not b.languages:
        return [Part(b, VIE, 0)]
    rest = sum(v.media.duration_ms for v in b.languages)
    first = replace(b, duration_ms=max(b.duration_ms - rest, 0), languages=[])
    out = [Part(first, VIE, 0)]
    at = first.duration_ms
    for v in b.languages:
        out.append(Part(replace(b, media=v.media, duration_ms=v.media.duration_ms, languages=[]), v.code, at))
        at += v.media.duration_ms
    return out
