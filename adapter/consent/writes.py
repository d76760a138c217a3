"""Who may write what (the start hook of create, update, delete and transaction entries).

- AuditEvent: never a client (the server writes it).
- Directory data and resources tied to no person: any authenticated caller with the scope.
  A resource of a type that is always someone's personal data (:data:`PERSON_TYPES`, e.g. a
  RelatedPerson) must name its person as ``Patient/id``; otherwise it is refused (IP-5106),
  since nobody's consent could ever govern it.
- A person who already has a plan (a stored CarePlan or CareTeam): the plan's owner, its
  coordinator and members of its CareTeam — and not anyone the person refused (deny beats permit).
- A person without a plan yet: anyone may start it, but a CarePlan/CareTeam must name the
  caller's own organisation as owner.
- A Consent must be given by someone competent to give it (:mod:`adapter.consent.competence`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ipfhir.adapter.consent.competence import check_consent_competence
from ipfhir.adapter.consent.context import (
    PARTY_TYPES,
    PERSON_TYPES,
    PlanContext,
    actor_refs,
    patient_of,
    ref_of,
)
from ipfhir.adapter.consent.errors import Forbidden, issue5
from ipfhir.adapter.consent.loader import with_parties
from ipfhir.adapter.consent.operation import Operation

__all__ = ["check_write"]

Resource = dict[str, Any]


def check_write(
    op: Operation, resource: Resource, bundle: Iterable[Resource] = (), *, existing: bool = False
) -> None:
    """Raise :class:`Forbidden` (or a consent-competence error) unless the write is allowed;
    ``bundle`` holds the other resources of the same transaction (they count as present).
    ``existing``: ``resource`` is the stored version an update or delete replaces — only who
    may touch it is checked (whether its givers were competent is the new version's question)."""
    rtype = str(resource.get("resourceType"))
    if rtype == "AuditEvent":
        raise Forbidden([issue5("IP-5102", "AuditEvent", "forbidden")])
    patient = patient_of(resource)
    if patient is None:
        if rtype in PERSON_TYPES and rtype != "Patient":
            key = "patient" if rtype in ("Consent", "RelatedPerson") else "subject"
            raise Forbidden([issue5("IP-5106", f"{rtype}.{key}", "forbidden", rtype=rtype)])
        return
    stored = op.context(patient)
    has_plan = bool(stored.of_type("CarePlan") or stored.of_type("CareTeam"))
    if has_plan:
        _member_or_refuse(op, stored, patient, rtype)
    elif rtype in ("CarePlan", "CareTeam"):
        candidate = _candidate(op, stored, [*bundle, resource], patient)
        if not op.actor.organisation or op.actor.organisation not in candidate.owner_orgnrs():
            op.refuse(patient, "new plan names another owner")
            op.complete()
            raise Forbidden([issue5("IP-5104", f"{rtype}", "forbidden")])
    if rtype == "Consent" and not existing:
        check_consent_competence(resource, _candidate(op, stored, [*bundle, resource], patient))


def _member_or_refuse(op: Operation, ctx: PlanContext, patient: str, rtype: str) -> None:
    access = op.access(patient)
    if access.basis in ("owner", "coordinator"):
        return
    refused = any(r.effect == "deny" and r.names_actor and r.labels is None for r in access.rules)
    if refused:
        op.refuse(patient, "write by a refused recipient")
        op.complete()
        raise Forbidden([issue5("IP-5105", rtype, "forbidden")])
    if not any(ref.startswith("CareTeam/") for ref in actor_refs(ctx, op.actor)):
        op.refuse(patient, "write from outside the care team")
        op.complete()
        raise Forbidden([issue5("IP-5101", rtype, "forbidden", rtype=rtype)])


def _candidate(
    op: Operation, stored: PlanContext, written: list[Resource], patient: str
) -> PlanContext:
    """The person's plan as it would be after the write (parties it names read from the store)."""
    merged = dict(stored.resources)
    for res in written:
        if patient_of(res) == patient or res.get("resourceType") in PARTY_TYPES:
            merged[ref_of(res)] = res
    return PlanContext(patient, with_parties(op.enforcement.inner, merged))
