"""Each validator message id that no other test names, provoked as a sender would provoke it and
asserted with its FHIRPath expression and severity (tests/unit/test_message_ids.py lists the
ids no test asserts; this file emptied the validator's part of that list).

The profile rules (pattern, extensible binding, closed slicing, maxLength, an invariant the
evaluator cannot run) come from a test profile derived from the base Patient/CarePlan in memory,
as tests/unit/profiles/test_validator_range.py does for minValue/maxValue."""

from __future__ import annotations

import copy
import datetime as dt
import random
from collections.abc import Callable
from typing import Any

import pytest

from ipfhir.mappings.identifiers import synthetic_fnr
from ipfhir.profiles.validator import Validator
from ipfhir.profiles.validator.engine import Engine
from ipfhir.profiles.validator.registry import CORE_SD, Registry

BASE = "https://ip-fhir-adapter.no/fhir/StructureDefinition/"
PATIENT_URL = BASE + "test-patient-message-ids"
CAREPLAN_URL = BASE + "test-careplan-message-ids"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
DNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.2"
MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
Element = dict[str, Any]
Found = list[tuple[str, tuple[str, ...], str]]


def _derived(base: Registry, rtype: str, url: str, edit: Callable[[list[Element]], None]) -> Any:
    sd = copy.deepcopy(base.structure(CORE_SD + rtype))
    assert sd is not None
    name = url.rsplit("/", 1)[1]
    sd.update(url=url, id=name, name=name.title().replace("-", ""), derivation="constraint")
    edit(sd["snapshot"]["element"])
    return sd


def _patient_rules(elements: list[Element]) -> None:
    for element in elements:
        if element["path"] == "Patient":
            element["constraint"] = [
                *element.get("constraint", []),
                {
                    "key": "test-1",
                    "severity": "error",
                    "human": "Et uttrykk evaluatoren ikke forstår",
                    "expression": "name.where(given ~~~ 'Åse')",
                },
            ]
        elif element["path"] == "Patient.gender":
            vs = "http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1"
            element["binding"] = {"strength": "extensible", "valueSet": vs}
        elif element["path"] == "Patient.maritalStatus":
            element["patternCodeableConcept"] = {"coding": [{"system": MARITAL, "code": "U"}]}
        elif element["path"] == "Patient.identifier":
            element["slicing"] = {
                "discriminator": [{"type": "value", "path": "system"}],
                "rules": "closed",
            }
    end = 1 + max(i for i, e in enumerate(elements) if e["path"].startswith("Patient.identifier"))
    elements[end:end] = [
        {
            "id": "Patient.identifier:FNR",
            "path": "Patient.identifier",
            "sliceName": "FNR",
            "min": 0,
            "max": "1",
            "type": [{"code": "Identifier"}],
        },
        {
            "id": "Patient.identifier:FNR.system",
            "path": "Patient.identifier.system",
            "min": 1,
            "max": "1",
            "type": [{"code": "uri"}],
            "fixedUri": FNR_SYSTEM,
        },
    ]


def _careplan_rules(elements: list[Element]) -> None:
    for element in elements:
        if element["path"] == "CarePlan.title":
            element["maxLength"] = 30


@pytest.fixture(scope="module")
def profiled() -> Validator:
    base = Registry()
    registry = base.overlay()
    registry.add(_derived(base, "Patient", PATIENT_URL, _patient_rules))
    registry.add(_derived(base, "CarePlan", CAREPLAN_URL, _careplan_rules))
    return Validator(Engine(registry))


def _found(validator: Validator, resource: Any, profile: str | None = None) -> Found:
    return [(i.message_id, i.expression, i.severity) for i in validator.issues(resource, profile)]


def _only(found: Found, message_id: str) -> Found:
    return [f for f in found if f[0] == message_id]


def _patient(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "meta": {"profile": [PATIENT_URL]}, **extra}


def _careplan(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": {"reference": "Patient/ip-pasient-1"},
        **extra,
    }


def test_a_value_off_the_profiles_pattern_is_refused(profiled: Validator) -> None:
    married = {"coding": [{"system": MARITAL, "code": "M"}]}
    found = _found(profiled, _patient(maritalStatus=married))
    assert _only(found, "IP-3009") == [("IP-3009", ("Patient.maritalStatus",), "error")]
    extra = {"coding": [{"system": MARITAL, "code": "U"}], "text": "Ukjent sivilstand"}
    assert _only(_found(profiled, _patient(maritalStatus=extra)), "IP-3009") == []


