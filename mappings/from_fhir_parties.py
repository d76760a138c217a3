"""FHIR → plan: the person and the parties (inverse of :mod:`mappings.to_fhir_parties`)."""

from __future__ import annotations

from typing import Any

from ipfhir.mappings import codes
from ipfhir.mappings.fhir_common import (
    SYSTEM_NAMES,
    Json,
    contact_from_fhir,
    ext_values,
    find_ext,
    period_from_fhir,
)
from ipfhir.mappings.free_text import free_text_of_extension
from ipfhir.mappings.from_fhir_index import BundleIndex
from ipfhir.mappings.to_fhir_parties import INTERPRETER, SUPPORT_CODE

__all__ = [
    "contribution_of",
    "element_topic",
    "parties_from_fhir",
    "person_from_fhir",
    "topic_code",
]

_GUARD = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"


def _identifiers(resource: Json) -> list[Json]:
    return [
        {"system": SYSTEM_NAMES[i["system"]], "value": i.get("value")}
        for i in resource.get("identifier", [])
        if i.get("system") in SYSTEM_NAMES
    ]


def _names(resource: Json, out: dict[str, Any]) -> None:
    names = resource.get("name") or [{}]
    if "family" in names[0]:
        out["family"] = names[0]["family"]
    if names[0].get("given"):
        out["given"] = " ".join(names[0]["given"])


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def person_from_fhir(patient: Json) -> Json:
    identifiers = _identifiers(patient)
    person: dict[str, Any] = {"identifier": identifiers[0] if identifiers else None}
    _names(patient, person)
    person["birth_date"] = patient.get("birthDate")
    _put(person, "gender", patient.get("gender"))
    interpreter = [e for e in patient.get("extension", []) if e.get("url") == INTERPRETER]
    if interpreter and interpreter[0].get("valueBoolean") is True:
        person["interpreter_needed"] = True
    for communication in patient.get("communication", []):
        for coding in communication.get("language", {}).get("coding", []):
            if coding.get("system") == "urn:ietf:bcp:47":
                person.setdefault("language", coding.get("code"))
    _put(person, "contact", contact_from_fhir(patient))
    return person


def parties_from_fhir(index: BundleIndex, care_team: Json) -> list[Json]:
    """Every Organization, Practitioner(+Role) and RelatedPerson of the Bundle, in Bundle order."""
    taking_part = _participations(index, care_team)
    parties: dict[str, dict[str, Any]] = {}
    for position, resource in enumerate(index.resources):
        rtype = resource["resourceType"]
        if rtype not in ("Organization", "Practitioner", "PractitionerRole", "RelatedPerson"):
            continue
        path = f"Bundle.entry[{position}].resource"
        local = index.local_id(resource, path)
        party = parties.setdefault(local, {"id": local})
        if rtype == "Organization":
            _organisation(resource, party)
        elif rtype == "Practitioner":
            _practitioner(resource, party)
        elif rtype == "PractitionerRole":
            _practitioner_role(index, resource, party, path)
        else:
            _related_person(resource, party)
    for local, party in parties.items():
        participant = taking_part.get(local)
        party["takes_part"] = participant is not None
        if participant is not None:
            _put(party, "contribution", contribution_of(participant))
            _put(party, "topic", element_topic(participant))
    return list(parties.values())


def topic_code(codings: list[Json]) -> str | None:
    """The ip-information-topic code among ``codings`` (a security label), if any."""
    system = codes.cs_url("ip-information-topic")
    return next((c.get("code") for c in codings if c.get("system") == system), None)


def contribution_of(participant: Json) -> Any:
    """A CareTeam participant's contribution (item d): plain text or labelled parts."""
    found = find_ext(participant, "ip-contribution")
    return free_text_of_extension(found[0]) if found else None


def element_topic(element: Json) -> str | None:
    """The topic of an element's ext:ip-security-label (participant, activity, need item)."""
    return topic_code(ext_values(element, "ip-security-label", "valueCoding"))


def _participations(index: BundleIndex, care_team: Json) -> dict[str, Json]:
    """party id → its participant element, for every non-coordinator participant."""
    out: dict[str, Json] = {}
    for i, participant in enumerate(care_team.get("participant", [])):
        codings = [c for role in participant.get("role", []) for c in role.get("coding", [])]
        if not any(c.get("system") == codes.cs_url("ip-participant-role") for c in codings):
            continue
        party = index.party_id(participant.get("member"), f"CareTeam.participant[{i}].member")
        out[party] = participant
    return out


def _organisation(resource: Json, party: dict[str, Any]) -> None:
    party["kind"] = "organisation"
    _put(party, "name", resource.get("name"))
    party["identifiers"] = _identifiers(resource)
    types = ext_values(resource, "ip-organisation-type", "valueCoding")
    if types:
        party["organisation_type"] = types[0].get("code")
    _put(party, "contact", contact_from_fhir(resource))


def _practitioner(resource: Json, party: dict[str, Any]) -> None:
    # Practitioner.address / .telecom are the individual's own (home) contact: not the plan's
    party["kind"] = "practitioner"
    _names(resource, party)
    party["identifiers"] = _identifiers(resource)


def _practitioner_role(index: BundleIndex, role: Json, party: dict[str, Any], path: str) -> None:
    party["kind"] = "practitioner"
    if "organization" in role:
        party["organisation"] = index.party_id(role["organization"], f"{path}.organization")
    if role.get("code"):
        _put(party, "role", role["code"][0].get("text"))
    _merge_contact(party, contact_from_fhir(role, *_workplaces(role)))


def _workplaces(role: Json) -> list[Json]:
    """The contained Locations ``role.location`` names: the role's work address."""
    contained = {
        f"#{r.get('id')}": r
        for r in role.get("contained", [])
        if r.get("resourceType") == "Location"
    }
    out = []
    for location in role.get("location", []):
        found = contained.get(location.get("reference", ""))
        if found is not None and isinstance(found.get("address"), dict):
            out.append({"address": [found["address"]]})
    return out


def _merge_contact(party: dict[str, Any], contact: Json | None) -> None:
    if contact:
        party["contact"] = {**party.get("contact", {}), **contact}


def _related_person(resource: Json, party: dict[str, Any]) -> None:
    codings = [c for r in resource.get("relationship", []) for c in r.get("coding", [])]
    is_guardian = any(c.get("system") == _GUARD and c.get("code") == "GUARD" for c in codings)
    support = [
        r
        for r in resource.get("relationship", [])
        if any(
            c.get("system") == SUPPORT_CODE["system"] and c.get("code") == SUPPORT_CODE["code"]
            for c in r.get("coding", [])
        )
    ]
    party["kind"] = "guardian" if is_guardian else "support-person" if support else "relative"
    if support:
        _put(party, "role", support[0].get("text"))
    _names(resource, party)
    party["identifiers"] = _identifiers(resource)
    for coding in codings:
        if coding.get("system") == codes.SYSTEM_9033:
            party.setdefault("relationship", coding.get("code"))
    if True in ext_values(resource, "ip-parental-responsibility", "valueBoolean"):
        party["parental_responsibility"] = True
    for mandate in find_ext(resource, "ip-guardian-mandate"):
        parts = mandate.get("extension", [])
        party["mandate"] = {
            "description": next(
                (p.get("valueString") for p in parts if p.get("url") == "description"), None
            ),
            "covers": [p.get("valueCode") for p in parts if p.get("url") == "covers"],
            "period": period_from_fhir(
                next((p.get("valuePeriod") for p in parts if p.get("url") == "period"), None)
            ),
        }
    _put(party, "contact", contact_from_fhir(resource))
