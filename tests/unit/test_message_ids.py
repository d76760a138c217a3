"""Message ids are the contract with callers (docs/architecture.md): each is defined once, in its
owner's catalogue and range, is raised by some code (an id nothing raises is dead), and is
asserted by some test or expected-outcome fixture (an id no test names can change unnoticed).

This file itself is not read for the ids tests name: a list here would count as asserting."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from tests.literals import string_literals

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("adapter", "mappings", "profiles", "conformance")
# module -> the id prefix of its owner (docs/architecture.md, "Message id ranges")
CATALOGUES: dict[str, str | tuple[str, ...]] = {
    "ipfhir.mappings.rules": "IP-1",
    "ipfhir.mappings.fhir_r4": "IP-2",
    "ipfhir.profiles.validator.messages": "IP-3",
    "ipfhir.adapter.errors": "IP-4",
    "ipfhir.adapter.security_errors": "IP-5",
    "ipfhir.adapter.directory.messages": "IP-60",
    # exchanges IP-6050–6089, revocation notices IP-6100–6119
    "ipfhir.adapter.sync.messages": ("IP-60", "IP-610", "IP-611"),
    "ipfhir.adapter.directory.guard_messages": ("IP-612", "IP-613"),  # the guards IP-6120–6139
    "ipfhir.mappings.legacy.messages": "IP-6",
}
FOLDER_OF = {"ipfhir.adapter": "adapter", "ipfhir.mappings": "mappings"} | {
    "ipfhir.profiles": "profiles"
}
# Removed as dead, never to be reused. IP-3028 (an extension outside its context) was never
# checked: the validator refuses an unknown extension (IP-3022) and checks a known one against
# its definition, but not the definition's context.
RETIRED = {"IP-3028", "IP-4002", "IP-4007", "IP-5105"}
ID = re.compile(r"IP-\d{4}")


def _path(module: str) -> Path:
    top, _, rest = module.partition(".")[2].partition(".")
    folder = FOLDER_OF[f"ipfhir.{top}"]
    return ROOT / folder / (rest.replace(".", "/") + ".py")


def _ids() -> dict[str, list[str]]:
    """id -> the catalogues that define it."""
    found: dict[str, list[str]] = {}
    for module in CATALOGUES:
        for mid in importlib.import_module(module).MESSAGES:
            found.setdefault(mid, []).append(module)
    return found


def _source_ids() -> dict[str, int]:
    """id -> how many string literals of the shipped code name it."""
    counts: dict[str, int] = {}
    for folder in SHIPPED:
        for path in (ROOT / folder).rglob("*.py"):
            if "packages" in path.parts:
                continue
            for _line, text in string_literals(path):
                for mid in ID.findall(text):
                    counts[mid] = counts.get(mid, 0) + 1
    return counts


def _test_ids() -> set[str]:
    files = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "fixtures").rglob("*")]
    text = "\n".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in files
        if p.is_file() and p.suffix in (".py", ".json", ".xml") and p != Path(__file__).resolve()
    )
    return set(ID.findall(text))


def test_every_catalogue_is_checked() -> None:
    defined = set()
    for folder in SHIPPED:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in tree.body:
                target = node.target if isinstance(node, ast.AnnAssign) else None
                if isinstance(node, ast.Assign):
                    target = node.targets[0]
                if isinstance(target, ast.Name) and target.id == "MESSAGES":
                    defined.add(path)
    assert defined == {_path(m) for m in CATALOGUES}


def test_ids_are_unique_well_formed_and_in_their_owners_range() -> None:
    ids = _ids()
    assert len(ids) > 150
    assert {mid: where for mid, where in ids.items() if len(where) > 1} == {}
    assert [mid for mid in ids if not ID.fullmatch(mid)] == []
    assert [mid for mid, (m,) in ids.items() if not mid.startswith(CATALOGUES[m])] == []
    assert RETIRED & set(ids) == set()


def test_every_id_is_raised_somewhere() -> None:
    uses = _source_ids()  # the catalogue's own key is one literal
    unraised = {mid for mid in _ids() if uses.get(mid, 0) < 2}
    assert unraised == set()


def test_every_id_is_asserted_by_a_test() -> None:
    assert sorted(set(_ids()) - _test_ids()) == []


@pytest.mark.parametrize("mid", sorted(RETIRED))
def test_retired_ids_are_raised_nowhere(mid: str) -> None:
    assert mid not in _source_ids()
