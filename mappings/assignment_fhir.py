"""A coordinator assignment on its own ⇄ FHIR R4 (see ``profiles/mapping-table.md``).

Shape (seed 004_feb800c0c7d43aa8.txt: a barnekoordinator is assigned to the *family*, may cover
several siblings, may be assigned before birth and without an individual plan):

- one ``CareTeam/{id}-{person}`` (profile ip-coordinator-assignment) per person covered:
  ``identifier`` = (ASSIGNMENT_ID_SYSTEM, the assignment's id) — the same on every team of the
  assignment, which is how the family is known; ``category`` =
  cs:ip-careteam-category#koordinator-tildeling; ``status``; ``subject`` → that person's
  Patient; ``period`` = from when (and until when) the assignment covers the person (for a child
  born during it, from before the birth); ``participant`` = the coordinator assignments (the
  plan's coordinator roles, period, handover, contact frequency) and the parties that take part
  (parents: parorende); ``managingOrganization`` = the municipality whose coordinating unit
  assigned it; ``extension[ip-decision]`` = the vedtak, ``extension[ip-assignment-created]``.
- ``Patient/{id}-{person}`` (no-basis-Patient): born — identifier, name, birthDate; not yet
  born — no identifier, no birthDate, ``extension[ip-expected-birth]`` valueDate (kept after).
- The parties as in a plan (Organization, Practitioner + PractitionerRole, RelatedPerson); a
  RelatedPerson's ``patient`` is the first person covered.

Why one team per person and not one team for a Group of the children: every resource of a
person's data names that one person (the server refuses anything else, IP-5106), so each
child's assignment is decided under that child's own consent, and no sibling's record travels
with another's. No CarePlan: the assignment stands alone; a plan of one of the children is a
separate document whose own CareTeam names the same coordinator.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ipfhir.mappings import codes
from ipfhir.mappings.assignment_rules import load_assignment
from ipfhir.mappings.errors import Issue, MappingError
from ipfhir.mappings.evidence import decision_from_fhir, decision_to_fhir
from ipfhir.mappings.fhir_common import (
    SYSTEM_NAMES,
    Json,
    ext,
    ext_values,
    full_url,
    identifier_to_fhir,
    period_from_fhir,
    period_to_fhir,
    ref,
    scoped_id,
)
from ipfhir.mappings.from_fhir import coordinators_from_fhir
from ipfhir.mappings.from_fhir_index import BundleIndex
from ipfhir.mappings.from_fhir_parties import parties_from_fhir
from ipfhir.mappings.model import Assignment, CoveredPerson
from ipfhir.mappings.to_fhir import (
    ROLE_BY_KIND,
    coordinator_participant,
    participant_role,
    team_participant,
)
from ipfhir.mappings.to_fhir_parties import NO_BASIS, party_reference, party_resources

__all__ = [
    "ASSIGNMENT_CATEGORY",
    "assignment_resources",
    "assignment_to_bundle",
    "bundle_to_assignment",
    "bundle_to_assignment_json",
]

ASSIGNMENT_CATEGORY = {
    "system": codes.cs_url("ip-careteam-category"),
    "code": "koordinator-tildeling",
}
# what each team of one assignment repeats; they must agree (else it is not one assignment)
_SHARED = ("extension", "status", "category", "participant", "managingOrganization")


def assignment_to_bundle(assignment: Assignment) -> Json:
    """The assignment as a FHIR transaction Bundle (PUT of every resource)."""
    entries = []
    for resource in assignment_resources(assignment):
        rtype, rid = resource["resourceType"], resource["id"]
        entries.append(
            {
                "fullUrl": full_url(rtype, rid),
                "resource": resource,
                "request": {"method": "PUT", "url": f"{rtype}/{rid}"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def assignment_resources(assignment: Assignment) -> list[Json]:
    first = ref("Patient", scoped_id(assignment.id, assignment.persons[0].id))
    parties = party_resources(assignment)
    for resource in parties:
        if resource["resourceType"] == "RelatedPerson":
            resource["patient"] = first
    return [
        *(_patient(assignment, p) for p in assignment.persons),
        *parties,
        *(_care_team(assignment, p) for p in assignment.persons),
    ]


def _patient(assignment: Assignment, person: CoveredPerson) -> Json:
    patient: Json = {
        "resourceType": "Patient",
        "id": scoped_id(assignment.id, person.id),
        "meta": {"profile": [NO_BASIS + "Patient"]},
    }
    if person.expected_birth is not None:
        patient["extension"] = [
            ext("ip-expected-birth", "valueDate", person.expected_birth.isoformat())
        ]
    if person.identifier is not None:
        patient["identifier"] = [identifier_to_fhir(person.identifier)]
    name: Json = {}
    if person.family is not None:
        name["family"] = person.family
    if person.given is not None:
        name["given"] = [person.given]
    if name:
        patient["name"] = [name]
    if person.birth_date is not None:
        patient["birthDate"] = person.birth_date.isoformat()
    return patient


def _care_team(assignment: Assignment, person: CoveredPerson) -> Json:
    extensions = [ext("ip-assignment-created", "valueDate", assignment.created.isoformat())]
    if assignment.decision is not None:
        extensions.append(decision_to_fhir(assignment, assignment.decision))
    participants = [
        team_participant(
            participant_role(ROLE_BY_KIND[party.kind]),
            party_reference(assignment, party.id),
            party.contribution,
            party.topic,
        )
        for party in assignment.parties
        if party.takes_part
    ]
    participants += [coordinator_participant(assignment, c) for c in assignment.coordinators]
    team: Json = {
        "resourceType": "CareTeam",
        "id": scoped_id(assignment.id, person.id),
        "meta": {"profile": [codes.profile_url("ip-coordinator-assignment")]},
        "extension": extensions,
        "identifier": [{"system": codes.ASSIGNMENT_ID_SYSTEM, "value": assignment.id}],
        "status": assignment.status,
        "category": [{"coding": [dict(ASSIGNMENT_CATEGORY)]}],
        "subject": ref("Patient", scoped_id(assignment.id, person.id)),
    }
    period = period_to_fhir(person.covered)
    if period:
        team["period"] = period
    team["participant"] = participants
    team["managingOrganization"] = [
        party_reference(assignment, assignment.responsible_organisation)
    ]
    return team


def bundle_to_assignment(bundle: Any, *, on: dt.date | None = None) -> Assignment:
    return load_assignment(bundle_to_assignment_json(bundle), on=on)


def _one_assignment(message: str) -> MappingError:
    text = (
        "Expected exactly one coordinator assignment (CareTeams with category "
        f"koordinator-tildeling sharing one identifier): {message}"
    )
    where = ("Bundle.entry.resource.ofType(CareTeam)",)
    return MappingError([Issue("IP-2105", text, where, "structure")])


def bundle_to_assignment_json(bundle: Any) -> Json:
    """Assignment JSON read from a Bundle, not yet checked against the rules."""
    index = BundleIndex(bundle)
    teams = [
        r
        for r in index.of_type("CareTeam")
        if any(
            c.get("system") == ASSIGNMENT_CATEGORY["system"]
            and c.get("code") == ASSIGNMENT_CATEGORY["code"]
            for cat in r.get("category", [])
            for c in cat.get("coding", [])
        )
    ]
    ids = {
        i.get("value")
        for team in teams
        for i in team.get("identifier", [])
        if i.get("system") == codes.ASSIGNMENT_ID_SYSTEM
    }
    if not teams or len(ids) != 1:
        raise _one_assignment(f"found {len(teams)} teams with {len(ids)} identifiers.")
    first = teams[0]
    if any({k: t.get(k) for k in _SHARED} != {k: first.get(k) for k in _SHARED} for t in teams):
        raise _one_assignment("its CareTeams disagree on the coordinator, parties or decision.")
    index.plan_id = str(next(iter(ids)))
    out: dict[str, Any] = {
        "id": index.plan_id,
        "status": first.get("status"),
        "created": _first(ext_values(first, "ip-assignment-created", "valueDate")),
        "responsible_organisation": index.party_id(
            (first.get("managingOrganization") or [None])[0], "CareTeam.managingOrganization[0]"
        ),
        "persons": [_person(index, t, f"CareTeam[{i}]") for i, t in enumerate(teams)],
        "parties": parties_from_fhir(index, first),
        "coordinators": coordinators_from_fhir(index, first),
    }
    decision = decision_from_fhir(index, first, "CareTeam", on_detail=False)
    if decision is not None:
        out["decision"] = decision
    return {k: v for k, v in out.items() if v is not None}


def _first(values: list[Any]) -> Any:
    return values[0] if values else None


def _person(index: BundleIndex, team: Json, path: str) -> Json:
    patient = index.resolve(team.get("subject"), f"{path}.subject")
    person: dict[str, Any] = {
        "id": index.local_id(patient, f"{path}.subject"),
        "covered": period_from_fhir(team.get("period")),
    }
    identifiers = [
        {"system": SYSTEM_NAMES[i["system"]], "value": i.get("value")}
        for i in patient.get("identifier", [])
        if i.get("system") in SYSTEM_NAMES
    ]
    if identifiers:
        person["identifier"] = identifiers[0]
    names = patient.get("name") or [{}]
    if "family" in names[0]:
        person["family"] = names[0]["family"]
    if names[0].get("given"):
        person["given"] = " ".join(names[0]["given"])
    if patient.get("birthDate") is not None:
        person["birth_date"] = patient["birthDate"]
    expected = ext_values(patient, "ip-expected-birth", "valueDate")
    if expected:
        person["expected_birth"] = expected[0]
    return person
