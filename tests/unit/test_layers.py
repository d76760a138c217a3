"""The import contract inside the installed package (docs/architecture.md, "Layers"): arrows run
down the layers only, never back up; the HTTP layer and the use cases reach the store through the
ports, never through its concrete classes; one module pins the FHIR version; no import loops.

The checks read syntax only (tests/imports.py), so the last tests run the very same checks on a
synthetic tree in ``tmp_path`` and show that a wrong-way import or a loop makes them fail.
(The top-level directions, mappings ← profiles ← adapter and conformance apart, are kept by
tests/unit/test_code_quality.py.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

import pytest

from tests.imports import Import, cycles, module_imports, modules_under

ROOT = Path(__file__).resolve().parents[2]
SKIP = ("migrations", "packages")

# adapter/, top to bottom: a unit (a subpackage or a top-level module of adapter/) imports its
# own modules and the units of lower layers only; units sharing a layer do not import each other.
ADAPTER_LAYERS: tuple[tuple[str, ...], ...] = (
    ("cli",),  # command line: parse, call, print
    ("bootstrap",),  # the one place real implementations are wired to ports
    ("api",),  # HTTP: parse, call, render
    ("services",),  # use cases (notify, later transfer)
    ("consent", "sync"),  # the policy point every disclosure passes; exchange between servers
    ("audit", "auth"),  # where decisions are recorded; who the caller is
    ("directory",),  # organisations and endpoints of other servers (the operator's data)
    ("startup",),  # start-up checks of database and installation
    ("store",),  # SQLAlchemy
    ("fhir",),  # FHIR mechanics: search parameters, dates, validation wiring, plan rules
    ("errors",),  # IP-4xxx and the HTTP status of every error
    ("security_errors", "ports", "settings"),  # leaves
)
# Layers that reach the store through the ports (repository_for(actor)), never its classes.
NO_CONCRETE_STORE = ("api", "services", "consent", "audit")
FHIR_VERSION_PIN = "ipfhir.mappings.fhir_r4"  # the one module that imports fhir.resources
SHIPPED = {"adapter": "ipfhir.adapter", "mappings": "ipfhir.mappings"} | {
    "profiles": "ipfhir.profiles",
    "conformance": "ipfhir.conformance",
}


def _unit(module: str, package: str) -> str | None:
    """The layer unit of ``module`` inside ``package`` (``None``: outside it, or the package)."""
    if not module.startswith(package + "."):
        return None
    return module[len(package) + 1 :].split(".")[0]


def layer_violations(
    imports: Iterable[Import], package: str, layers: Sequence[Sequence[str]]
) -> list[str]:
    """Every import inside ``package`` that runs sideways or back up ``layers`` (top first), or
    comes from or goes to a unit no layer names (so a new unit must be placed explicitly)."""
    rank = {unit: i for i, layer in enumerate(layers) for unit in layer}
    wrong: list[str] = []
    for imp in imports:
        source, target = _unit(imp.source, package), _unit(imp.target, package)
        if source is None or target is None or source == target:
            continue
        if source not in rank or target not in rank:
            wrong.append(f"{imp.source}:{imp.line} -> {imp.target}: place the unit in a layer")
        elif rank[target] <= rank[source]:
            wrong.append(f"{imp.source}:{imp.line} -> {imp.target} ({source} -> {target})")
    return wrong


def forbidden_imports(
    imports: Iterable[Import], sources: Iterable[str], targets: Iterable[str]
) -> list[str]:
    """Imports from modules under any of ``sources`` of modules under any of ``targets``."""

    def under(name: str, prefixes: tuple[str, ...]) -> bool:
        return any(name == p or name.startswith(p + ".") for p in prefixes)

    src, tgt = tuple(sources), tuple(targets)
    return [
        f"{i.source}:{i.line} -> {i.target}"
        for i in imports
        if under(i.source, src) and under(i.target, tgt)
    ]


def run_time_loops(modules: dict[str, Path]) -> list[list[str]]:
    """Import loops among ``modules`` (imports under ``if TYPE_CHECKING:`` never run: left out)."""
    edges = [
        (i.source, i.target)
        for i in module_imports(modules)
        if not i.type_only and i.target in modules and i.target != i.source
    ]
    return cycles(edges)


def loops(modules: dict[str, Path]) -> list[list[str]]:
    """Import loops among ``modules``, imports under ``if TYPE_CHECKING:`` included: modules
    that only name each other's types still cannot be read (or split) one without the other."""
    edges = [
        (i.source, i.target)
        for i in module_imports(modules)
        if i.target in modules and i.target != i.source
    ]
    return cycles(edges)


