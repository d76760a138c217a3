"""Domain rules the server enforces: what an individual plan is, what may be deleted."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.fhir.references import patient_key
from ipfhir.mappings.codes import IP_PLAN_CODE, SYSTEM_9602, profile_url

__all__ = [
    "DELETABLE_TYPES",
    "IP_PROFILES",
    "READ_ONLY_TYPES",
    "active_plan_subject",
    "is_individual_plan",
]

IP_PROFILES: dict[str, tuple[str, ...]] = {
    "CarePlan": (profile_url("ip-careplan"),),
    "CareTeam": (profile_url("ip-careteam"),),
    "Goal": (profile_url("ip-goal"),),
    "Consent": (profile_url("ip-plan-consent"), profile_url("ip-sharing-consent")),
}

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
                and coding.get("system") == SYSTEM_9602
                and coding.get("code") == IP_PLAN_CODE
            ):
                return True
    return False


def active_plan_subject(resource: dict[str, Any]) -> str | None:
    """The Patient id an active individual plan belongs to, or ``None`` if not an active IP."""
    if resource.get("status") != "active" or not is_individual_plan(resource):
        return None
    key = patient_key((resource.get("subject") or {}).get("reference"))
    return key.removeprefix("Patient/") if key else None
