"""CSV for a spreadsheet, the one way every export writes it: UTF-8 with a BOM (Excel reads Vietnamese),
every cell quoted, and no cell a spreadsheet could run as a formula (OWASP, CSV injection)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

# What starts a formula in Excel, LibreOffice or Google Sheets (OWASP: = + - @ TAB CR), also after leading
# spaces, and after a separator another locale's spreadsheet may split on (';' in Vietnamese Excel).
_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_AFTER_SEPARATOR = re.compile(r"([,;|\t\r\n])(\s*)([=+\-@])")


def safe_cell(value: Any) -> str:
    """The text of one cell, neutralised: a formula character that begins the cell, or a part of it after
    a separator, gets a leading apostrophe, so the spreadsheet shows it as text."""
    text = "" if value is None else str(value)
    text = _AFTER_SEPARATOR.sub(r"\1\2'\3", text)
    if text.lstrip(" ")[:1] in _STARTS and text.strip(" "):
        text = "'" + text
    return text


def csv_bytes(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A whole CSV file: BOM, header and rows, every cell quoted and neutralised."""
    out = io.StringIO()
    w = csv.writer(out, quoting=csv.QUOTE_ALL)
    w.writerow([safe_cell(x) for x in header])
    for row in rows:
        w.writerow([safe_cell(x) for x in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
