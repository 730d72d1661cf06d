"""axe-core in the browser tests: every page checked for serious accessibility violations (issue 19).

axe-core comes from the npm registry, pinned (scripts/bootstrap.sh installs it under .cache/npm; this
helper installs it there the same way when it is missing), and is evaluated in the page through the
DevTools protocol, so the hub's Content-Security-Policy stays as strict as it is (nothing is served)."""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

AXE_VERSION = "4.10.2"  # the same as scripts/bootstrap.sh
ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


@cache
def axe_source() -> str:
    pkg = AXE.parent / "package.json"
    if not AXE.exists() or json.loads(pkg.read_text(encoding="utf-8")).get("version") != AXE_VERSION:
        cmd = ["npm", "install", "--silent", "--no-save", "--no-audit", "--no-fund", "--prefix",
               str(ROOT / ".cache" / "npm"), f"axe-core@{AXE_VERSION}"]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not AXE.exists():
            why = done.stderr[-500:]
            pytest.fail(f"axe-core {AXE_VERSION} is not installed (scripts/bootstrap.sh installs it): {why}")
    return AXE.read_text(encoding="utf-8")


async def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source() + "\n;undefined")
    result = await page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations'], runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa',"
        " 'best-practice']})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]
