"""The programme engine: priority, broadcast windows, commune chairs' choices, and why (docs/RULES.md).

Pure: standard library only. See README.md for the rules where the regulation is silent.
"""

from playlists.engine import Day, compile_day, compile_dict, compile_for_area, compile_programme, prepare_day
from playlists.errors import RequestError
from playlists.model import (
    REASONS,
    RELAY_REASONS,
    SHORT_REASONS,
    Bulletin,
    CompileRequest,
    Play,
    ProgrammeResult,
    Relay,
    RelayPlay,
    Shortfall,
    Unscheduled,
)
from playlists.parse import bulletin_from_dict, relay_from_dict, request_from_dict
from playlists.windows import (
    DEFAULT_TZ,
    Window,
    default_windows,
    last_moment_check,
    open_window,
    parse_window,
    parse_windows,
    window_at,
    windows_per_day,
)
from protocol.vocabulary import DEVICE_KINDS, ORIGINS, PRIORITIES

__all__ = [
    "DEFAULT_TZ",
    "DEVICE_KINDS",
    "ORIGINS",
    "PRIORITIES",
    "REASONS",
    "RELAY_REASONS",
    "SHORT_REASONS",
    "Bulletin",
    "CompileRequest",
    "Day",
    "Play",
    "ProgrammeResult",
    "Relay",
    "RelayPlay",
    "RequestError",
    "Shortfall",
    "Unscheduled",
    "Window",
    "bulletin_from_dict",
    "compile_day",
    "compile_dict",
    "compile_for_area",
    "compile_programme",
    "default_windows",
    "last_moment_check",
    "open_window",
    "parse_window",
    "parse_windows",
    "prepare_day",
    "relay_from_dict",
    "request_from_dict",
    "window_at",
    "windows_per_day",
]
