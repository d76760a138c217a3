"""Free text in labelled parts: plan JSON ⇄ FHIR (JSON and XML) without loss, the string that
must equal its parts (IP-2106), the topic codes of parts (IP-1040) and the profile form
(ip-text-1: plain or parts, not both)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ipfhir.mappings.errors import MappingError, PlanRuleViolation
from ipfhir.mappings.fhirxml import parse_xml, to_xml
from ipfhir.mappings.free_text import TEXT_PART_URL
from ipfhir.mappings.from_fhir import bundle_to_plan
from ipfhir.mappings.model import text_of, text_parts
from ipfhir.mappings.plan_io import plan_from_json
from ipfhir.mappings.rules import load_plan
from ipfhir.mappings.to_fhir import plan_to_bundle

PLANS = Path(__file__).resolve().parents[3] / "fixtures" / "plans"


def _rus() -> dict[str, Any]:
    return json.loads((PLANS / "rus-psykisk-helse.plan.json").read_text("utf-8"))  # type: ignore[no-any-return]


def _resource(bundle: dict[str, Any], rtype: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype)


def test_parts_round_trip_through_bundle_json_and_xml() -> None:
    plan = plan_from_json(json.dumps(_rus(), ensure_ascii=False))
    bundle = plan_to_bundle(plan)
    assert bundle_to_plan(bundle) == plan
    assert bundle_to_plan(parse_xml(to_xml(bundle))) == plan
    care_plan = _resource(bundle, "CarePlan")
    assert care_plan["description"] == text_of(plan.situation or "")
    parts = care_plan["_description"]["extension"]
    assert [p["url"] for p in parts] == [TEXT_PART_URL] * 5
    assert "Jeg har angst og sover dårlig." in json.dumps(parts[2], ensure_ascii=False)


def test_plain_text_stays_a_plain_string() -> None:
    data = _rus()
    data["situation"] = "Jeg bor på hybel. Jeg vil i jobb."
    data["cooperation"][0]["description"] = "LAR-teamet møter i ansvarsgruppa."
    bundle = plan_to_bundle(plan_from_json(json.dumps(data, ensure_ascii=False)))
    care_plan = _resource(bundle, "CarePlan")
    assert "_description" not in care_plan
    cooperation = next(e for e in care_plan["extension"] if e["url"].endswith("ip-cooperation"))
    assert {"url": "description", "valueString": "LAR-teamet møter i ansvarsgruppa."} in (
        cooperation["extension"]
    )
    assert bundle_to_plan(bundle).situation == "Jeg bor på hybel. Jeg vil i jobb."


def test_a_part_without_topics_round_trips() -> None:
    data = _rus()
    data["situation"] = [{"text": "Uten tema."}, {"text": "Med tema.", "topics": ["bolig"]}]
    plan = plan_from_json(json.dumps(data, ensure_ascii=False))
    assert bundle_to_plan(plan_to_bundle(plan)) == plan
    assert [p.topics for p in text_parts(plan.situation or "")] == [[], ["bolig"]]


def test_a_string_that_says_more_than_its_parts_is_refused() -> None:
    bundle = plan_to_bundle(plan_from_json(json.dumps(_rus(), ensure_ascii=False)))
    forged = copy.deepcopy(bundle)
    _resource(forged, "CarePlan")["description"] += " Og noe ingen merket."
    with pytest.raises(MappingError) as err:
        bundle_to_plan(forged)
    [issue] = err.value.issues
    assert (issue.message_id, issue.expression) == ("IP-2106", ("CarePlan.description",))


def test_an_unknown_topic_on_a_part_is_refused() -> None:
    data = _rus()
    data["person_contribution"] = [{"text": "Jeg møter opp.", "topics": ["LAR"]}]
    with pytest.raises(PlanRuleViolation) as err:
        load_plan(data)
    assert [(i.message_id, i.expression) for i in err.value.issues] == [
        ("IP-1040", ("person_contribution[0].topics[0]",))
    ]


def test_the_profile_refuses_plain_text_and_parts_together() -> None:
    from ipfhir.profiles.validator import validate

    bundle = plan_to_bundle(plan_from_json(json.dumps(_rus(), ensure_ascii=False)))
    team = copy.deepcopy(_resource(bundle, "CareTeam"))
    assert _errors(validate(team)) == []
    contribution = next(
        e
        for p in team["participant"]
        for e in p.get("extension", [])
        if e["url"].endswith("ip-contribution") and "extension" in e
    )
    contribution["valueString"] = "Og en tekst ved siden av delene."
    assert any("ip-text-1" in text for text in _errors(validate(team)))


def _errors(outcome: dict[str, Any]) -> list[str]:
    return [
        json.dumps(i, ensure_ascii=False)
        for i in outcome.get("issue", [])
        if i.get("severity") in ("error", "fatal")
    ]
