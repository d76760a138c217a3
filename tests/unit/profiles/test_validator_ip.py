"""The project's IP profiles: plans mapped to FHIR are valid; national identifier checksums are
errors under IP profiles; fixtures under fixtures/bundles and fixtures/invalid when present."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ipfhir.profiles.validator import Validator, validate
from tests.unit.profiles.reference import REPO

IP = "https://ip-fhir-adapter.no/fhir/StructureDefinition/"
PLANS = sorted((REPO / "fixtures" / "plans").glob("*.plan.json"))


def _bundle(path: Path) -> dict[str, Any]:
    from ipfhir.mappings.plan_io import plan_from_json
    from ipfhir.mappings.to_fhir import plan_to_bundle

    return plan_to_bundle(plan_from_json(path.read_bytes()))


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_mapped_plans_are_valid_against_ip_profiles(validator: Validator, path: Path) -> None:
    bundle = _bundle(path)
    results = validator.validate_entries(bundle)
    profiled = [
        r
        for r, _ in results[1:]
        if any(p.startswith(IP) for p in r.get("meta", {}).get("profile", []))
    ]
    assert profiled, "the mapping should claim IP profiles in meta.profile"
    errors = [
        (r.get("resourceType"), i.message_id, i.expression)
        for r, issues in results
        for i in issues
        if i.severity in ("error", "fatal")
    ]
    assert errors == []


def test_bundle_entry_errors_are_located_in_the_bundle(validator: Validator) -> None:
    bundle = _bundle(PLANS[0])
    index, entry = next(
        (n, e) for n, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "CarePlan"
    )
    entry["resource"]["status"] = "pågår"
    whole = {(i.message_id, i.expression) for i in validator.issues(bundle)}
    assert ("IP-3010", (f"Bundle.entry[{index}].resource.status",)) in whole
    per_entry = {
        r.get("resourceType"): {(i.message_id, i.expression) for i in found}
        for r, found in validator.validate_entries(bundle)
    }
    assert ("IP-3010", ("CarePlan.status",)) in per_entry["CarePlan"]


def test_checksum_is_an_error_under_ip_profiles(validator: Validator) -> None:
    bundle = _bundle(PLANS[0])
    patient = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    fnr = next(i for i in patient["identifier"] if i["system"] == "urn:oid:2.16.578.1.12.4.1.4.1")
    fnr["value"] = fnr["value"][:-1] + str((int(fnr["value"][-1]) + 1) % 10)
    careplan = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    assert any(p.startswith(IP) for p in careplan["meta"]["profile"])
    no_basis = {(i.message_id, i.severity) for i in validator.issues(patient)}
    assert ("IP-3019", "warning") in no_basis  # no-basis itself has no checksum rule
    for profile in [IP + "ip-careplan"]:
        broken = copy.deepcopy(careplan)
        broken["identifier"] = [{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "987654321"}]
        issues = {(i.message_id, i.severity) for i in validator.issues(broken, profile)}
        assert ("IP-3021", "error") in issues


def test_unknown_profile_is_reported() -> None:
    outcome = validate({"resourceType": "Patient"}, profile=IP + "finnes-ikke")
    codes = [i["details"]["coding"][0]["code"] for i in outcome["issue"]]
    assert codes == ["IP-3017"]


def _fixture_files(folder: str) -> list[Path]:
    return sorted((REPO / "fixtures" / folder).glob("*.json"))


@pytest.mark.parametrize("path", _fixture_files("bundles"), ids=lambda p: p.name)
def test_valid_fixture_bundles(validator: Validator, path: Path) -> None:
    errors = [
        (i.message_id, i.expression)
        for i in validator.issues(json.loads(path.read_bytes()))
        if i.severity in ("error", "fatal")
    ]
    assert errors == []
