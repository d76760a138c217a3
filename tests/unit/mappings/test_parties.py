"""Parties the templates name (seed 002_f60a41b6bd550ea2.txt, vedlegg 4 and Eksempel 4): the
coordinator's work contact lives on the role, never on the individual; a support person who is
not a relative takes part as RelatedPerson with the project's role code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ipfhir.mappings.codes import cs_url
from ipfhir.mappings.fhirxml import parse_xml, to_xml
from ipfhir.mappings.from_fhir import bundle_to_plan, bundle_to_plan_json
from ipfhir.mappings.plan_io import plan_from_json
from ipfhir.mappings.to_fhir import plan_to_bundle

PLANS = Path(__file__).resolve().parents[3] / "fixtures" / "plans"


def _bundle(name: str) -> dict[str, Any]:
    return plan_to_bundle(plan_from_json((PLANS / f"{name}.plan.json").read_bytes()))


def _resource(bundle: dict[str, Any], rtype: str, rid: str) -> dict[str, Any]:
    return next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == rtype and e["resource"]["id"] == rid
    )


def test_the_coordinators_work_address_is_on_the_role_not_the_person() -> None:
    bundle = _bundle("stroke-handover")
    rid = "gjovik-ip-2026-0342-kommune-koord"
    practitioner = _resource(bundle, "Practitioner", rid)
    assert "address" not in practitioner and "telecom" not in practitioner
    role = _resource(bundle, "PractitionerRole", rid)
    assert role["location"] == [{"reference": "#arbeidssted"}]
    (workplace,) = role["contained"]
    assert workplace["resourceType"] == "Location" and workplace["id"] == "arbeidssted"
    assert workplace["address"]["city"]
    assert {t["system"] for t in role["telecom"]} <= {"phone", "email"}


def test_the_work_address_comes_back_from_json_and_xml() -> None:
    plan = plan_from_json((PLANS / "stroke-handover.plan.json").read_bytes())
    bundle = plan_to_bundle(plan)
    assert bundle_to_plan(bundle) == plan
    assert bundle_to_plan(parse_xml(to_xml(bundle))) == plan


def test_a_home_address_on_practitioner_is_not_taken_for_the_work_contact() -> None:
    bundle = _bundle("stroke-handover")
    rid = "gjovik-ip-2026-0342-kommune-koord"
    practitioner = _resource(bundle, "Practitioner", rid)
    practitioner["address"] = [{"line": ["Privatveien 1"], "postalCode": "2815", "city": "Gjøvik"}]
    party = next(p for p in bundle_to_plan_json(bundle)["parties"] if p["id"] == "kommune-koord")
    assert "Privatveien 1" not in json.dumps(party, ensure_ascii=False)


def test_a_support_person_takes_part_as_related_person_with_the_support_role() -> None:
    bundle = _bundle("rus-psykisk-helse")
    person = _resource(bundle, "RelatedPerson", "krs-ip-2025-0913-likemann")
    system = cs_url("ip-participant-role")
    assert person["relationship"] == [
        {"coding": [{"system": system, "code": "stotteperson"}], "text": "likemann"}
    ]
    team = _resource(bundle, "CareTeam", "krs-ip-2025-0913")
    roles = [
        p["role"][0]["coding"][0]["code"]
        for p in team["participant"]
        if p["member"]["reference"] == "RelatedPerson/krs-ip-2025-0913-likemann"
    ]
    assert roles == ["stotteperson"]
    plan = bundle_to_plan(bundle)
    party = plan.party("likemann")
    assert party is not None and party.kind == "support-person" and party.role == "likemann"
