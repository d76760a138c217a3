"""The distribution's shape, checked without building it (tests/integration/test_installed_wheel.py
builds and installs it): one installed namespace, imported by that name everywhere; a Dockerfile
that installs the wheel as a numeric non-root user from a pinned base image, without fixtures."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.imports import imports_of

ROOT = Path(__file__).resolve().parents[2]
BARE = {"adapter", "mappings", "profiles", "conformance"}  # repository folders, not import names
SOURCES = ("ipfhir", "adapter", "mappings", "profiles", "conformance", "tests", "tools", "bench")


def _python_files() -> list[Path]:
    found = [
        path
        for folder in SOURCES
        for path in (ROOT / folder).rglob("*.py")
        if "packages" not in path.relative_to(ROOT).parts
    ]
    return [*found, *(ROOT / "fixtures").rglob("*.py")]


def _bare_imports(path: Path) -> list[str]:
    names = imports_of(path)
    return [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in BARE]


def test_code_imports_only_the_installed_namespace() -> None:
    files = _python_files()
    assert len(files) > 100
    assert [hit for path in files for hit in _bare_imports(path)] == []


def _submodules(folder: str) -> set[str]:
    base = ROOT / folder
    return {p.stem for p in base.glob("*.py")} | {
        p.name for p in base.iterdir() if (p / "__init__.py").exists()
    }


def test_module_names_in_strings_use_the_namespace() -> None:
    """uvicorn factories, ``python -m`` targets and validator names are import paths too: a
    string naming a real module under a bare top-level name (``"adapter.cli"``) is one."""
    names = "|".join(
        f"{folder}\\.(?:{'|'.join(sorted(_submodules(folder)))})\\b" for folder in sorted(BARE)
    )
    pattern = re.compile(rf"""["'](?:{names})""")
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in _python_files()
        if path != Path(__file__).resolve()  # this test names them on purpose
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []
    assert pattern.search('"adapter.cli.serve_cmd:app_factory"')  # the check can fail
    assert not pattern.search('"profiles.xml"')  # a check id, not a module


def test_no_bare_top_level_module_was_imported_by_the_tests() -> None:
    assert sorted(BARE & set(sys.modules)) == []


def test_dockerfile_installs_the_wheel_as_numeric_non_root_from_a_pinned_base() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    image = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert image and re.fullmatch(r"python:3\.11\.\d+-slim-\w+@sha256:[0-9a-f]{64}", image[1]), (
        "base image pinned by exact version and digest"
    )
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == ["${PYTHON_IMAGE}"] * 2
    user = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert user and re.fullmatch(r"[1-9]\d*:[1-9]\d*", user[-1]), "numeric, non-root user:group"
    assert "pip wheel --no-deps" in text and "-c /tmp/constraints.txt /wheels/*.whl" in text
    assert "fixtures" not in re.sub(r"#.*", "", text) and "COPY tests" not in text
    assert "pip install ." not in text and "pip install -e" not in text


def test_dockerignore_admits_only_what_the_wheel_is_built_from() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert admitted == {
        "pyproject.toml",
        "README.md",
        "constraints.txt",
        "ipfhir",
        "adapter",
        "mappings",
        "profiles",
        "conformance",
    }
    copied = set(re.findall(r"^COPY (?:--\S+ )*(\S+)", (ROOT / "Dockerfile").read_text(), re.M))
    assert copied <= admitted | {"constraints.txt"}
