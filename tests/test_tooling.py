"""The tree stays clean: ruff and mypy (as configured in pyproject.toml) report nothing, no module is over
600 lines, and no package's modules import each other in a circle."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("protocol", "playlists", "tts", "hardware", "edge_agent", "hub")
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = BIN / tool
    return subprocess.run(
        [str(exe) if exe.exists() else tool, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_ruff_reports_nothing() -> None:
    res = _run("ruff", "check", "--no-cache", ".")
    assert res.returncode == 0, f"ruff check . reported:\n{res.stdout}{res.stderr}"


# No module over this many lines: a longer one does more than one thing; split it by responsibility.
MAX_LINES = 600
SIZED = (*PACKAGES, "bench", "tests")


def test_no_module_over_600_lines() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for pkg in SIZED
        for p in (ROOT / pkg).rglob("*.py")
    }
    assert len(sizes) > 100  # the packages are there
    over = sorted(f"{path}: {n} lines" for path, n in sizes.items() if n > MAX_LINES)
    assert not over, f"modules over {MAX_LINES} lines (split them by responsibility):\n" + "\n".join(over)


@pytest.mark.slow
def test_mypy_reports_nothing() -> None:
    # The packages and strictness come from [tool.mypy] in pyproject.toml; the cache stays out of the tree.
    res = _run("mypy", "--cache-dir", "/dev/null")
    assert res.returncode == 0, f"mypy reported:\n{res.stdout}{res.stderr}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import of a module, wherever it stands: at module level, inside if/try blocks, inside functions
    and methods (a late import), and under `if TYPE_CHECKING:`. A circle hidden in a function or behind
    TYPE_CHECKING is still two modules that need each other, so each of them counts."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (anywhere in it: see _imports)."""
    files = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        is_pkg = path.name == "__init__.py"
        package = name if is_pkg else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                # `from pkg import mod` imports the submodule pkg.mod when there is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for imported in targets:
                # The module itself, or the nearest project module containing it (a.b.c -> a.b).
                target = imported
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_names_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_graph_reads_relative_and_package_imports() -> None:
    graph = import_graph()
    assert "protocol.envelope" in graph["protocol"] or "protocol.messages" in graph["protocol"]
    assert all(not m.startswith(("sqlalchemy", "aiohttp")) for edges in graph.values() for m in edges)


def test_graph_counts_late_and_type_checking_imports() -> None:
    tree = ast.parse(
        "import a\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from b import B\n"
        "def f():\n    from c import d\nclass K:\n    def g(self):\n        import e.f\n"
    )
    named = {a.name for n in _imports(tree) if isinstance(n, ast.Import) for a in n.names}
    named |= {n.module or "" for n in _imports(tree) if isinstance(n, ast.ImportFrom)}
    assert named == {"a", "typing", "b", "c", "e.f"}


def test_no_import_circles() -> None:
    # Every import counts, late (in a function) and TYPE_CHECKING-only ones too: see _imports.
    found = cycles(import_graph())
    assert not found, "import circles (break them; move the shared piece into its own module):\n" + "\n".join(
        " <-> ".join(c) for c in found
    )


# A historical copy kept verbatim to prove old agents still work; its docstrings describe the past.
FROZEN = {Path("tests/security/legacy_envelope_d38517f.py")}
_PATH = re.compile(r"(?<![\w./-])((?:[A-Za-z_]+/)+[A-Za-z_][\w.-]*\.(?:md|py|toml))\b")
# Paths are checked when they start in the repository (or in the shared notes beside it, which are not in it).
_TOPS = {p.name for p in ROOT.iterdir()} | {"shared"}
_NAME = re.compile(r"(?<![\w./-])([A-Za-z_][\w-]*\.md)\b")


def _text_files() -> list[Path]:
    found = [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
    for top in (*PACKAGES, "tests", "bench", "scripts"):
        found += [p for p in (ROOT / top).rglob("*") if p.suffix in (".py", ".md") and p.is_file()]
    return [p for p in found if p.relative_to(ROOT) not in FROZEN]


def test_references_point_to_files_in_the_repository() -> None:
    """A docstring or document that names a file names one that exists (not a design note outside the
    repository): `docs/PROTOCOL.md`, `hub/engine.py`, or a bare name like `RULES.md` found in the tree."""
    md_names = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts}
    missing = []
    for path in _text_files():
        text = path.read_text(encoding="utf-8")
        for m in _PATH.finditer(text):
            ref = m.group(1)
            if ref.split("/")[0] not in _TOPS:
                continue  # e.g. tmp/hub.toml, a path the code writes
            if not ((ROOT / ref).exists() or (path.parent / ref).exists()):
                missing.append(f"{path.relative_to(ROOT)}: {ref}")
        missing += [f"{path.relative_to(ROOT)}: {n}" for n in _NAME.findall(text) if n not in md_names]
    assert not missing, "references to files that do not exist:\n" + "\n".join(sorted(set(missing)))
