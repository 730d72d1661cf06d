"""Render the first page of a sample half-year report (Art. 18) as docs/screenshots/report-first-page.png.

A one-off for the documentation, not a test dependency: it fills a throwaway hub with the statistics tests'
known events (tests/hub/statsdata.py), drafts the report as the API does, and asks LibreOffice (Debian:
`apt-get install libreoffice-writer-nogui poppler-utils`) for a PDF and pdftoppm for the PNG:

    PYTHONPATH=. .venv/bin/python scripts/report_sample.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub.app import build_services  # noqa: E402
from hub.config import build_config  # noqa: E402
from hub.roles import SYSTEM, Actor  # noqa: E402
from hub.stats_report import generate  # noqa: E402
from protocol.clock import FrozenClock  # noqa: E402
from tests.hub.statsdata import D0, seed  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = build_config(
            {"data_dir": f"{tmp}/hub", "mqtt": {"enabled": False}, "programme": {"scheduler": False}},
            environ={},
        )
        clock = FrozenClock(D0)
        s = build_services(cfg, clock=clock)
        tree = json.loads((ROOT / "tests/data/province_3tier.json").read_text(encoding="utf-8"))
        s.areas.import_tree(tree, SYSTEM)
        seed(s, clock)
        editor = Actor(user_id=None, username="bientap", role="editor", area_path="67")
        rep = generate(
            s,
            editor,
            area="67",
            anchor=date(2026, 11, 23),
            number="125/BC-STTTT",
            place="Gia Nghĩa",
            signer="Nguyễn Văn A",
        )
        _, docx = s.report_archive.file(editor, rep.id, "docx")
        src = Path(tmp) / "bao-cao.docx"
        src.write_bytes(docx)
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "pdf", "--outdir", tmp, str(src)],
            check=True,
            timeout=180,
            capture_output=True,
        )
        out = ROOT / "docs/screenshots/report-first-page"
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "80",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(Path(tmp) / "bao-cao.pdf"),
                str(out),
            ],
            check=True,
            timeout=60,
        )
        s.ctx.db.dispose()
        print(f"{out}.png")


if __name__ == "__main__":
    main()
