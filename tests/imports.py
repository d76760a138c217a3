"""The imports of Python files, read from their syntax trees: for the tests that keep the
installed namespace, the layers' import directions and the absence of import loops
(tests/unit/test_layers.py).

Only syntax is read (nothing is imported), so the checks run on any tree, a synthetic one in a
test's ``tmp_path`` included. Imports under ``if TYPE_CHECKING:`` are set apart: they never run,
so they form no import loop, but they still count for the layers' directions.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Import", "cycles", "imports_of", "module_imports", "module_name", "modules_under"]


@dataclass(frozen=True)
class Import:
    """``source`` imports ``target`` (a module of the tree when it is one, else as written)."""

    source: str
    target: str
    line: int
    type_only: bool


def imports_of(path: Path) -> list[str]:
    """Every module ``path`` imports absolutely (``import a.b``, ``from a.b import c`` → a.b)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def module_name(path: Path, folder: Path, package: str) -> str:
    """The dotted name ``path`` (a file under ``folder``) is installed as, ``folder`` being
    installed as ``package``."""
    parts = list(path.relative_to(folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def modules_under(folder: Path, package: str, skip: Iterable[str] = ()) -> dict[str, Path]:
    """Every module of ``folder`` (installed as ``package``) by dotted name; paths with a part
    in ``skip`` (data folders, migrations) are left out."""
    skipped = set(skip)
    return {
        module_name(path, folder, package): path
        for path in sorted(folder.rglob("*.py"))
        if not skipped & set(path.relative_to(folder).parts)
    }


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if hasattr(sub, "lineno"):
                        lines.add(sub.lineno)
    return lines


def _resolve(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a (possibly relative) ``from`` import names."""
    if not node.level:
        return node.module or ""
    base = name.split(".")
    if path.name != "__init__.py":
        base.pop()
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def module_imports(modules: Mapping[str, Path]) -> list[Import]:
    """Every import written in ``modules`` (at any depth: functions too). ``from a import b``
    names the module ``a.b`` when that is a module of the tree, else ``a``."""
    found: list[Import] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        typing_only = _type_checking_lines(tree)
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, path, node)
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                targets = subs if len(subs) == len(node.names) else [base, *subs]
            found += [Import(name, t, node.lineno, node.lineno in typing_only) for t in targets]
    return found


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The import loops among ``edges``: strongly connected components of more than one module
    (or a module importing itself), each sorted (Tarjan's algorithm, iteratively)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    loops.append(sorted(component))
    return loops
