"""What the consent policy knows about one person's plan: a pure snapshot of FHIR resources.

A :class:`PlanContext` holds every resource tied to one Patient (the CarePlan, CareTeam, Goals,
Consents, RelatedPersons, the Patient itself) and the Practitioner, PractitionerRole and
Organization resources they reference, keyed ``"Type/id"``. It is loaded by the enforcement
mechanism (:mod:`adapter.consent.operation`) and kept across requests only while the store's
change stamps of the person and of the directory are unchanged (:mod:`adapter.consent.cache`), so
a revoked Consent takes effect on the very next request. A context is shared by the requests
that find it in the cache: nothing may change it or the resources it holds.

Also here: which resource belongs to which person (:func:`patient_of`), and who an
:class:`adapter.ports.Actor` is in this plan (:func:`actor_refs`, :func:`claimed_refs`).

Identity comes from the verified token only: an organisation is its organisasjonsnummer; a
practitioner is an HPR number *and* an organisation. The directory entries that carry these
identifiers cannot be changed to claim someone else's (:mod:`adapter.consent.authority`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ipfhir.adapter.fhir.person_ties import DIRECTORY_TYPES, PERSON_FIELDS
from ipfhir.adapter.fhir.references import patient_key
from ipfhir.adapter.ports import Actor
from ipfhir.mappings.codes import SYSTEM_9034, cs_url
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM

__all__ = [
    "COORDINATOR_CODES",
    "DIRECTORY_TYPES",
    "PARTY_TYPES",
    "PERSON_TYPES",
    "PlanContext",
    "actor_refs",
    "claimed_refs",
    "identifier_values",
    "patient_of",
    "ref_of",
    "references_in",
]

Resource = dict[str, Any]

# DIRECTORY_TYPES (the directory of providers: says nothing about a person on its own) and the
# fields that tie a resource to a person are adapter.fhir.person_ties, shared with the stamps.
PARTY_TYPES = frozenset({"Organization", "Practitioner", "PractitionerRole", "RelatedPerson"})
# Resources that are personal data of one person and must name that person (Patient/id): a
# relative (RelatedPerson) is personal data about someone else tied to the person's plan, never
# directory data; a Task (Task.for) and a Provenance (the Patient among Provenance.target, as
# the R4 Patient compartment has it) are the plan's work and its record of who changed what.
PERSON_TYPES = frozenset(
    {
        "Patient",
        "CarePlan",
        "CareTeam",
        "Goal",
        "Consent",
        "RelatedPerson",
        "Task",
        "Provenance",
    }
)
COORDINATOR_CODES = frozenset(
    {
        (SYSTEM_9034, "8"),
        (SYSTEM_9034, "18"),
        (cs_url("ip-coordinator-role"), "midlertidig-koordinator"),
        (cs_url("ip-coordinator-role"), "barnekoordinator"),
    }
)


def ref_of(resource: Mapping[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def _plain_ref(reference: str) -> str:
    """``Goal/x/_history/2`` and absolute URLs → ``Goal/x``."""
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else reference


def patient_of(resource: Mapping[str, Any]) -> str | None:
    """``Patient/id`` the resource is about, or ``None`` when it is tied to no person: the
    Patient itself; ``subject``, ``patient``, ``beneficiary`` or ``for`` (Task); the one
    Patient among a Provenance's targets; the Patient entity of an AuditEvent
    (:mod:`adapter.fhir.person_ties`, read by the change stamps too)."""
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        return ref_of(resource)
    for key in PERSON_FIELDS:
        value = resource.get(key)
        if isinstance(value, dict) and str(value.get("reference", "")).startswith("Patient/"):
            return patient_key(value["reference"])
    if rtype == "AuditEvent":
        for entity in resource.get("entity", []):
            ref = str(entity.get("what", {}).get("reference", ""))
            if ref.startswith("Patient/"):
                return patient_key(ref)
    if rtype == "Provenance":
        return _one_patient(resource.get("target"))
    return None


def _one_patient(targets: Any) -> str | None:
    """The one person a Provenance's targets name (``Patient/id``); ``None`` when they name no
    person or several (then it is nobody's: hidden from all and refused as a write)."""
    found = {
        patient_key(t["reference"])
        for t in (targets if isinstance(targets, list) else ())
        if isinstance(t, dict) and str(t.get("reference", "")).startswith("Patient/")
    }
    return found.pop() if len(found) == 1 else None


def references_in(value: Any) -> Iterator[str]:
    """Every ``reference`` string anywhere inside ``value`` (plain ``Type/id`` form)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if key == "reference" and isinstance(item, str):
                    if "/" in item:
                        yield _plain_ref(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(node, list):
            stack.extend(reversed(node))


def identifier_values(resource: Mapping[str, Any] | None, system: str) -> set[str]:
    if not resource:
        return set()
    return {
        str(i.get("value"))
        for i in resource.get("identifier", [])
        if i.get("system") == system and i.get("value")
    }


@dataclass(frozen=True)
class PlanContext:
    """Everything about one person's plan(s) the policy may look at."""

    patient: str  # "Patient/id"
    resources: Mapping[str, Resource] = field(default_factory=dict)

    @classmethod
    def of(cls, patient: str, resources: Iterable[Resource]) -> PlanContext:
        return cls(patient, {ref_of(r): r for r in resources})

    def of_type(self, rtype: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.get("resourceType") == rtype]

    def get(self, reference: str) -> Resource | None:
        return self.resources.get(_plain_ref(reference))

    def owner_orgnrs(self) -> set[str]:
        """organisasjonsnummer of the plan's owner (CarePlan.author, managingOrganization);
        found once per context (a context never changes; every decision asks)."""
        found: frozenset[str] | None = self.__dict__.get("_owners_found")
        if found is None:
            found = frozenset(self._owner_orgnrs())
            object.__setattr__(self, "_owners_found", found)
        return set(found)

    def _owner_orgnrs(self) -> set[str]:
        refs: list[str] = []
        for plan in self.of_type("CarePlan"):
            refs.append(str(plan.get("author", {}).get("reference", "")))
        for team in self.of_type("CareTeam"):
            refs += [str(m.get("reference", "")) for m in team.get("managingOrganization", [])]
        return set().union(*(identifier_values(self.get(r), ORGNR_SYSTEM) for r in refs if r))

    def coordinators(self, today: str) -> set[tuple[str, str]]:
        """(HPR number, organisasjonsnummer) of the coordinators whose assignment covers
        ``today`` (YYYY-MM-DD). A coordinator is a practitioner *at an organisation*: the
        CareTeam member must be a PractitionerRole naming both; a bare Practitioner (no
        organisation to hold the token's organisation against) coordinates nothing."""
        found: set[tuple[str, str]] = set()
        for team in self.of_type("CareTeam"):
            for part in team.get("participant", []):
                codes = {
                    (c.get("system"), c.get("code"))
                    for role in part.get("role", [])
                    for c in role.get("coding", [])
                }
                if codes & COORDINATOR_CODES and _covers(part.get("period"), today):
                    found |= self._identities_of(str(part.get("member", {}).get("reference", "")))
        return found

    def coordinator_hprs(self, today: str) -> set[str]:
        """HPR numbers of the coordinators in :meth:`coordinators`."""
        return {hpr for hpr, _org in self.coordinators(today)}

    def _identities_of(self, reference: str) -> set[tuple[str, str]]:
        role = self.get(reference)
        if role is None or role.get("resourceType") != "PractitionerRole":
            return set()
        practitioner = self.get(str(role.get("practitioner", {}).get("reference", "")))
        organisation = self.get(str(role.get("organization", {}).get("reference", "")))
        return {
            (hpr, orgnr)
            for hpr in identifier_values(practitioner, HPR_SYSTEM)
            for orgnr in identifier_values(organisation, ORGNR_SYSTEM)
        }


def _covers(period: Mapping[str, Any] | None, today: str) -> bool:
    if not period:
        return True
    start, end = str(period.get("start", ""))[:10], str(period.get("end", ""))[:10]
    return (not start or start <= today) and (not end or today <= end)


def actor_refs(ctx: PlanContext, actor: Actor) -> set[str]:
    """The references in this plan that *are* ``actor`` (what a permit or a membership needs):
    its Organization (the token's organisasjonsnummer), its Practitioner only together with a
    PractitionerRole of that practitioner at the token's organisation (an HPR number alone is
    not an identity: the same person acting for another organisation is someone else), those
    PractitionerRoles, and the CareTeams it is a member of."""
    return _refs(ctx, actor, strict=True)


def claimed_refs(ctx: PlanContext, actor: Actor) -> set[str]:
    """The references in this plan that ``actor`` *may be* (what a refusal needs): as
    :func:`actor_refs`, but a Practitioner and its roles by the HPR number alone, whatever
    organisation the token names. A superset of :func:`actor_refs`: the person's refusal of
    an individual follows that individual to every organisation."""
    return _refs(ctx, actor, strict=False)


def _refs(ctx: PlanContext, actor: Actor, *, strict: bool) -> set[str]:
    orgs = {
        ref
        for ref, res in ctx.resources.items()
        if res.get("resourceType") == "Organization"
        and actor.organisation
        and actor.organisation in identifier_values(res, ORGNR_SYSTEM)
    }
    pracs = {
        ref
        for ref, res in ctx.resources.items()
        if res.get("resourceType") == "Practitioner"
        and actor.practitioner
        and actor.practitioner in identifier_values(res, HPR_SYSTEM)
    }
    roles = {
        ref
        for ref, res in ctx.resources.items()
        if res.get("resourceType") == "PractitionerRole"
        and _role_is_actor(res, pracs, orgs, strict)
    }
    if strict:  # a practitioner is the actor only through a role at the token's organisation
        pracs = {
            _plain_ref(str(ctx.resources[r].get("practitioner", {}).get("reference")))
            for r in roles
        }
    found = orgs | pracs | roles
    for team in ctx.of_type("CareTeam"):
        members = {
            _plain_ref(str(p.get("member", {}).get("reference", "")))
            for p in team.get("participant", [])
        }
        if members & found:
            found.add(ref_of(team))
    return found


def _role_is_actor(role: Resource, pracs: set[str], orgs: set[str], strict: bool) -> bool:
    practitioner = _plain_ref(str(role.get("practitioner", {}).get("reference", "")))
    if practitioner not in pracs:
        return False
    if not strict:
        return True
    org = str(role.get("organization", {}).get("reference", ""))
    return bool(org) and _plain_ref(org) in orgs
