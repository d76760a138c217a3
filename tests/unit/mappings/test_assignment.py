"""A coordinator assignment on its own (seed 004_feb800c0c7d43aa8.txt): a barnekoordinator for
a family of two siblings, assigned before the younger one's birth, without an individual plan:
one CareTeam per child (each names that child only), sharing the assignment's identifier.

Lossless both ways (assignment JSON ⇄ FHIR JSON ⇄ FHIR XML), valid against the project's
profiles, and every rule refused with its message id and path (fixtures/invalid/
assignment-variants.json). Rules that depend on the day are checked on a fixed day."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from ipfhir.mappings.assignment_fhir import (
    assignment_to_bundle,
    bundle_to_assignment,
    bundle_to_assignment_json,
)
from ipfhir.mappings.assignment_rules import load_assignment
from ipfhir.mappings.codes import ASSIGNMENT_ID_SYSTEM
from ipfhir.mappings.errors import MappingError, PlanRuleViolation
from ipfhir.mappings.fhirjson import dump_json, parse_json
from ipfhir.mappings.fhirxml import parse_xml, to_xml
from ipfhir.mappings.model import assignment_json_schema
from ipfhir.mappings.rules import MESSAGES
from ipfhir.profiles.validator import Validator

ROOT = Path(__file__).resolve().parents[3]
FOLDER = ROOT / "fixtures" / "assignments"
INVALID = sorted((ROOT / "fixtures" / "invalid").glob("*.assignment.json"))
SIBLINGS = FOLDER / "barnekoordinator-sosken.assignment.json"
IP = "https://ip-fhir-adapter.no/fhir/StructureDefinition/"


def _data() -> dict[str, Any]:
    return json.loads(SIBLINGS.read_text("utf-8"))  # type: ignore[no-any-return]


def _unborn() -> dict[str, Any]:
    """The assignment as recorded on the day it was made: Vetle not yet born."""
    data = _data()
    vetle = data["persons"][1]
    for key in ("identifier", "birth_date", "given"):
        vetle.pop(key)
    return data


def _issues(data: dict[str, Any], on: dt.date | None = None) -> set[tuple[str, str]]:
    try:
        load_assignment(data, on=on)
    except PlanRuleViolation as err:
        return {(i.message_id, i.expression[0] if i.expression else "") for i in err.issues}
    return set()


def _resources(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


@pytest.mark.parametrize("make", [_data, _unborn], ids=["after-birth", "before-birth"])
def test_assignment_to_fhir_and_back_is_lossless_json_and_xml(make: Any) -> None:
    assignment = load_assignment(make())
    bundle = assignment_to_bundle(assignment)
    assert bundle_to_assignment(bundle) == assignment
    assert bundle_to_assignment(parse_json(dump_json(bundle))) == assignment
    assert bundle_to_assignment(parse_xml(to_xml(bundle).encode())) == assignment
    data = assignment.model_dump(mode="json", exclude_none=True)
    assert load_assignment(data) == assignment


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_fhir_to_assignment_to_fhir_is_lossless(fmt: str) -> None:
    text = (FOLDER / f"barnekoordinator-sosken.bundle.{fmt}").read_bytes()
    bundle = parse_xml(text) if fmt == "xml" else json.loads(text)
    assert assignment_to_bundle(bundle_to_assignment(bundle)) == json.loads(
        (FOLDER / "barnekoordinator-sosken.bundle.json").read_text("utf-8")
    )


def test_the_shipped_bundles_are_what_the_mapping_writes() -> None:
    bundle = assignment_to_bundle(load_assignment(_data()))
    shipped = json.loads((FOLDER / "barnekoordinator-sosken.bundle.json").read_text("utf-8"))
    assert bundle == shipped
    assert to_xml(bundle, pretty=True).rstrip("\n") == (
        (FOLDER / "barnekoordinator-sosken.bundle.xml").read_text("utf-8").rstrip("\n")
    )


def test_a_family_assignment_before_birth_without_a_plan() -> None:
    bundle = assignment_to_bundle(load_assignment(_data()))
    assert _resources(bundle, "CarePlan") == [] and _resources(bundle, "Consent") == []
    assert _resources(bundle, "Group") == []
    teams = _resources(bundle, "CareTeam")
    # one team per child, each naming that child only, the family known by one identifier
    assert [t["subject"]["reference"] for t in teams] == [
        f"Patient/{p['id']}" for p in _resources(bundle, "Patient")
    ]
    assert {json.dumps(t["identifier"]) for t in teams} == {
        json.dumps([{"system": ASSIGNMENT_ID_SYSTEM, "value": "molde-bk-2025-0031"}])
    }
    for team in teams:
        assert team["category"][0]["coding"][0]["code"] == "koordinator-tildeling"
        coordinator = next(p for p in team["participant"] if "id" in p)
        assert coordinator["role"][0]["coding"][0]["code"] == "barnekoordinator"
    vetle = next(p for p in _resources(bundle, "Patient") if p["id"].endswith("-vetle"))
    his = next(t for t in teams if t["subject"]["reference"].endswith("-vetle"))
    assert his["period"]["start"] < vetle["birthDate"]  # assigned before his birth


def test_teams_that_disagree_are_not_one_assignment() -> None:
    bundle = assignment_to_bundle(load_assignment(_data()))
    _resources(bundle, "CareTeam")[1]["status"] = "inactive"
    with pytest.raises(MappingError) as caught:
        bundle_to_assignment_json(bundle)
    assert caught.value.issues[0].message_id == "IP-2105"
    assert caught.value.issues[0].expression == ("Bundle.entry.resource.ofType(CareTeam)",)


def test_an_unborn_child_is_a_patient_without_identifier_or_birth_date() -> None:
    bundle = assignment_to_bundle(load_assignment(_unborn()))
    vetle = next(p for p in _resources(bundle, "Patient") if p["id"].endswith("-vetle"))
    assert "identifier" not in vetle and "birthDate" not in vetle
    assert vetle["extension"][0]["url"] == f"{IP}ip-expected-birth"
    assert vetle["extension"][0]["valueDate"] == "2026-03-02"


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


@pytest.mark.parametrize("make", [_data, _unborn], ids=["after-birth", "before-birth"])
def test_the_bundle_is_valid_against_the_ip_profiles(validator: Validator, make: Any) -> None:
    bundle = assignment_to_bundle(load_assignment(make()))
    results = validator.validate_entries(bundle)
    claimed = {p for r, _ in results for p in r.get("meta", {}).get("profile", [])}
    assert f"{IP}ip-coordinator-assignment" in claimed
    errors = [
        (r.get("resourceType"), i.message_id, i.expression)
        for r, issues in results
        for i in issues
        if i.severity in ("error", "fatal")
    ]
    assert errors == []


def test_the_profile_refuses_an_assignment_without_its_category(validator: Validator) -> None:
    bundle = assignment_to_bundle(load_assignment(_data()))
    team = _resources(bundle, "CareTeam")[0]
    broken = copy.deepcopy(team)
    del broken["category"]
    assert [i for i in validator.issues(broken) if i.severity == "error"]


def _expect(path: Path) -> dict[str, Any]:
    return json.loads(  # type: ignore[no-any-return]
        path.with_name(path.name.replace(".assignment.", ".expect.")).read_text("utf-8")
    )


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name.removesuffix(".assignment.json"))
def test_invalid_assignment_is_refused_with_its_message_id_and_path(path: Path) -> None:
    expect = _expect(path)
    on = dt.date.fromisoformat(expect["on"]) if expect.get("on") else None
    wanted = {(e["message_id"], e["path"]) for e in [expect, *expect.get("also", [])]}
    data = json.loads(path.read_text("utf-8"))
    assert _issues(data, on) == wanted
    with pytest.raises(PlanRuleViolation) as caught:
        load_assignment(data, on=on)
    for issue in caught.value.outcome()["issue"]:
        assert issue["details"]["coding"][0]["code"] in MESSAGES
        assert issue["expression"] and issue["expression"][0]


def test_the_invalid_assignments_are_there() -> None:
    ids = {_expect(p)["message_id"] for p in INVALID}
    assert {"IP-1050", "IP-1051", "IP-1045", "IP-1013", "IP-1012"} <= ids


@pytest.mark.parametrize(
    ("on", "found"),
    [("2039-03-08", set()), ("2039-03-09", {("IP-1045", "persons[0].covered")})],
)
def test_the_family_assignment_is_rechecked_as_each_child_turns_eighteen(
    on: str, found: set[tuple[str, str]]
) -> None:
    assert _issues(_data(), dt.date.fromisoformat(on)) == found


def test_a_child_whose_cover_ended_is_not_rechecked() -> None:
    data = _data()
    data["persons"][0]["covered"]["end"] = "2039-03-08"
    assert _issues(data, dt.date(2039, 3, 9)) == set()


def test_a_bundle_without_an_assignment_is_refused() -> None:
    bundle = assignment_to_bundle(load_assignment(_data()))
    for entry in bundle["entry"]:
        entry["resource"].pop("category", None)
    with pytest.raises(MappingError) as caught:
        bundle_to_assignment_json(bundle)
    assert caught.value.issues[0].message_id == "IP-2105"


def test_the_published_schema_is_the_models() -> None:
    shipped = json.loads((ROOT / "profiles" / "assignment.schema.json").read_text("utf-8"))
    assert shipped == assignment_json_schema()


def test_a_decision_naming_no_organisation_of_the_bundle_is_refused_at_its_path() -> None:
    bundle = assignment_to_bundle(load_assignment(_data()))
    for team in _resources(bundle, "CareTeam"):
        decision = next(e for e in team["extension"] if e["url"].endswith("ip-decision"))
        by = next(s for s in decision["extension"] if s["url"] == "decidedBy")
        by["valueReference"] = {"reference": "Organization/finnes-ikke"}
    with pytest.raises(MappingError) as caught:
        bundle_to_assignment_json(bundle)
    assert caught.value.issues[0].message_id == "IP-2103"
    assert caught.value.issues[0].expression == ("CareTeam.extension:decision",)


def _team_errors(validator: Validator, team: dict[str, Any]) -> set[tuple[str, tuple[str, ...]]]:
    return {(i.message_id, i.expression) for i in validator.issues(team) if i.severity == "error"}


def test_the_profile_refuses_an_active_assignment_without_a_coordinator(
    validator: Validator,
) -> None:
    team = _resources(assignment_to_bundle(load_assignment(_data())), "CareTeam")[0]
    team["participant"] = [p for p in team["participant"] if "id" not in p]
    assert _team_errors(validator, team) == {("IP-3012", ("CareTeam",))}  # ip-assignment-1


def test_the_profile_refuses_a_coordinator_without_its_id(validator: Validator) -> None:
    team = _resources(assignment_to_bundle(load_assignment(_data())), "CareTeam")[0]
    index = next(n for n, p in enumerate(team["participant"]) if "id" in p)
    del team["participant"][index]["id"]
    assert _team_errors(validator, team) == {
        ("IP-3012", (f"CareTeam.participant[{index}]",))  # ip-assignment-2
    }
