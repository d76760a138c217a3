"""Plan → FHIR: the person (Patient) and the plan's parties (Organization, Practitioner,
PractitionerRole, RelatedPerson), on the no-basis profiles."""

from __future__ import annotations

from ipfhir.mappings import codes
from ipfhir.mappings.fhir_common import (
    Json,
    contact_to_fhir,
    ext,
    identifier_to_fhir,
    patient_id,
    period_to_fhir,
    ref,
    scoped_id,
)
from ipfhir.mappings.model import Party, PartyHolder, Person

__all__ = [
    "INTERPRETER",
    "NO_BASIS",
    "WORKPLACE",
    "party_reference",
    "party_resources",
    "patient_resource",
    "practitioner_reference",
]

NO_BASIS = "http://hl7.no/fhir/StructureDefinition/no-basis-"
INTERPRETER = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
WORKPLACE = "arbeidssted"  # id of the contained Location: the work address of a role
GUARDIAN_CODE = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
    "code": "GUARD",
    "display": "guardian",
}


SUPPORT_CODE = {"system": codes.cs_url("ip-participant-role"), "code": "stotteperson"}


def _meta(profile: str) -> Json:
    return {"profile": [profile]}


def _set_name(resource: Json, given: str | None, family: str | None) -> None:
    name: Json = {}
    if family is not None:
        name["family"] = family
    if given is not None:
        name["given"] = [given]
    if name:
        resource["name"] = [name]


def patient_resource(person: Person, plan_id: str) -> Json:
    patient: Json = {
        "resourceType": "Patient",
        "id": patient_id(plan_id),
        "meta": _meta(NO_BASIS + "Patient"),
        "identifier": [identifier_to_fhir(person.identifier)],
    }
    _set_name(patient, person.given, person.family)
    patient.update(contact_to_fhir(person.contact))
    if person.gender is not None:
        patient["gender"] = person.gender
    patient["birthDate"] = person.birth_date.isoformat()
    if person.interpreter_needed:
        patient["extension"] = [{"url": INTERPRETER, "valueBoolean": True}]
    if person.language is not None:
        patient["communication"] = [
            {
                "language": {"coding": [{"system": "urn:ietf:bcp:47", "code": person.language}]},
                "preferred": True,
            }
        ]
    return patient


def party_reference(plan: PartyHolder, party_id: str, *, individual: bool = False) -> Json:
    """Reference to the resource that stands for a party (or the person) in the plan.

    Practitioners are referenced by their PractitionerRole (the role in this plan), or by the
    Practitioner itself with ``individual=True`` (consent actors name the individual).
    """
    if party_id == "person":
        return ref("Patient", patient_id(plan.id))
    party = plan.party(party_id)
    if party is None:
        raise KeyError(party_id)
    rtype = {
        "relative": "RelatedPerson",
        "guardian": "RelatedPerson",
        "support-person": "RelatedPerson",
        "organisation": "Organization",
        "practitioner": "Practitioner" if individual else "PractitionerRole",
    }[party.kind]
    return ref(rtype, scoped_id(plan.id, party.id))


def practitioner_reference(plan: PartyHolder, party_id: str) -> Json:
    return party_reference(plan, party_id, individual=True)


def party_resources(plan: PartyHolder) -> list[Json]:
    """All party resources in plan order (a practitioner: Practitioner, then PractitionerRole)."""
    return [resource for party in plan.parties for resource in _party(plan, party)]


def _party(plan: PartyHolder, party: Party) -> list[Json]:
    rid = scoped_id(plan.id, party.id)
    identifiers = [identifier_to_fhir(i) for i in party.identifiers]
    if party.kind == "organisation":
        org: Json = {
            "resourceType": "Organization",
            "id": rid,
            "meta": _meta(NO_BASIS + "Organization"),
        }
        if party.organisation_type is not None:
            org["extension"] = [
                ext(
                    "ip-organisation-type",
                    "valueCoding",
                    {
                        "system": codes.cs_url("ip-organisation-type"),
                        "code": party.organisation_type,
                    },
                )
            ]
        if identifiers:
            org["identifier"] = identifiers
        if party.name is not None:
            org["name"] = party.name
        org.update(contact_to_fhir(party.contact))
        return [org]
    if party.kind == "practitioner":
        return _practitioner(plan, party, rid, identifiers)
    return [_related_person(plan, party, rid, identifiers)]


def _practitioner(plan: PartyHolder, party: Party, rid: str, identifiers: list[Json]) -> list[Json]:
    practitioner: Json = {
        "resourceType": "Practitioner",
        "id": rid,
        "meta": _meta(NO_BASIS + "Practitioner"),
    }
    if identifiers:
        practitioner["identifier"] = identifiers
    _set_name(practitioner, party.given, party.family)
    # The contact in the plan is the work contact of the role (vedlegg 4: arbeidssted, adresse,
    # tlf, e-post): telecom on the PractitionerRole, the work address a contained Location it
    # names (PractitionerRole has no address; Practitioner.address is a home address).
    contact = contact_to_fhir(party.contact)
    role: Json = {
        "resourceType": "PractitionerRole",
        "id": rid,
        "meta": _meta(NO_BASIS + "PractitionerRole"),
    }
    if "address" in contact:
        role["contained"] = [
            {"resourceType": "Location", "id": WORKPLACE, "address": contact["address"][0]}
        ]
    role["practitioner"] = ref("Practitioner", rid)
    if party.organisation is not None:
        role["organization"] = ref("Organization", scoped_id(plan.id, party.organisation))
    if party.role is not None:
        role["code"] = [{"text": party.role}]
    if "address" in contact:
        role["location"] = [{"reference": f"#{WORKPLACE}"}]
    if "telecom" in contact:
        role["telecom"] = contact["telecom"]
    return [practitioner, role]


def _related_person(plan: PartyHolder, party: Party, rid: str, identifiers: list[Json]) -> Json:
    person: Json = {
        "resourceType": "RelatedPerson",
        "id": rid,
        "meta": _meta(NO_BASIS + "RelatedPerson"),
    }
    extensions: list[Json] = []
    if party.parental_responsibility:
        extensions.append(ext("ip-parental-responsibility", "valueBoolean", True))
    if party.mandate is not None:
        mandate: list[Json] = [
            {"url": "description", "valueString": party.mandate.description},
            *({"url": "covers", "valueCode": c} for c in party.mandate.covers),
        ]
        period = period_to_fhir(party.mandate.period)
        if period:
            mandate.append({"url": "period", "valuePeriod": period})
        extensions.append({"url": codes.ext_url("ip-guardian-mandate"), "extension": mandate})
    if extensions:
        person["extension"] = extensions
    if identifiers:
        person["identifier"] = identifiers
    person["patient"] = ref("Patient", patient_id(plan.id))
    relationship = [{"coding": [dict(GUARDIAN_CODE)]}] if party.kind == "guardian" else []
    if party.kind == "support-person":
        support: Json = {"coding": [dict(SUPPORT_CODE)]}
        if party.role is not None:
            support["text"] = party.role
        relationship.append(support)
    if party.relationship is not None:
        relationship.append({"coding": [{"system": codes.SYSTEM_9033, "code": party.relationship}]})
    if relationship:
        person["relationship"] = relationship
    _set_name(person, party.given, party.family)
    person.update(contact_to_fhir(party.contact))
    return person