@cache
def _adapter_imports() -> tuple[Import, ...]:
    return tuple(module_imports(modules_under(ROOT / "adapter", "ipfhir.adapter", SKIP)))


def test_every_adapter_unit_has_a_layer() -> None:
    units = {p.stem if p.is_file() else p.name for p in (ROOT / "adapter").iterdir()}
    units = {u for u in units if not u.startswith((".", "_"))}
    placed = {u for layer in ADAPTER_LAYERS for u in layer}
    assert units - placed == set()
    assert placed - units == set(), "a layer names a unit that no longer exists"


def test_adapter_imports_run_down_the_layers_only() -> None:
    imports = _adapter_imports()
    assert len(imports) > 300  # the reader sees the real imports
    assert layer_violations(imports, "ipfhir.adapter", ADAPTER_LAYERS) == []


def test_http_and_use_cases_never_import_the_store_classes() -> None:
    sources = [f"ipfhir.adapter.{u}" for u in NO_CONCRETE_STORE]
    assert forbidden_imports(_adapter_imports(), sources, ["ipfhir.adapter.store"]) == []


def test_only_fhir_r4_imports_fhir_resources() -> None:
    """In the shipped code (bench/ imports it as a measured baseline; tests compare with it)."""
    imports = [
        i
        for folder, package in SHIPPED.items()
        for i in module_imports(modules_under(ROOT / folder, package, SKIP))
    ]
    users = {i.source for i in imports if i.target == "fhir" or i.target.startswith("fhir.")}
    assert users == {FHIR_VERSION_PIN}


def test_mappings_never_import_the_adapter_or_the_validator() -> None:
    imports = module_imports(modules_under(ROOT / "mappings", "ipfhir.mappings", SKIP))
    targets = ["ipfhir.adapter", "ipfhir.profiles.validator"]
    assert forbidden_imports(imports, ["ipfhir.mappings"], targets) == []


def test_conformance_never_imports_the_adapter() -> None:
    imports = module_imports(modules_under(ROOT / "conformance", "ipfhir.conformance", SKIP))
    assert forbidden_imports(imports, ["ipfhir.conformance"], ["ipfhir.adapter"]) == []


@pytest.mark.parametrize(
    ("folder", "package"),
    [("adapter", "ipfhir.adapter"), ("profiles/validator", "ipfhir.profiles.validator")],
)
def test_no_import_loop(folder: str, package: str) -> None:
    modules = modules_under(ROOT / folder, package, SKIP)
    assert len(modules) > 10
    assert run_time_loops(modules) == []


@pytest.mark.parametrize(
    ("folder", "package"),
    [
        ("adapter", "ipfhir.adapter"),
        ("profiles/validator", "ipfhir.profiles.validator"),
        ("mappings", "ipfhir.mappings"),
    ],
)
def test_no_import_loop_even_through_type_only_imports(folder: str, package: str) -> None:
    """The validator's walker, its helpers and the engine meet through Protocols
    (profiles/validator/protocols.py), not by naming each other's classes."""
    modules = modules_under(ROOT / folder, package, SKIP)
    assert len(modules) > 10
    assert loops(modules) == []


# --- the checks fail when they should: the same functions on a synthetic tree -------------------

