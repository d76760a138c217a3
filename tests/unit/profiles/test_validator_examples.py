"""Official examples must be valid: the 101 R4 examples against their base definitions, the
no-basis 2.2.0 examples against their no-basis profiles, the IP conformance resources themselves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfhir.mappings.errors import Issue
from ipfhir.profiles.validator import Validator
from tests.unit.profiles.reference import REPO, reference_dir

NO_BASIS = REPO / "profiles" / "packages" / "hl7.fhir.no.basis-2.2.0"
# Upstream example with an id containing a space: not a valid FHIR id (the Java validator says
# "Invalid Resource id: Invalid Characters" too). Asserted separately below.
BROKEN_UPSTREAM = {"no-basis-HealthcareService-example.json"}


def _errors(issues: list[Issue]) -> list[str]:
    return [
        f"{i.message_id} {i.expression} {i.text}"
        for i in issues
        if i.severity in ("error", "fatal")
    ]


def test_all_101_r4_examples_are_valid(validator: Validator) -> None:
    files = sorted(reference_dir("r4-examples", "json").glob("*.json"))
    assert len(files) == 101
    failures = {f.name: _errors(validator.issues(json.loads(f.read_bytes()))) for f in files}
    assert {k: v for k, v in failures.items() if v} == {}


def _no_basis_examples() -> list[Path]:
    return sorted(
        p for p in (NO_BASIS / "examples").glob("*.json") if p.name not in BROKEN_UPSTREAM
    )


@pytest.mark.parametrize("path", _no_basis_examples(), ids=lambda p: p.name)
def test_no_basis_examples_are_valid_against_their_profiles(
    validator: Validator, path: Path
) -> None:
    resource = json.loads(path.read_bytes())
    profiles = resource.get("meta", {}).get("profile", [])
    known = [p for p in profiles if validator.engine.compiled(p) is not None]
    assert known or not profiles, f"meta.profile {profiles} should be shipped"
    assert _errors(validator.issues(resource)) == []


def test_broken_upstream_no_basis_example_is_reported(validator: Validator) -> None:
    resource = json.loads(
        (NO_BASIS / "examples" / "no-basis-HealthcareService-example.json").read_bytes()
    )
    found = {
        (i.message_id, i.expression) for i in validator.issues(resource) if i.severity == "error"
    }
    assert found == {("IP-3005", ("HealthcareService.id",))}


def test_ip_conformance_resources_are_valid_r4(validator: Validator) -> None:
    files = sorted((REPO / "profiles" / "ip").glob("*.json"))
    resources = [json.loads(f.read_bytes()) for f in files]
    resources = [r for r in resources if "resourceType" in r]
    assert resources, "profiles/ip has no conformance resources"
    failures = {r.get("url"): _errors(validator.issues(r)) for r in resources}
    assert {k: v for k, v in failures.items() if v} == {}
