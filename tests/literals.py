"""The string literals of a Python file, docstrings left out (read from its syntax tree): for the
tests that keep facts and message ids written once and in use."""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["string_literals"]


def string_literals(path: Path) -> list[tuple[int, str]]:
    """``(line, text)`` of every string constant in ``path`` that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]
