"""Environment overrides of a config file, one prefix per program: NGUON_HUB_... and NGUON_AGENT_...

`NGUON_<PROGRAM>_<SECTION>__<KEY>` sets a key of a section, `NGUON_<PROGRAM>_<KEY>` a top-level key.
A variable with the program's own prefix that names nothing is refused with a "did you mean". The
other program's prefix is not looked at. The old shared names (`NGUON_<SECTION>__<KEY>`) still work for
one release: a name this program reads is taken with a warning naming the new one; a name it does not
read (most likely meant for the other program) is ignored with a warning.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

Program = Literal["hub", "agent"]
LEGACY_PREFIX = "NGUON_"
PREFIXES: dict[Program, str] = {"hub": "NGUON_HUB_", "agent": "NGUON_AGENT_"}
# NGUON_ variables that are not config settings (the demo's admin password, the speech CLI's cache,
# test and kiosk switches): neither program warns about them.
NOT_SETTINGS = frozenset(
    {"NGUON_ADMIN_PASSWORD", "NGUON_TTS_CACHE", "NGUON_SCREENSHOTS", "NGUON_FUZZ_EXAMPLES"}
)
NOT_SETTINGS_PREFIXES = ("NGUON_KIOSK_",)


class EnvError(ValueError):
    """An environment variable with the program's prefix names no setting; the message says which."""


@dataclass(frozen=True)
class Override:
    variable: str  # the environment variable it came from
    section: str | None  # None for a top-level key
    key: str
    raw: str


def _hint(name: str, choices: Collection[str]) -> str:
    near = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(sorted(choices))})"


def _split(rest: str) -> tuple[str | None, str]:
    if "__" in rest:
        section, key = rest.split("__", 1)
        return section, key
    return None, rest


def env_overrides(
    environ: Mapping[str, str], program: Program, sections: Collection[str], top: Collection[str]
) -> list[Override]:
    """The overrides `program` takes from `environ`; raises EnvError for an unknown NGUON_<PROGRAM>_ name.

    `sections` are the program's section names, `top` its top-level keys. Keys inside a section are
    checked by the caller (it knows their types and gives the did-you-mean)."""
    own = PREFIXES[program]
    others = tuple(p for p in PREFIXES.values() if p != own)
    out: list[Override] = []
    old: list[Override] = []  # applied first, so that a new name set beside its old one wins
    for name in sorted(environ):
        raw = environ[name]
        if name.startswith(own):
            section, key = _split(name[len(own) :].lower())
            if section is not None:
                if section not in sections:
                    raise EnvError(
                        f"environment variable {name}: the {program} has no section {section!r}"
                        f"{_hint(section, sections)}"
                    )
                if not key:
                    raise EnvError(f"environment variable {name}: name a key, e.g. {name}<KEY>")
            elif key in sections:
                raise EnvError(
                    f"environment variable {name}: {key!r} is a section; set one key of it with "
                    f"{own}{key.upper()}__<KEY>"
                )
            elif key not in top:
                raise EnvError(
                    f"environment variable {name}: the {program} has no setting {key!r}"
                    f"{_hint(key, [*top, *(f'{s}__' for s in sections)])}"
                )
            out.append(Override(name, section, key, raw))
        elif (
            name.startswith(LEGACY_PREFIX)
            and not name.startswith(others)
            and name not in NOT_SETTINGS
            and not name.startswith(NOT_SETTINGS_PREFIXES)
        ):
            rest = name[len(LEGACY_PREFIX) :]
            section, key = _split(rest.lower())
            if (section in sections and key) if section is not None else (key in top):
                log.warning(
                    "environment variable %s is an old name, still read for this release: rename it %s%s",
                    name, own, rest,
                )
                old.append(Override(name, section, key, raw))
            else:
                other = "agent" if program == "hub" else "hub"
                near = difflib.get_close_matches(key, list(top), n=1) if section is None else []
                log.warning(
                    "environment variable %s is not a setting of the %s: ignored (if it is meant for the "
                    "%s, its new name is %s%s)%s",
                    name, program, other, others[0], rest,
                    f"; did you mean {own}{near[0].upper()}?" if near else "",
                )
    return old + out