_TREE = {
    "__init__.py": "",
    "api/__init__.py": "",
    "api/routes.py": "from pkg.consent.policy import decide\nfrom pkg.ports import Store\n",
    "consent/__init__.py": "",
    "consent/policy.py": "from pkg.ports import Store\n",
    "sync/__init__.py": "",
    "sync/worker.py": "from pkg.ports import Store\n",
    "store/__init__.py": "",
    "store/sql.py": "from pkg import ports\n",
    "ports.py": "from typing import Protocol\n",
}
_LAYERS = (("api", "sync"), ("consent",), ("store",), ("ports",))


def _tree(tmp_path: Path, extra: dict[str, str]) -> dict[str, Path]:
    for rel, text in (_TREE | extra).items():
        path = tmp_path / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return modules_under(tmp_path / "pkg", "pkg")


def test_a_clean_synthetic_tree_passes(tmp_path: Path) -> None:
    modules = _tree(tmp_path, {})
    imports = module_imports(modules)
    assert layer_violations(imports, "pkg", _LAYERS) == []
    assert forbidden_imports(imports, ["pkg.api"], ["pkg.store"]) == []
    assert run_time_loops(modules) == []


@pytest.mark.parametrize(
    ("where", "wrong"),
    [
        ("store/sql.py", "from pkg.api.routes import router\n"),  # back up two layers
        ("store/sql.py", "def f():\n    from ..api import routes\n"),  # relative, in a function
        ("store/sql.py", "import pkg.consent.policy\n"),  # back up one layer
        ("api/routes.py", "from pkg.sync.worker import run\n"),  # sideways, within a layer
    ],
)
def test_a_wrong_way_import_fails_the_layer_check(tmp_path: Path, where: str, wrong: str) -> None:
    modules = _tree(tmp_path, {where: _TREE[where] + wrong})
    found = layer_violations(module_imports(modules), "pkg", _LAYERS)
    source = "pkg." + where.removesuffix(".py").replace("/", ".")
    assert len(found) == 1 and found[0].startswith(source + ":")


def test_a_unit_in_no_layer_fails_the_layer_check(tmp_path: Path) -> None:
    modules = _tree(tmp_path, {"worker.py": "from pkg.ports import Store\n"})
    found = layer_violations(module_imports(modules), "pkg", _LAYERS)
    assert found == ["pkg.worker:1 -> pkg.ports: place the unit in a layer"]


def test_a_type_only_wrong_way_import_still_fails_the_layer_check(tmp_path: Path) -> None:
    text = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.consent import policy\n"
    )
    modules = _tree(tmp_path, {"ports.py": text})
    found = layer_violations(module_imports(modules), "pkg", _LAYERS)
    assert found == ["pkg.ports:3 -> pkg.consent.policy (ports -> consent)"]
    assert run_time_loops(modules) == []  # it runs never, so it makes no loop at run time
    assert loops(modules) == [["pkg.consent.policy", "pkg.ports"]]  # but a loop of names


def test_the_store_classes_in_the_http_layer_fail_the_contract(tmp_path: Path) -> None:
    modules = _tree(tmp_path, {"api/routes.py": "from pkg.store.sql import SqlStore\n"})
    found = forbidden_imports(module_imports(modules), ["pkg.api"], ["pkg.store"])
    assert found == ["pkg.api.routes:1 -> pkg.store.sql"]


def test_an_import_loop_is_found(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "consent/policy.py": "from pkg.consent.rules import rule\n",
            "consent/rules.py": "def rule():\n    from pkg.consent import policy\n",
        },
    )
    assert run_time_loops(modules) == [["pkg.consent.policy", "pkg.consent.rules"]]


# --- the picture in docs/architecture.md is this contract --------------------------------------


def test_the_architecture_page_draws_these_layers() -> None:
    page = (ROOT / "docs/architecture.md").read_text(encoding="utf-8")
    drawing = page.split("## Layers", 1)[1].split("```")[1]
    drawn = [
        re.sub(r"\.py$", "", name) for name in re.findall(r"\badapter/([a-z_]+(?:\.py)?)", drawing)
    ]
    assert drawn == [unit for layer in ADAPTER_LAYERS for unit in layer]
    assert re.findall(r"\.\./|/work/|~/", page) == []  # names no file outside the repository
