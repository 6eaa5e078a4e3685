"""The architecture holds: imports flow dsl -> engine <- server, and nothing imports in a circle.

The import contracts live in pyproject.toml ([tool.importlinter]); this runs them, so a change
that lets the engine import grpc or SQLAlchemy, or the compiler import the evaluator, fails here.
Circles are found on grimp's graph (import-linter's), type-checking imports included.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "dsl", "server")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_import_contracts_are_kept() -> None:
    """The contracts in pyproject.toml, run as CI and a developer would: ``lint-imports``."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", done.stdout)
    assert kept and int(kept.group(1)) >= 6, done.stdout[-2000:]


def _cycles(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
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

    for v in nodes:
        if v not in index:
            visit(v)
    return found


def _edges(graph: grimp.ImportGraph, name_of) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = name_of(module), name_of(imported)
            if a != b:
                edges.setdefault(a, set()).add(b)
    return edges


def test_no_module_imports_in_a_circle(graph: grimp.ImportGraph) -> None:
    edges = _edges(graph, lambda m: m)
    assert _cycles(sorted(graph.modules), edges) == []


def test_no_subpackage_imports_in_a_circle(graph: grimp.ImportGraph) -> None:
    """engine.compile never needs engine.evaluate back, server.sales never needs server.rpc, ..."""

    def room(module: str) -> str:
        return ".".join(module.split(".")[:2])

    edges = _edges(graph, room)
    assert _cycles(sorted({room(m) for m in graph.modules}), edges) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert _cycles(["a", "b", "c"], {"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]
    assert _cycles(["a", "b"], {"a": {"b"}}) == []


def test_every_package_says_what_it_is_for() -> None:
    """Each package's __init__ opens with a docstring: what the package is for, what it may import."""
    missing = []
    for init in sorted(ROOT.glob("*/**/__init__.py")):
        rel = init.relative_to(ROOT)
        if rel.parts[0] not in PACKAGES or "_pb" in rel.parts:
            continue
        text = init.read_text(encoding="utf-8").lstrip()
        if not text.startswith('"""') or len(text.split('"""')[1].strip()) < 40:
            missing.append(str(rel))
    assert missing == []


def test_no_module_is_over_400_lines_without_saying_why() -> None:
    """A module over 400 lines says in its docstring why it is one module ("one module because")."""
    long = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] not in PACKAGES or "_pb" in rel.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400 and "one module because" not in " ".join(text.split('"""')[1].split()):
            long.append(f"{rel} ({text.count(chr(10))} lines)")
    assert long == []
