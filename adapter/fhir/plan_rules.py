"""Domain rules the server enforces: what an individual plan is, what may be deleted."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.fhir.references import patient_key

__all__ = [
    "CANONICAL_BASE",
    "DELETABLE_TYPES",
    "IP_CATEGORY_CODE",
    "IP_CATEGORY_SYSTEM",
    "IP_PROFILES",
    "READ_ONLY_TYPES",
    "active_plan_subject",
    "is_individual_plan",
]

CANONICAL_BASE = "https://ip-fhir-adapter.no/fhir"
IP_PROFILES: dict[str, tuple[str, ...]] = {
    "CarePlan": (f"{CANONICAL_BASE}/StructureDefinition/ip-careplan",),
    "CareTeam": (f"{CANONICAL_BASE}/StructureDefinition/ip-careteam",),
    "Goal": (f"{CANONICAL_BASE}/StructureDefinition/ip-goal",),
    "Consent": (
        f"{CANONICAL_BASE}/StructureDefinition/ip-plan-consent",
        f"{CANONICAL_BASE}/StructureDefinition/ip-sharing-consent",
    ),
}
IP_CATEGORY_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.9602"
IP_CATEGORY_CODE = "A02-2"

# A plan is revised, never deleted (its status changes); the plan's parts, consents (revoked by
# status), the person, provenance and audit trail are kept too. Directory-like resources and
# tasks may be deleted; the deletion is itself a version in the history.
DELETABLE_TYPES = frozenset(
    {"Task", "Endpoint", "Practitioner", "PractitionerRole", "Organization", "RelatedPerson"}
)
# Written by the server only (audit trail), never by clients.
READ_ONLY_TYPES = frozenset({"AuditEvent"})


def is_individual_plan(resource: dict[str, Any]) -> bool:
    """A CarePlan with category 9602#A02-2 (individuell plan)."""
    if resource.get("resourceType") != "CarePlan":
        return False
    for concept in resource.get("category") or ():
        for coding in concept.get("coding") or () if isinstance(concept, dict) else ():
            if (
                isinstance(coding, dict)
                and coding.get("system") == IP_CATEGORY_SYSTEM
                and coding.get("code") == IP_CATEGORY_CODE
            ):
                return True
    return False


def active_plan_subject(resource: dict[str, Any]) -> str | None:
    """The Patient id an active individual plan belongs to, or ``None`` if not an active IP."""
    if resource.get("status") != "active" or not is_individual_plan(resource):
        return None
    key = patient_key((resource.get("subject") or {}).get("reference"))
    return key.removeprefix("Patient/") if key else None
