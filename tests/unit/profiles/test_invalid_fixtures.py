"""Invalid FHIR resources as data (``fixtures/invalid/fhir``) and the valid fixture Bundles.

Every broken resource fails with exactly its expected message id at its expected FHIRPath
expression (plus the issues listed under ``also`` that the same break necessarily causes), and
nothing else at error level; every entry of every fixture Bundle, JSON and XML, has no error
against its own ``meta.profile``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ipfhir.mappings.fhirxml import parse_xml
from ipfhir.profiles.validator import Validator
from tests.unit.profiles.reference import REPO

INVALID = REPO / "fixtures" / "invalid" / "fhir"
BUNDLES = REPO / "fixtures" / "bundles"
BROKEN = sorted(p for p in INVALID.glob("*.json") if not p.name.endswith(".expect.json"))


def _expect(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.with_name(path.stem + ".expect.json").read_bytes())
    return data


def test_the_folder_holds_base_and_ip_cases() -> None:
    assert len(BROKEN) >= 45
    profiles = [_expect(p)["profile"] for p in BROKEN]
    assert sum(p is None for p in profiles) >= 30
    assert sum(str(p).startswith("https://ip-fhir-adapter.no/") for p in profiles) >= 12
    assert {p.stem + ".expect" for p in BROKEN} == {p.stem for p in INVALID.glob("*.expect.json")}


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_resource_fails_with_exactly_the_expected_issue(
    validator: Validator, path: Path
) -> None:
    expect = _expect(path)
    issues = validator.issues(json.loads(path.read_bytes()), expect["profile"])
    errors = {
        (i.message_id, e) for i in issues if i.severity in ("error", "fatal") for e in i.expression
    }
    wanted = (expect["message_id"], expect["expression"])
    if expect.get("severity", "error") == "error":
        also = {(a["message_id"], a["expression"]) for a in expect.get("also", [])}
        assert errors == {wanted} | also
    else:  # a rule that is a warning in this context (national checksums under no-basis)
        assert errors == set()
        warnings = {
            (i.message_id, e) for i in issues if i.severity == "warning" for e in i.expression
        }
        assert wanted in warnings


def _bundles() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(BUNDLES.glob("*.bundle.json")):
        found.append((path.name, json.loads(path.read_bytes())))
        twin = path.with_name(path.name.replace(".json", ".xml"))
        found.append((twin.name, parse_xml(twin.read_bytes())))
    return found


@pytest.mark.parametrize(("name", "bundle"), _bundles(), ids=[n for n, _ in _bundles()])
def test_every_bundle_entry_is_valid_against_its_profile(
    validator: Validator, name: str, bundle: dict[str, Any]
) -> None:
    resources = [e["resource"] for e in bundle["entry"]]
    assert resources, name
    assert any(r.get("meta", {}).get("profile") for r in resources)
    errors = [
        (r["resourceType"], r.get("id"), i.message_id, i.expression)
        for r in resources
        for i in validator.issues(r)
        if i.severity in ("error", "fatal")
    ]
    assert errors == []
