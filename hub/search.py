"""Searching what people typed: no case, no Vietnamese diacritics, no separators ("hoa binh" finds "Hòa
Bình", "loa30007" finds "loa-30007-01"). Shared by the web lists and the services that search."""

from __future__ import annotations

from hub.security import folded


def search_words(q: str) -> list[str]:
    """The words of a search, folded."""
    return [w for w in (folded(x) for x in q.split()) if w]


def matches(words: list[str], *texts: str | None) -> bool:
    """Every word is in one of the texts (no words: everything matches)."""
    if not words:
        return True
    hay = " ".join(folded(t) for t in texts if t)
    return all(w in hay for w in words)
