"""The valid plan fixtures: they load, use synthetic persons only, and together cover the model.

fixtures/plans/ is the project's shared test data (mapping, profiles, server, benchmarks), so
these tests keep it honest: every plan passes every rule, every person number is a synthetic
fødselsnummer/D-nummer, and every field of the plan JSON Schema appears in at least one plan.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfhir.mappings.competence import age_on
from ipfhir.mappings.identifiers import (
    birth_date,
    is_synthetic,
    is_valid_orgnr,
    is_valid_person_number,
)
from ipfhir.mappings.model import Plan, plan_json_schema
from ipfhir.mappings.rules import load_plan

ROOT = Path(__file__).resolve().parents[3]
PLAN_FILES = sorted((ROOT / "fixtures" / "plans").glob("*.plan.json"))
REQUIRED = {
    "child-barnekoordinator",
    "stroke-handover",
    "rus-psykisk-helse",
    "sixteen-alone",
    "guardian-adult",
    "sami-plan",
}


def _raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ROOT / "fixtures" / "plans" / f"{name}.plan.json").read_text("utf-8")
    )
    return data


def _load(name: str) -> Plan:
    return load_plan(_raw(name))


def test_the_required_scenarios_are_there() -> None:
    names = {p.name.removesuffix(".plan.json") for p in PLAN_FILES}
    assert names >= REQUIRED


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.name.removesuffix(".plan.json"))
def test_fixture_passes_every_rule(path: Path) -> None:
    plan = load_plan(json.loads(path.read_text(encoding="utf-8")))
    assert plan.parties and plan.goals and plan.measures and plan.cooperation
    assert plan.complaint_information and plan.situation
    assert plan.evaluation_dates


def _identifiers(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield data["person"]["identifier"]["system"], data["person"]["identifier"]["value"]
    for party in data.get("parties", []):
        for ident in party.get("identifiers", []):
            yield ident["system"], ident["value"]


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.name.removesuffix(".plan.json"))
def test_fixture_uses_synthetic_numbers_only(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    for system, value in _identifiers(data):
        if system in ("fnr", "dnr"):
            assert is_synthetic(value) and is_valid_person_number(value), value
            assert int(value[2:4]) > 80, f"{value}: Skatteetaten synthetic (month + 80)"
        elif system == "orgnr":
            assert is_valid_orgnr(value), value
        elif system == "hpr":
            assert re.fullmatch(r"[1-9][0-9]{6,8}", value), value
    assert birth_date(data["person"]["identifier"]["value"]) == dt.date.fromisoformat(
        data["person"]["birth_date"]
    )


def test_no_number_is_shared_between_fixtures() -> None:
    seen: dict[str, str] = {}
    for path in PLAN_FILES:
        for system, value in set(_identifiers(json.loads(path.read_text(encoding="utf-8")))):
            if system in ("fnr", "dnr", "hpr"):
                assert seen.setdefault(value, path.name) == path.name, value


# --- every field of the model appears somewhere ---------------------------------------------


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return _resolve(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    for key in ("anyOf", "oneOf"):
        for option in node.get(key, []):
            resolved = _resolve(schema, option)
            if resolved.get("type") in ("object", "array"):
                return resolved
    return node


def _all_fields(schema: dict[str, Any]) -> set[str]:
    """'Def.field' for every property of every object in the schema."""
    fields = {f"{schema['title']}.{p}" for p in schema["properties"]}
    for name, definition in schema.get("$defs", {}).items():
        fields |= {f"{name}.{p}" for p in definition.get("properties", {})}
    return fields


def _used_fields(schema: dict[str, Any], node: dict[str, Any], data: Any, name: str) -> set[str]:
    node = _resolve(schema, node)
    used: set[str] = set()
    if node.get("type") == "array" and isinstance(data, list):
        for item in data:
            used |= _used_fields(schema, node.get("items", {}), item, name)
    elif "properties" in node and isinstance(data, dict):
        for key, value in data.items():
            used.add(f"{name}.{key}")
            child = node["properties"][key]
            ref = child.get("$ref") or next(
                (o["$ref"] for o in child.get("anyOf", []) if "$ref" in o), None
            )
            items_ref = child.get("items", {}).get("$ref") or next(
                (
                    o["items"]["$ref"]
                    for o in child.get("anyOf", [])
                    if "$ref" in o.get("items", {})
                ),
                None,
            )
            child_name = (ref or items_ref or "").rsplit("/", 1)[-1] or name
            used |= _used_fields(schema, child, value, child_name)
    return used


def test_fixtures_together_cover_every_field_of_the_model() -> None:
    schema = plan_json_schema()
    used: set[str] = set()
    for path in PLAN_FILES:
        used |= _used_fields(schema, schema, json.loads(path.read_text("utf-8")), schema["title"])
    assert _all_fields(schema) - used == set()


def test_field_walk_notices_a_missing_field() -> None:
    schema = plan_json_schema()
    used = _used_fields(schema, schema, _raw("sixteen-alone"), schema["title"])
    missing = _all_fields(schema) - used
    assert {"GuardianMandate.covers", "CoordinatorAssignment.handover_from"} <= missing
    assert "Frequency.unit" in used and "Plan.person" in used


def test_most_plans_have_both_consents() -> None:
    with_both = [p for p in PLAN_FILES if "sharing_consent" in json.loads(p.read_text("utf-8"))]
    assert len(with_both) >= len(PLAN_FILES) - 1


# --- the scenarios say what their names say --------------------------------------------------


def test_child_has_barnekoordinator_and_both_parents_consent() -> None:
    plan = _load("child-barnekoordinator")
    assert age_on(plan.person.birth_date, plan.created) < 16
    assert [c.kind for c in plan.coordinators] == ["barnekoordinator"]
    for consent in (plan.plan_consent, plan.sharing_consent):
        assert consent is not None
        assert [g.capacity for g in consent.given_by] == ["parent", "parent"]
        parents = [plan.party(g.party) for g in consent.given_by]
        assert all(p is not None and p.parental_responsibility for p in parents)
    types = {p.organisation_type for p in plan.parties if p.kind == "organisation"}
    assert {"skole", "ppt", "helseforetak"} <= types


def test_stroke_plan_hands_over_from_temporary_to_municipal_coordinator() -> None:
    plan = _load("stroke-handover")
    temporary, municipal = plan.coordinators
    assert temporary.kind == "midlertidig-koordinator" and temporary.period.end is not None
    assert municipal.handover_from == temporary.id and municipal.service_level == "kommune"
    assert municipal.period.start is not None and municipal.period.start <= temporary.period.end


def test_rus_plan_refuses_topics_an_environment_and_an_individual() -> None:
    plan = _load("rus-psykisk-helse")
    consent = plan.sharing_consent
    assert consent is not None
    assert {"psykisk-helse"} <= set(consent.refused_topics)
    assert [plan.party(o).kind for o in consent.refused_environments] == ["organisation"]  # type: ignore[union-attr]
    assert [plan.party(o).kind for o in consent.refused_individuals] == ["relative"]  # type: ignore[union-attr]
    assert any(p.organisation_type == "nav" for p in plan.parties)


def test_sixteen_year_old_consents_alone() -> None:
    plan = _load("sixteen-alone")
    assert age_on(plan.person.birth_date, plan.plan_consent.date) == 16
    assert [(g.party, g.capacity) for g in plan.plan_consent.given_by] == [("person", "self")]


def test_guardian_consents_within_a_health_and_care_mandate() -> None:
    plan = _load("guardian-adult")
    assert age_on(plan.person.birth_date, plan.created) >= 18
    [giver] = plan.plan_consent.given_by
    guardian = plan.party(giver.party)
    assert giver.capacity == "guardian" and guardian is not None and guardian.mandate is not None
    assert "health-and-care" in guardian.mandate.covers


def test_sami_plan_is_written_in_northern_sami() -> None:
    plan = _load("sami-plan")
    assert plan.language == "se" and plan.person.language == "se"
    sami_letters = set("áčđŋšŧžÁČĐŊŠŦŽ")
    assert plan.situation is not None and sami_letters & set(plan.situation)
    assert all(sami_letters & set(g.text) for g in plan.goals)
    assert "Kárášjohka" in plan.person.contact.address.city  # type: ignore[union-attr,operator]


def test_fixtures_keep_norwegian_letters() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in PLAN_FILES)
    assert set(text) >= set("æøåØÅ")
    assert "\\u00" not in text  # written as UTF-8, not escaped
