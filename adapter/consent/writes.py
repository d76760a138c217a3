"""Who may write what: the start hook of create, update, delete and transaction entries. The
rules are :mod:`adapter.consent.authority`'s; this module finds what they need (the person's
plan as stored, the actor's access, the plans a directory entry serves) and audits every
refusal before it is raised.

- AuditEvent: never a client (the server writes it).
- The rules bootstrap adds (``Enforcement.write_rules``; the exchange's Tasks are written by the
  exchange only, IP-6117): judged on the stored version only when the caller may see it — a
  hidden one is answered as missing before any rule looks at it.
- Directory data and resources tied to no person: any authenticated caller with the scope,
  except that authority-carrying identifiers never change (IP-5108) and an entry a plan relies
  on is changed or deleted by that plan's owner only (IP-5110). A resource of a type that is
  always someone's personal data (:data:`PERSON_TYPES`, e.g. a RelatedPerson) must name its
  person as ``Patient/id`` (IP-5106).
- A person who already has a plan (a stored CarePlan or CareTeam): its holders (owner,
  coordinator) write anything; care-team members only their part (IP-5109); everyone else,
  refused parties included, nothing — with one answer for all of them (IP-5101).
- A person without a plan yet: anyone may start it, but a CarePlan/CareTeam must name the
  caller's own organisation as owner (IP-5104).
- A Consent's person (``Consent.patient``) never changes (IP-5114): the consent was given by
  and for them, and its recipients are told of a withdrawal only on their person's record.
- A Consent must be given by someone competent to give it (:mod:`adapter.consent.competence`)
  and a sharing consent's refusals hold no permit (IP-5112); consent-bearing resources are
  stored with their IP profile in ``meta.profile`` so the store validates them against it.
- An update is judged on the stored version and the new one together (element by element for
  members); when it moves a resource to another person, as a delete for the one and a create
  for the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ipfhir.adapter.consent.authority import (
    AUTHORITY_TYPES,
    identity_change,
    member_change,
    member_merge,
    outranked_refusal,
    with_profiles,
)
from ipfhir.adapter.consent.competence import check_consent_competence
from ipfhir.adapter.consent.context import (
    PARTY_TYPES,
    PERSON_TYPES,
    PlanContext,
    actor_refs,
    patient_of,
    ref_of,
    references_in,
)
from ipfhir.adapter.consent.inbox import waiting_notification
from ipfhir.adapter.consent.loader import with_parties
from ipfhir.adapter.consent.operation import Operation
from ipfhir.adapter.consent.private_contact import keep_private, shown_to_self
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.security_errors import Forbidden, issue5
from ipfhir.mappings.errors import PlanRuleViolation

__all__ = ["check_delete", "check_write"]

Resource = dict[str, Any]
_PAGE = 500


def _no_foreign_inbox(op: Operation, resource: Resource) -> None:
    """A notification waiting in an inbox is shown to its addressee's coordinating unit
    (:mod:`adapter.consent.inbox`); through the API it may be filed only in the caller's own
    inbox — notifications to others leave through ``ipfhir notify``, which checks the consent."""
    waiting = waiting_notification(resource)
    if waiting is not None and waiting[0] != op.actor.organisation:
        raise Forbidden([issue5("IP-5113", "Task.owner", "forbidden")])


def check_write(
    op: Operation,
    resource: Resource,
    bundle: Iterable[Resource] = (),
    *,
    old: Resource | None = None,
) -> Resource:
    """Raise :class:`Forbidden` (or a consent-rule error) unless writing ``resource`` over
    ``old`` (the stored version, ``None`` for a create) is allowed; ``bundle`` holds the other
    resources of the same transaction (they count as present). Returns what to store:
    ``resource`` with its required IP profiles in ``meta.profile``."""
    rtype = str(resource.get("resourceType"))
    _no_audit_event(rtype, old)
    _no_foreign_inbox(op, resource)
    for rule in op.enforcement.write_rules:  # old: stored and shown to the caller, or None
        rule(old, resource)
    patient = patient_of(resource)
    if patient is None and rtype in PERSON_TYPES and rtype != "Patient":
        key = "patient" if rtype in ("Consent", "RelatedPerson") else "subject"
        raise Forbidden([issue5("IP-5106", f"{rtype}.{key}", "forbidden", rtype=rtype)])
    if old is not None and old.get("resourceType") in AUTHORITY_TYPES:
        _directory_change(op, old, resource)  # whatever person the new version claims
        if not shown_to_self(op.actor, old):  # what the writer was never shown stays
            resource = keep_private(old, resource)
    before = patient_of(old) if old is not None else None
    if before is not None:
        resource = _authorise(op, before, old, resource if before == patient else None) or resource
        if rtype == "Consent" == (old or {}).get("resourceType") and patient != before:
            issue = issue5("IP-5114", "Consent.patient", "business-rule", patient=before)
            raise PlanRuleViolation([issue])
    if patient is not None and patient != before:
        _authorise(op, patient, None, resource, [*bundle, resource])
    if rtype == "Consent" and patient is not None:
        where = outranked_refusal(resource)
        if where is not None:
            raise PlanRuleViolation([issue5("IP-5112", where, "business-rule")])
        stored = op.context(patient)
        check_consent_competence(resource, _candidate(op, stored, [*bundle, resource], patient))
    return with_profiles(resource)


def check_delete(op: Operation, old: Resource) -> None:
    """Raise :class:`Forbidden` unless the stored ``old`` may be deleted."""
    _no_audit_event(str(old.get("resourceType")), None)
    for rule in op.enforcement.write_rules:  # old: stored and shown to the caller
        rule(old, None)
    patient = patient_of(old)
    if old.get("resourceType") in AUTHORITY_TYPES:
        _owner_of_every_plan(op, old)
    if patient is not None:
        _authorise(op, patient, old, None)


def _no_audit_event(rtype: str, old: Resource | None) -> None:
    if rtype == "AuditEvent" or (old or {}).get("resourceType") == "AuditEvent":
        raise Forbidden([issue5("IP-5102", "AuditEvent", "forbidden")])


def _refuse(
    op: Operation, patient: str, detail: str, message_id: str, where: str, **kw: Any
) -> None:
    op.refuse(patient, detail)
    op.complete()
    raise Forbidden([issue5(message_id, where, "forbidden", **kw)])


def _authorise(
    op: Operation,
    patient: str,
    old: Resource | None,
    new: Resource | None,
    bundle: list[Resource] | None = None,
) -> Resource | None:
    """May the actor turn ``old`` into ``new`` (either may be ``None``) for ``patient``?
    Returns the version to store (a member's changes carried into the stored version)."""
    rtype = str((new or old or {}).get("resourceType"))
    stored = op.context(patient)
    if not (stored.of_type("CarePlan") or stored.of_type("CareTeam")):
        if new is not None and rtype in ("CarePlan", "CareTeam"):
            candidate = _candidate(op, stored, bundle or [new], patient)
            if not op.actor.organisation or op.actor.organisation not in candidate.owner_orgnrs():
                _refuse(op, patient, "new plan names another owner", "IP-5104", rtype)
        return new
    access = op.access(patient)
    if access.basis in ("owner", "coordinator"):
        return new
    mine = actor_refs(stored, op.actor)
    if access.basis != "consent" or not any(r.startswith("CareTeam/") for r in mine):
        # refused, former and never members alike: one answer, the reason only in the audit
        refused = any(
            r.effect == "deny" and r.names_actor and r.labels is None for r in access.rules
        )
        why = "refused recipient" if refused else "caller outside the care team"
        _refuse(op, patient, f"write by a {why}", "IP-5101", rtype, rtype=rtype)
    seen = op.see(old, record=False).resource if old is not None else None
    if old is not None and new is not None and seen is not None:
        where, merged = member_merge(old, seen, new, mine)
    else:
        where, merged = member_change(seen, new, mine) or rtype, None
    if where is not None:
        _refuse(op, patient, f"write beyond a care-team member's part: {where}", "IP-5109", where)
    return merged


def _directory_change(op: Operation, old: Resource, new: Resource) -> None:
    changed = identity_change(old, new)
    if changed is not None:
        persons = _relying_persons(op, old)
        for patient in persons[:1]:
            op.refuse(patient, f"identity of {ref_of(old)} changed: {changed}")
        op.complete()
        what, rtype = changed, str(old.get("resourceType"))
        raise Forbidden([issue5("IP-5108", changed, "forbidden", what=what, rtype=rtype)])
    _owner_of_every_plan(op, old)


def _owner_of_every_plan(op: Operation, entry: Resource) -> None:
    rtype = str(entry.get("resourceType"))
    for patient in _relying_persons(op, entry):
        if op.access(patient).basis != "owner":
            detail = f"change of {ref_of(entry)}, which the plan relies on"
            _refuse(op, patient, detail, "IP-5110", rtype, rtype=rtype)


def _relying_persons(op: Operation, entry: Resource) -> list[str]:
    """Persons whose plan relies on the directory ``entry``: a CareTeam names it (or a role of
    it) as member, a Consent names it as actor or organisation (through the store's reference
    index), or it (or a role of it) owns a plan: ``CarePlan.author``,
    ``CareTeam.managingOrganization`` (:func:`_owned`)."""
    ref, rtype = ref_of(entry), str(entry.get("resourceType"))
    members = [ref]
    if rtype in ("Organization", "Practitioner"):
        param = "organization" if rtype == "Organization" else "practitioner"
        members += [ref_of(r) for r in _search(op, "PractitionerRole", param, [ref])]
    found = _search(op, "CareTeam", "participant", members)
    found += _search(op, "Consent", "actor", [ref])
    if rtype == "Organization":
        found += _search(op, "Consent", "organization", [ref])
    found += _owned(op, set(members))
    return sorted({p for r in found if (p := patient_of(r)) is not None})


def _owned(op: Operation, refs: set[str]) -> list[Resource]:
    """CarePlans whose ``author`` and CareTeams whose ``managingOrganization`` is one of
    ``refs``. Neither element has a search parameter (R4 defines none) and so no index: every
    current CarePlan and CareTeam is read and judged here. A directory entry is written rarely;
    a relying plan missed would let anyone rename or delete the entry its owner is known by."""
    out: list[Resource] = []
    for rtype, key in (("CarePlan", "author"), ("CareTeam", "managingOrganization")):
        for res in _search(op, rtype, None, []):
            if set(references_in(res.get(key))) & refs:
                out.append(res)
    return out


def _search(op: Operation, rtype: str, param: str | None, values: list[str]) -> list[Resource]:
    """Every current ``rtype`` whose ``param`` is one of ``values`` (every one without param)."""
    params = (SearchParam(param, tuple(values)),) if param is not None else ()
    query = SearchQuery(rtype, params, count=_PAGE)
    out: list[Resource] = []
    while True:
        page = op.enforcement.inner.search(query)
        out += page.matches
        if page.next_cursor is None or not page.matches:
            return out
        query = replace(query, cursor=page.next_cursor)


def _candidate(
    op: Operation, stored: PlanContext, written: list[Resource], patient: str
) -> PlanContext:
    """The person's plan as it would be after the write (parties it names read from the store)."""
    merged = dict(stored.resources)
    for res in written:
        if patient_of(res) == patient or res.get("resourceType") in PARTY_TYPES:
            merged[ref_of(res)] = res
    return PlanContext(patient, with_parties(op.enforcement.inner, merged))
