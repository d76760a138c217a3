"""The absolute imports of a Python file, read from its syntax tree (for the tests that keep the
installed namespace and the layers' import directions)."""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["imports_of"]


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
