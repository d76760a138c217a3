"""AuditEvent (R4) for one operation on one person's data: who, what (resources and versions),
when, on which consent, with which outcome.

The person is an ``entity`` whose ``what`` holds both ``reference`` (``Patient/id``) and the
person's ``identifier`` (fødselsnummer / D-nummer), so ``GET /AuditEvent?patient=Patient/id`` and
``GET /AuditEvent?patient.identifier=system|value`` answer the person's right to know who saw
their plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ipfhir.adapter.ports import Actor, SearchParam, SearchQuery
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM

__all__ = ["Disclosure", "audit_event", "person_audit_query"]

Resource = dict[str, Any]
_TYPE = {
    "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
    "code": "rest",
    "display": "RESTful Operation",
}
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_ACTION = {
    "read": "R",
    "vread": "R",
    "history": "R",
    "search": "E",
    "everything": "R",
    "create": "C",
    "update": "U",
    "delete": "D",
}
_OUTCOME = {"disclosed": "0", "stored": "0", "refused": "4", "failed": "8"}  # 8: serious failure
_SUBTYPE = {"history": "history-instance", "search": "search-type", "everything": "operation"}


@dataclass
class Disclosure:
    """What one operation gave (or refused) one actor about one person."""

    interaction: str  # read, vread, history, search, everything, create, update, ...
    patient: str  # "Patient/id"; "" for a write of a resource tied to no person
    patient_identifier: dict[str, str] | None
    # stored: a write, recorded in its own transaction; failed: ended in an error, nothing sent
    outcome: Literal["disclosed", "stored", "refused", "failed"]
    resources: list[str] = field(default_factory=list)  # "Type/id/_history/v"
    consents: list[str] = field(default_factory=list)  # "Consent/id"
    basis: str = ""
    detail: str = ""


def _agents(actor: Actor) -> list[Resource]:
    agents: list[Resource] = []
    if actor.organisation:
        agents.append(
            {
                "who": {"identifier": {"system": ORGNR_SYSTEM, "value": actor.organisation}},
                "requestor": not actor.practitioner,
                "role": [{"text": ", ".join(actor.roles)}] if actor.roles else [],
            }
        )
    if actor.practitioner:
        agents.append(
            {
                "who": {"identifier": {"system": HPR_SYSTEM, "value": actor.practitioner}},
                "requestor": True,
            }
        )
    if not agents:
        agents.append({"who": {"display": "unidentified caller"}, "requestor": True})
    for agent in agents:
        if not agent.get("role"):
            agent.pop("role", None)
    return agents


def audit_event(actor: Actor, item: Disclosure, recorded: str) -> Resource:
    """The AuditEvent for ``item`` as done by ``actor`` at ``recorded`` (ISO instant)."""
    person_what: Resource = {"reference": item.patient}
    if item.patient_identifier:
        person_what["identifier"] = dict(item.patient_identifier)
    entities: list[Resource] = [
        {
            "what": person_what,
            "type": {"system": _ENTITY_TYPE, "code": "1", "display": "Person"},
            "role": {"system": _OBJECT_ROLE, "code": "1", "display": "Patient"},
        }
    ]
    if not item.patient:  # a directory entry or another resource of no person
        entities = []
    entities += [
        {"what": {"reference": ref}, "type": {"system": _ENTITY_TYPE, "code": "2"}}
        for ref in item.resources
    ]
    entities += [
        {
            "what": {"reference": ref},
            "type": {"system": _ENTITY_TYPE, "code": "2"},
            "role": {"system": _OBJECT_ROLE, "code": "13", "display": "Security Resource"},
            "description": "consent the disclosure was made on",
        }
        for ref in item.consents
    ]
    event: Resource = {
        "resourceType": "AuditEvent",
        "type": dict(_TYPE),
        "subtype": [
            {"system": "http://hl7.org/fhir/restful-interaction", "code": item.interaction}
        ],
        "action": _ACTION.get(item.interaction, "E"),
        "recorded": recorded,
        "outcome": _OUTCOME[item.outcome],
        "outcomeDesc": f"{item.outcome} ({item.basis}){': ' + item.detail if item.detail else ''}",
        "agent": _agents(actor),
        "source": {"observer": {"display": "ip-fhir-adapter"}},
        "entity": entities,
    }
    if actor.purpose:
        event["purposeOfEvent"] = [{"coding": [{"code": actor.purpose}], "text": actor.purpose}]
    return event


def person_audit_query(system: str, value: str, count: int = 100) -> SearchQuery:
    """``AuditEvent?patient.identifier=system|value`` — who saw this person's plan."""
    param = SearchParam("patient", (f"{system}|{value}",), chain="identifier")
    return SearchQuery("AuditEvent", (param,), count=count, sort=("-date",))
