"""The code stays as clean as it is: ruff (lint and format) and mypy --strict run with the tests,
so the README's test command (and CI) keeps them, and the top-level layers import one way only
(docs/architecture.md): mappings ← profiles ← adapter; conformance never imports adapter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.imports import imports_of

ROOT = Path(__file__).resolve().parents[2]
# repository folder -> the installed top-level names it must never import
FORBIDDEN = {
    "mappings": ("ipfhir.adapter", "ipfhir.profiles", "ipfhir.conformance"),
    "profiles": ("ipfhir.adapter", "ipfhir.conformance"),
    "conformance": ("ipfhir.adapter",),
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_lint_is_clean() -> None:
    done = _run("-m", "ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_ruff_format_is_clean() -> None:
    done = _run("-m", "ruff", "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.slow
def test_mypy_strict_is_clean() -> None:
    done = _run("tools/typecheck.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layers_import_one_way(folder: str) -> None:
    files = [p for p in (ROOT / folder).rglob("*.py") if "packages" not in p.parts]
    assert files
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in imports_of(path)
        if name.startswith(FORBIDDEN[folder])
    ]
    assert wrong == []
