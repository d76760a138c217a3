"""Where a test lives says what it needs (docs/architecture.md, "Tests"): nothing under
tests/unit needs a database server (the tests on a real SQLite and PostgreSQL store live under
tests/integration, or tests/api and tests/security when they go through HTTP), and every test
that reaches PostgreSQL says so with the ``postgres`` mark, so ``-m "not postgres"`` runs without
one and CI (``IPFHIR_REQUIRE_POSTGRES=1``) fails instead of skipping.

The checks read syntax only (tests/imports.py), so the last test runs them on a synthetic file.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.imports import imports_of

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
_PG_CALLS = frozenset({"postgres_or_skip", "postgres_schema"})
_SESSION_PG_FIXTURES = frozenset({"pg_engine"})  # tests/conftest.py: PostgreSQL, unmarked


def _marked(node: ast.FunctionDef) -> bool:
    return any("mark.postgres" in ast.unparse(d) for d in node.decorator_list)


def _calls_postgres(node: ast.FunctionDef) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in _PG_CALLS
        for n in ast.walk(node)
    )


def _is_fixture(node: ast.FunctionDef) -> bool:
    return any("fixture" in ast.unparse(d) for d in node.decorator_list)


def unmarked_postgres_tests(path: Path, root: Path = ROOT) -> list[str]:
    """Test functions of ``path`` that reach PostgreSQL (calling ``tests.pg`` themselves, or
    through a fixture that does without marking its PostgreSQL case) and carry no
    ``postgres`` mark (on the function or the module's ``pytestmark``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if any(
        isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets)
        and "postgres" in ast.unparse(n.value)
        for n in tree.body
    ):
        return []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    pg_fixtures = set(_SESSION_PG_FIXTURES) | {
        f.name for f in functions if _is_fixture(f) and _calls_postgres(f) and not _marked(f)
    }
    return [
        f"{path.relative_to(root)}::{f.name}"
        for f in functions
        if f.name.startswith("test_")
        and not _marked(f)
        and (_calls_postgres(f) or pg_fixtures & {a.arg for a in f.args.args})
    ]


def test_no_unit_test_needs_a_database_server() -> None:
    users = [
        str(p.relative_to(ROOT))
        for p in sorted((TESTS / "unit").rglob("*.py"))
        if "tests.pg" in imports_of(p)
    ]
    assert users == []


def test_every_test_that_reaches_postgres_is_marked() -> None:
    found = [t for p in sorted(TESTS.rglob("test_*.py")) for t in unmarked_postgres_tests(p)]
    assert found == []


def test_the_check_finds_an_unmarked_postgres_test(tmp_path: Path) -> None:
    path = tmp_path / "tests" / "test_x.py"
    path.parent.mkdir()
    path.write_text(
        "import pytest\nfrom tests.pg import postgres_or_skip, postgres_schema\n\n"
        "@pytest.fixture\ndef schema():\n    with postgres_schema('x') as s:\n        yield s\n\n"
        "def test_a():\n    postgres_or_skip()\n\n"
        "def test_b(schema):\n    pass\n\n"
        "@pytest.mark.postgres\ndef test_c(schema):\n    pass\n\n"
        "def test_d(pg_engine):\n    pass\n\n"
        "def test_e(tmp_path):\n    pass\n",
        encoding="utf-8",
    )
    assert unmarked_postgres_tests(path, tmp_path) == [
        "tests/test_x.py::test_a",
        "tests/test_x.py::test_b",
        "tests/test_x.py::test_d",
    ]
