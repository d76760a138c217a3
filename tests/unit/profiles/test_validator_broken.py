"""Deliberately broken resources: each must fail with the expected message id at the expected
FHIRPath expression (and the unbroken originals must pass). Synthetic persons only."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ipfhir.profiles.validator import Validator

NB = "http://hl7.no/fhir/StructureDefinition/"
FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
MUNICIPALITY = NB + "no-basis-municipalitycode"

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "ande-aslat",
    "meta": {"profile": [NB + "no-basis-Patient"]},
    "identifier": [{"system": FNR, "value": "13858512330"}],  # synthetic: month + 80
    "active": True,
    "name": [{"family": "Áslat-Sørensen", "given": ["Ánde", "Ærling"]}],
    "gender": "male",
    "birthDate": "1985-05-13",
    "address": [
        {
            "line": ["Čáhppesgeaidnu 7"],
            "city": "Kárášjohka",
            "district": "Kárášjohka",
            "_district": {
                "extension": [
                    {
                        "url": MUNICIPALITY,
                        "valueCoding": {
                            "system": "https://register.geonorge.no/sosi-kodelister/kommunenummer",
                            "code": "5610",
                        },
                    }
                ]
            },
        }
    ],
    "contact": [{"name": {"family": "Åsheim", "given": ["Øyvor"]}}],
}

CAREPLAN: dict[str, Any] = {
    "resourceType": "CarePlan",
    "id": "ip-ande",
    "text": {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">Individuell plan for Ánde</div>',
    },
    "status": "active",
    "intent": "plan",
    "title": "Individuell plan – Ánde Áslat-Sørensen",
    "subject": {"reference": "Patient/ande-aslat"},
    "period": {"start": "2025-01-01", "end": "2026-12-31"},
    "created": "2024-12-20T10:15:00+01:00",
    "activity": [
        {
            "detail": {
                "status": "in-progress",
                "description": "Fysioterapi to ganger i uka på Kárášjohka helsesenter",
                "scheduledPeriod": {"start": "2025-01-06"},
            }
        }
    ],
}

ORGANIZATION: dict[str, Any] = {
    "resourceType": "Organization",
    "id": "karasjok-kommune",
    "meta": {"profile": [NB + "no-basis-Organization"]},
    "identifier": [{"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "987654325"}],
    "active": True,
    "name": "Kárášjoga gielda – Karasjok kommune",
}

CHECKSUM_IDS = ("IP-3019", "IP-3020", "IP-3021")
Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def apply(res: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = res
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return apply


def _delete(path: str) -> Mutation:
    def apply(res: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = res
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return apply


def _both(first: Mutation, second: Mutation) -> Mutation:
    def apply(res: dict[str, Any]) -> None:
        first(res)
        second(res)

    return apply


# (name, base, mutation, message id, expression)
CASES: list[tuple[str, dict[str, Any], Mutation, str, str]] = [
    ("unknown element", PATIENT, _set("nickname", "Ánde"), "IP-3001", "Patient.nickname"),
    ("boolean as string", PATIENT, _set("active", "true"), "IP-3007", "Patient.active"),
    ("boolean as number", PATIENT, _set("active", 1), "IP-3007", "Patient.active"),
    ("empty string", PATIENT, _set("name.0.family", ""), "IP-3006", "Patient.name[0].family"),
    ("empty object", PATIENT, _set("contact.0.name", {}), "IP-3006", "Patient.contact[0].name"),
    ("empty array", PATIENT, _set("name.0.given", []), "IP-3006", "Patient.name[0].given"),
    ("bad date", PATIENT, _set("birthDate", "1985-02-30"), "IP-3005", "Patient.birthDate"),
    (
        "date with time",
        PATIENT,
        _set("birthDate", "1985-05-13T10:00:00Z"),
        "IP-3005",
        "Patient.birthDate",
    ),
    (
        "dateTime without zone",
        CAREPLAN,
        _set("created", "2024-12-20T10:15:00"),
        "IP-3005",
        "CarePlan.created",
    ),
    ("month 13", CAREPLAN, _set("period.start", "2025-13-01"), "IP-3005", "CarePlan.period.start"),
    ("array for singleton", PATIENT, _set("gender", ["male"]), "IP-3004", "Patient.gender"),
    ("singleton for array", PATIENT, _set("name", {"family": "Áslat"}), "IP-3004", "Patient.name"),
    (
        "string for object",
        CAREPLAN,
        _set("subject", "Patient/ande-aslat"),
        "IP-3004",
        "CarePlan.subject",
    ),
    ("wrong required code", PATIENT, _set("gender", "mann"), "IP-3010", "Patient.gender"),
    ("wrong status code", CAREPLAN, _set("status", "aktiv"), "IP-3010", "CarePlan.status"),
    (
        "wrong nested code",
        CAREPLAN,
        _set("activity.0.detail.status", "ongoing"),
        "IP-3010",
        "CarePlan.activity[0].detail.status",
    ),
    ("missing required", CAREPLAN, _delete("intent"), "IP-3002", "CarePlan.intent"),
    ("missing subject", CAREPLAN, _delete("subject"), "IP-3002", "CarePlan.subject"),
    ("bad id", PATIENT, _set("id", "ánde_åslat"), "IP-3005", "Patient.id"),
    ("id too long", PATIENT, _set("id", "a" * 65), "IP-3005", "Patient.id"),
    (
        "period end before start",
        CAREPLAN,
        _set("period.end", "2024-01-01"),
        "IP-3012",
        "CarePlan.period",
    ),
    (
        "contact without details",
        PATIENT,
        _set("contact.0", {"gender": "female"}),
        "IP-3012",
        "Patient.contact[0]",
    ),
    (
        "bad fødselsnummer",
        PATIENT,
        _set("identifier.0.value", "13858512331"),
        "IP-3019",
        "Patient.identifier[0].value",
    ),
    (
        "bad D-nummer",
        PATIENT,
        _set("identifier.0", {"system": "urn:oid:2.16.578.1.12.4.1.4.2", "value": "53858512325"}),
        "IP-3020",
        "Patient.identifier[0].value",
    ),
    (
        "bad organisasjonsnummer",
        ORGANIZATION,
        _set("identifier.0.value", "987654321"),
        "IP-3021",
        "Organization.identifier[0].value",
    ),
    (
        "reference to wrong type",
        CAREPLAN,
        _set("subject", {"reference": "Practitioner/lege-1"}),
        "IP-3016",
        "CarePlan.subject.reference",
    ),
    (
        "dangling contained reference",
        CAREPLAN,
        _set("subject", {"reference": "#pasient"}),
        "IP-3012",
        "CarePlan.subject.reference",
    ),
    (
        "choice type not allowed",
        PATIENT,
        _set("deceasedString", "ja"),
        "IP-3023",
        "Patient.deceasedString",
    ),
    (
        "two choice types",
        PATIENT,
        _both(_set("deceasedBoolean", False), _set("deceasedDateTime", "2025")),
        "IP-3003",
        "Patient.deceased",
    ),
    (
        "municipality code as string",
        PATIENT,
        _set("address.0._district.extension.0", {"url": MUNICIPALITY, "valueString": "5610"}),
        "IP-3023",
        "Patient.address[0].district.extension[0].valueString",
    ),
    (
        "unknown extension",
        PATIENT,
        _set("extension", [{"url": "https://ukjent.example.no/fhir/x", "valueString": "ø"}]),
        "IP-3022",
        "Patient.extension[0]",
    ),
    (
        "extension with value and children",
        PATIENT,
        _set(
            "extension",
            [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                    "valueAddress": {"city": "Tromsø"},
                    "extension": [{"url": "x", "valueString": "y"}],
                }
            ],
        ),
        "IP-3012",
        "Patient.extension[0]",
    ),
    (
        "script in narrative",
        CAREPLAN,
        _set(
            "text.div", '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>'
        ),
        "IP-3027",
        "CarePlan.text.div",
    ),
    (
        "narrative not xhtml",
        CAREPLAN,
        _set("text.div", "<div>Plan</div>"),
        "IP-3027",
        "CarePlan.text.div",
    ),
    (
        "integer out of range",
        CAREPLAN,
        _set("activity.0.detail.dailyAmount", {"value": "2"}),
        "IP-3005",
        "CarePlan.activity[0].detail.dailyAmount.value",
    ),
]


@pytest.mark.parametrize("base", [PATIENT, CAREPLAN, ORGANIZATION], ids=lambda r: r["resourceType"])
def test_unbroken_originals_are_valid(validator: Validator, base: dict[str, Any]) -> None:
    errors = [i for i in validator.issues(base) if i.severity in ("error", "fatal")]
    assert errors == []


@pytest.mark.parametrize(
    ("name", "base", "mutate", "message_id", "expression"), CASES, ids=[c[0] for c in CASES]
)
def test_broken_resource_is_caught(
    validator: Validator,
    name: str,
    base: dict[str, Any],
    mutate: Mutation,
    message_id: str,
    expression: str,
) -> None:
    broken = copy.deepcopy(base)
    mutate(broken)
    # national checksums are errors under the IP profiles, warnings under no-basis (whose own
    # examples use placeholder numbers); see test_validator_ip.py for the IP side
    wanted = ("error", "warning") if message_id in CHECKSUM_IDS else ("error", "fatal")
    errors = [i for i in validator.issues(broken) if i.severity in wanted]
    found = {(i.message_id, e) for i in errors for e in i.expression}
    assert (message_id, expression) in found, f"{name}: got {found}"
    outcome = validator.validate(broken)
    assert outcome["resourceType"] == "OperationOutcome"
    assert any(i["details"]["coding"][0]["code"] == message_id for i in outcome["issue"])


@pytest.mark.parametrize("contained", [None, 7, True])
def test_a_local_reference_beside_a_contained_that_is_no_array_is_refused_not_a_crash(
    validator: Validator, contained: Any
) -> None:
    broken = copy.deepcopy(CAREPLAN)
    broken["contained"] = contained
    broken["subject"] = {"reference": "#pasient"}
    found = {(i.message_id, i.expression) for i in validator.issues(broken)}
    assert ("IP-3012", ("CarePlan.subject.reference",)) in found  # ref-1: nothing to point at