def test_a_code_outside_an_extensible_value_set_is_a_warning(profiled: Validator) -> None:
    found = _found(profiled, _patient(gender="kvinne"))
    assert _only(found, "IP-3011") == [("IP-3011", ("Patient.gender",), "warning")]
    assert _only(_found(profiled, _patient(gender="female")), "IP-3011") == []


def test_an_invariant_the_evaluator_cannot_run_is_a_warning_not_a_pass(
    profiled: Validator,
) -> None:
    found = _found(profiled, _patient(name=[{"given": ["Åse"], "family": "Ødegård"}]))
    assert _only(found, "IP-3013") == [("IP-3013", ("Patient",), "warning")]
    issues = profiled.issues(_patient(name=[{"family": "Ødegård"}]))
    [text] = [i.text for i in issues if i.message_id == "IP-3013"]
    assert "test-1" in text


def test_an_item_matching_no_slice_of_a_closed_slicing_is_refused(profiled: Validator) -> None:
    rng, born = random.Random(3015), dt.date(1980, 1, 1)
    dnr = {"system": DNR_SYSTEM, "value": synthetic_fnr(born, rng, d_number=True)}
    fnr = {"system": FNR_SYSTEM, "value": synthetic_fnr(born, rng)}
    found = _found(profiled, _patient(identifier=[fnr, dnr]))
    assert _only(found, "IP-3015") == [("IP-3015", ("Patient.identifier[1]",), "error")]
    assert _only(_found(profiled, _patient(identifier=[fnr])), "IP-3015") == []


def test_a_string_longer_than_max_length_is_refused(profiled: Validator) -> None:
    title = "Individuell plan for Åse Ødegård – bolig, skole og fritid"
    found = _found(profiled, _careplan(title=title), CAREPLAN_URL)
    assert _only(found, "IP-3024") == [("IP-3024", ("CarePlan.title",), "error")]
    assert _only(_found(profiled, _careplan(title="Plan for Åse"), CAREPLAN_URL), "IP-3024") == []


def test_a_resource_of_another_type_than_the_profile_is_refused(validator: Validator) -> None:
    careplan = BASE + "ip-careplan"
    found = _found(validator, {"resourceType": "Patient", "gender": "female"}, careplan)
    assert found == [("IP-3025", ("Patient",), "error")]


def test_an_unknown_profile_in_meta_is_named_and_the_base_checks_still_run(
    validator: Validator,
) -> None:
    unknown = BASE + "finnes-ikke"
    patient = {"resourceType": "Patient", "meta": {"profile": [unknown]}, "gender": "kvinne"}
    found = _found(validator, patient)
    assert _only(found, "IP-3031") == [("IP-3031", ("Patient.meta.profile",), "warning")]
    assert ("IP-3010", ("Patient.gender",), "error") in found  # not a way around validation


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ([{"resourceType": "Patient"}], ("IP-3018", (), "error")),
        ({"id": "uten-type"}, ("IP-3018", (), "error")),
        ({"resourceType": "Sykdom"}, ("IP-3018", ("Sykdom",), "error")),
        (_careplan(contained=[{"id": "x"}]), ("IP-3018", ("CarePlan.contained[0]",), "error")),
    ],
)
def test_what_is_not_a_known_resource_is_refused(
    validator: Validator, resource: Any, expected: tuple[str, tuple[str, ...], str]
) -> None:
    assert _only(_found(validator, resource), "IP-3018") == [expected]


@pytest.mark.parametrize(
    "text", ["<script>alert('ø')</script>", "Ring mor <img src=x onerror=alert(1)>"]
)
def test_a_string_that_embeds_html_is_refused(validator: Validator, text: str) -> None:
    found = _found(validator, {"resourceType": "Patient", "name": [{"text": text}]})
    assert _only(found, "IP-3032") == [("IP-3032", ("Patient.name[0].text",), "error")]


def test_angle_brackets_that_are_not_a_tag_pass(validator: Validator) -> None:
    found = _found(validator, {"resourceType": "Patient", "name": [{"text": "Åse < 3 år"}]})
    assert _only(found, "IP-3032") == []
