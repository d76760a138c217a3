"""Plan ⇄ FHIR mapping: lossless both ways, JSON and XML, on every shipped fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipfhir.mappings.errors import MappingError
from ipfhir.mappings.fhir_r4 import check_resource
from ipfhir.mappings.fhirjson import parse_json
from ipfhir.mappings.fhirxml import parse_xml, to_xml
from ipfhir.mappings.from_fhir import bundle_to_plan
from ipfhir.mappings.plan_io import (
    bundle_text,
    plan_from_bundle_text,
    plan_from_json,
    plan_to_json_dict,
)
from ipfhir.mappings.to_fhir import plan_to_bundle

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
PLANS = sorted((FIXTURES / "plans").glob("*.plan.json"))
BUNDLES = sorted((FIXTURES / "bundles").glob("*.bundle.json"))
SPECIAL = set("æøåÆØÅáčđŋšŧžÁČĐŊŠŦŽ")


def _id(path: Path) -> str:
    return path.name.split(".")[0]


def test_at_least_six_fixture_plans_and_their_bundles() -> None:
    assert len(PLANS) >= 6
    assert {_id(p) for p in BUNDLES} == {_id(p) for p in PLANS}


@pytest.mark.parametrize("path", PLANS, ids=_id)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_plan_to_fhir_to_plan_is_lossless(path: Path, fmt: str) -> None:
    plan = plan_from_json(path.read_bytes())
    text = bundle_text(plan, fmt)  # type: ignore[arg-type]
    again = plan_from_bundle_text(text.encode("utf-8"), fmt)  # type: ignore[arg-type]
    assert again == plan
    assert plan_to_json_dict(again) == plan_to_json_dict(plan)


@pytest.mark.parametrize("path", BUNDLES, ids=_id)
def test_fhir_to_plan_to_fhir_is_lossless_json(path: Path) -> None:
    bundle = parse_json(path.read_bytes())
    assert plan_to_bundle(bundle_to_plan(bundle)) == bundle


@pytest.mark.parametrize("path", BUNDLES, ids=_id)
def test_fhir_to_plan_to_fhir_is_lossless_xml(path: Path) -> None:
    xml_path = path.with_name(path.name.replace(".json", ".xml"))
    bundle = parse_xml(xml_path.read_bytes())
    assert bundle == parse_json(path.read_bytes())
    assert to_xml(plan_to_bundle(bundle_to_plan(bundle)), pretty=True) + "\n" == xml_path.read_text(
        encoding="utf-8"
    )


@pytest.mark.parametrize("path", PLANS, ids=_id)
def test_shipped_bundles_are_what_the_mapping_writes(path: Path) -> None:
    plan = plan_from_json(path.read_bytes())
    shipped = FIXTURES / "bundles" / f"{_id(path)}.bundle.json"
    assert parse_json(shipped.read_bytes()) == parse_json(bundle_text(plan, "json"))


@pytest.mark.parametrize("path", PLANS, ids=_id)
def test_every_resource_is_r4_and_national_letters_survive(path: Path) -> None:
    raw = path.read_text(encoding="utf-8")
    letters = {c for c in raw if c in SPECIAL}
    assert letters, "fixtures carry Norwegian or Sami letters"
    plan = plan_from_json(raw)
    bundle = plan_to_bundle(plan)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert check_resource(resource) == resource
        assert entry["request"]["url"] == f"{resource['resourceType']}/{resource['id']}"
    for fmt in ("json", "xml"):
        text = bundle_text(plan, fmt)  # type: ignore[arg-type]
        assert letters <= set(text), fmt


def test_resource_ids_fit_fhir_and_references_resolve() -> None:
    for path in PLANS:
        bundle = plan_to_bundle(plan_from_json(path.read_bytes()))
        keys = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
        refs = {r for r in _references(bundle) if not r.startswith("#")}
        assert refs and refs <= keys, path.name
        assert all(len(k.split("/")[1]) <= 64 for k in keys)
        for entry in bundle["entry"]:  # a local reference names a resource contained in it
            resource = entry["resource"]
            local = {r for r in _references(resource) if r.startswith("#")}
            assert local <= {f"#{c['id']}" for c in resource.get("contained", [])}, path.name


def _references(value: object) -> set[str]:
    if isinstance(value, dict):
        found = {value["reference"]} if isinstance(value.get("reference"), str) else set()
        return found.union(*(_references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value))
    return set()


def test_the_plan_maps_to_the_resources_of_the_table() -> None:
    plan = plan_from_json(PLANS[0].read_bytes())
    bundle = plan_to_bundle(plan)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types[0] == "Patient" and types[-2:] == ["CareTeam", "CarePlan"]
    care_plan = bundle["entry"][-1]["resource"]
    assert care_plan["category"][0]["coding"][0]["code"] == "A02-2"
    assert care_plan["intent"] == "plan"
    assert [r["reference"].split("/")[0] for r in care_plan["supportingInfo"]] == ["Consent"] * len(
        care_plan["supportingInfo"]
    )
    assert len(care_plan.get("goal", [])) == len(plan.goals)


def _bundle() -> dict[str, object]:
    return plan_to_bundle(plan_from_json(PLANS[0].read_bytes()))


def test_bundle_without_a_plan_is_refused() -> None:
    bundle = _bundle()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "CarePlan"]  # type: ignore[attr-defined,index]
    with pytest.raises(MappingError) as err:
        bundle_to_plan(bundle)
    assert err.value.issues[0].message_id == "IP-2105"


def test_dangling_reference_is_refused_with_its_path() -> None:
    bundle = _bundle()
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "CareTeam"]  # type: ignore[attr-defined,index]
    with pytest.raises(MappingError) as err:
        bundle_to_plan(bundle)
    issue = err.value.issues[0]
    assert (issue.message_id, issue.expression) == ("IP-2103", ("CarePlan.careTeam[0]",))


def test_not_a_bundle_is_refused() -> None:
    with pytest.raises(MappingError) as err:
        bundle_to_plan(json.loads('{"resourceType": "Patient"}'))
    assert err.value.issues[0].message_id == "IP-2101"


def _rus() -> dict[str, object]:
    return plan_to_bundle(
        plan_from_json((FIXTURES / "plans" / "rus-psykisk-helse.plan.json").read_bytes())
    )


def _care_team(bundle: dict[str, object]) -> dict[str, object]:
    return next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CareTeam"
    )  # type: ignore[attr-defined,index]


def test_participant_topics_are_security_labels_on_the_participant() -> None:
    team = _care_team(_rus())
    labelled = {
        p["member"]["reference"]: [
            e for e in p.get("extension", []) if e["url"].endswith("ip-security-label")
        ]
        for p in team["participant"]  # type: ignore[index]
    }
    topic = "https://ip-fhir-adapter.no/fhir/CodeSystem/ip-information-topic"
    brother = labelled["RelatedPerson/krs-ip-2025-0913-bror"]
    assert [e["valueCoding"] for e in brother] == [{"system": topic, "code": "familie"}]
    person = next(p for p in team["participant"] if p["member"]["reference"].startswith("Patient/"))  # type: ignore[index]
    assert [e["url"].rsplit("/", 1)[1] for e in person["extension"]] == [
        "ip-contribution",
        "ip-security-label",
    ]
    assert person["extension"][1]["valueCoding"]["code"] == "rus"
    assert labelled["Organization/krs-ip-2025-0913-nav"] == []  # no topic, no label


def test_participant_topics_come_back_from_fhir() -> None:
    bundle = _rus()
    plan = bundle_to_plan(bundle)
    assert plan.person_contribution_topic == "rus"
    assert {p.id: p.topic for p in plan.parties if p.topic} == {"bror": "familie"}
    for participant in _care_team(bundle)["participant"]:  # type: ignore[index]
        participant["extension"] = [
            e
            for e in participant.get("extension", [])
            if not e["url"].endswith("ip-security-label")
        ]
    plain = bundle_to_plan(bundle)
    assert plain.person_contribution_topic is None and all(p.topic is None for p in plain.parties)
    brother = plain.party("bror")
    assert brother is not None and brother.contribution and brother.takes_part
