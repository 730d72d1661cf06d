"""No cell of an exported CSV can run as a formula in a spreadsheet, whatever the separator the
spreadsheet splits on (docs/SECURITY.md; OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from hub.roles import SYSTEM
from hub.spreadsheet import safe_cell
from tests.security.conftest import SecHub

ATTACKS = [
    "=1+1",
    "+cmd",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    '  =HYPERLINK("http://evil")',
    "x;=cmd|' /C calc'!A0",
    "x,=cmd|' /C calc'!A0",
    "a | +1",
    "tin;\t@x",
]
FORMULA = ("=", "+", "-", "@")


def _runs(cell: str) -> bool:
    """Would a spreadsheet read this cell as a formula (leading blanks, tabs and returns skipped)?"""
    return cell.lstrip(" \t\r\n")[:1] in FORMULA


@pytest.mark.parametrize("text", ATTACKS)
def test_no_part_of_a_cell_starts_a_formula(text: str) -> None:
    cell = safe_cell(text)
    assert cell[:1] not in ("\t", "\r")  # OWASP: a cell never starts with TAB or CR
    for sep in (",", ";", "|", "\t", "\r", "\n"):
        assert not any(_runs(part) for part in cell.split(sep)), (text, cell, sep)


def test_ordinary_text_is_kept() -> None:
    for text in ("Lịch tiêm chủng 25/11", "2026-11-23 05:00:00", "A - B", "loa-24613-01", "", "5"):
        assert safe_cell(text) == text


async def test_the_play_log_csv_is_safe_in_either_locale(hub: SecHub) -> None:
    title = "x;=cmd|' /C calc'!A0"
    c, auth = await hub.api("editor67")
    r = await c.post(
        "/api/v1/bulletins",
        headers=auth,
        json={"title": title, "priority": "normal", "text": "Tiêm chủng.", "targets": ["67/660/24613"]},
    )
    assert r.status == 201, await r.text()
    bid = (await r.json())["id"]
    a, aauth = await hub.api("admin1")
    r = await a.post(f"/api/v1/bulletins/{bid}/approve", headers=aauth)
    assert r.status == 200, await r.text()
    hub.s.devices.register(SYSTEM, device_id="loa-24613-01", kind="radio", area="67/660/24613")
    at = hub.clock.now() + timedelta(hours=1)
    play = {
        "bulletin_id": bid,
        "outcome": "complete",
        "started_at": at.isoformat(),
        "ended_at": at.isoformat(),
    }
    hub.s.devices.ingest_events(
        "loa-24613-01", [{"id": "p-1", "type": "play", "data": {**play, "detail": "ok,=2+2"}}]
    )
    b = await hub.browser("editor67")
    r = await b.client.get("/plays.csv?date=2026-11-23")
    assert r.status == 200
    text = (await r.read()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2 and any("cmd|" in cell for cell in rows[1])
    for delimiter in (",", ";"):  # a Vietnamese Excel splits on ';'
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            assert not any(_runs(cell) for cell in row), (delimiter, row)
    assert all(line.startswith('"') for line in text.splitlines() if line)  # every cell quoted
