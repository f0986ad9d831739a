"""The shape of the code: no import cycle among the project's modules, none over 600 lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("config", "dashboard", "integrations")
# The sandbox stands in for the vendors and shares no code with the product; migrations
# only import models and Django.
SKIPPED = ("integrations/sandbox/", "/migrations/")


def _project_modules(root: Path, packages: tuple[str, ...]) -> dict[str, Path]:
    """Dotted name → file, for every module the check covers."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if any(part in f"/{relative}" for part in SKIPPED):
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _imported(name: str, path: Path, tree: ast.AST) -> Iterator[tuple[str, str | None]]:
    """(module, name imported from it or None) for every import in the file, at any depth."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield base, alias.name


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Project module → the project modules it imports (module level and in functions)."""
    modules = _project_modules(root, packages)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for module, member in _imported(name, path, tree):
            # `from package import module` imports that module.
            target = f"{module}.{member}" if member and f"{module}.{member}" in modules else module
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path back to its start) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)

    cycles = []
    for group in groups:
        start = min(group)
        # Breadth-first back to `start` inside the group: the shortest cycle through it.
        paths = {start: [start]}
        queue = [start]
        found: list[str] | None = None
        while queue and found is None:
            node = queue.pop(0)
            for nxt in sorted(graph[node] & group):
                if nxt == start:
                    found = [*paths[node], start]
                    break
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    queue.append(nxt)
        cycles.append(found or sorted(group))
    return sorted(cycles)


def test_imports_inside_functions_relative_ones_and_submodules_all_count(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/a.py": "def later():\n    from . import b\n",
        "pkg/b.py": "from pkg.sub.c import thing\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "from .. import a\nthing = 1\n",
        "pkg/sub/migrations/0001_initial.py": "import pkg.a\n",
        "other/d.py": "import pkg.b\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    graph = import_graph(tmp_path, ("pkg",))

    assert graph["pkg.a"] == {"pkg.b"} and graph["pkg.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a"}
    assert "pkg.sub.migrations.0001_initial" not in graph and "other.d" not in graph
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]


def test_a_cycle_is_reported_once_with_its_path():
    graph = {"a": {"b"}, "b": {"c", "a"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert import_cycles(graph) == [["a", "b", "a"]]


def test_no_import_cycle_among_the_project_modules():
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


#: One job per file: past this many lines a module has more than one (models aside: one
#: table per class, and migrations are generated).
MAX_MODULE_LINES = 600


def test_no_module_in_integrations_or_dashboard_is_over_600_lines():
    too_long = {
        path.relative_to(ROOT).as_posix(): lines
        for package in ("integrations", "dashboard")
        for path in sorted((ROOT / package).rglob("*.py"))
        if "/migrations/" not in path.as_posix() and path.name != "models.py"
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"split these along their concerns: {too_long}"
