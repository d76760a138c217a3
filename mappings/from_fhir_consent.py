"""FHIR → plan: plan consent and sharing consent (inverse of :mod:`mappings.to_fhir_consent`)."""

from __future__ import annotations

from typing import Any

from ipfhir.mappings import codes
from ipfhir.mappings.evidence import consent_records_from_fhir
from ipfhir.mappings.fhir_common import Json, ext_values, find_ext, period_from_fhir
from ipfhir.mappings.free_text import free_text_of_extension
from ipfhir.mappings.from_fhir_index import BundleIndex

__all__ = ["consent_from_fhir"]


def consent_from_fhir(index: BundleIndex, consent: Json, path: str) -> tuple[str, Json]:
    """(``plan_consent`` or ``sharing_consent``, its plan JSON)."""
    kinds = [
        c.get("code")
        for cat in consent.get("category", [])
        for c in cat.get("coding", [])
        if c.get("system") == codes.cs_url("ip-consent-category")
    ]
    kind = kinds[0] if kinds else "plan-consent"
    domain = [c.get("code") for c in consent.get("policyRule", {}).get("coding", [])]
    provision = consent.get("provision", {})
    out: dict[str, Any] = {
        "id": index.local_id(consent, path),
        "status": consent.get("status"),
        "date": str(consent.get("dateTime", ""))[:10] or None,
        "given_by": [
            _giver(index, p, f"{path}.performer[{i}]")
            for i, p in enumerate(consent.get("performer", []))
        ],
        "domain": domain[0] if domain else None,
        "period": period_from_fhir(provision.get("period")),
    }
    revoked = ext_values(consent, "ip-consent-revoked", "valueDate")
    if revoked:
        out["revoked_on"] = revoked[0]
    remarks = find_ext(consent, "ip-consent-remarks")
    if remarks:
        out["remarks"] = free_text_of_extension(remarks[0])
    out.update(consent_records_from_fhir(index, consent, path))
    if kind != "sharing-consent":
        return "plan_consent", {k: v for k, v in out.items() if v is not None}
    purpose = ext_values(consent, "ip-consent-purpose", "valueString")
    if purpose:
        out["purpose"] = purpose[0]
    out["permitted_recipients"] = [
        index.party_id(a.get("reference"), f"{path}.provision.actor[{i}]")
        for i, a in enumerate(provision.get("actor", []))
    ]
    out.update(_denials(index, provision.get("provision", []), path))
    return "sharing_consent", {k: v for k, v in out.items() if v is not None}


def _giver(index: BundleIndex, performer: Json, path: str) -> Json:
    capacity = ext_values(performer, "ip-consent-capacity", "valueCode")
    return {"party": index.party_id(performer, path), "capacity": capacity[0] if capacity else None}


def _is_refusal(provision: Json) -> bool:
    """A plan-wide refusal of topics, or of recipients outright (the other nested provisions
    are rules per recipient or per source; model rule IP-1027 keeps the two apart)."""
    labels, actors = provision.get("securityLabel"), provision.get("actor", [])
    roles = {c.get("code") for a in actors for c in a.get("role", {}).get("coding", [])}
    return provision.get("type") == "deny" and (
        (bool(labels) and not actors) or (not labels and bool(actors) and roles <= {"IRCP"})
    )


def _rule(index: BundleIndex, provision: Json, where: str) -> Json:
    out: Json = {"effect": provision.get("type"), "recipients": [], "sources": []}
    for j, actor in enumerate(provision.get("actor", [])):
        roles = {c.get("code") for c in actor.get("role", {}).get("coding", [])}
        key = "sources" if "AUT" in roles else "recipients"
        out[key].append(index.party_id(actor.get("reference"), f"{where}.actor[{j}]"))
    out["topics"] = [c.get("code") for c in provision.get("securityLabel", [])]
    return out


def _denials(index: BundleIndex, provisions: list[Json], path: str) -> Json:
    topics: list[str] = []
    environments: list[str] = []
    individuals: list[str] = []
    rules: list[Json] = []
    for i, provision in enumerate(provisions):
        if not _is_refusal(provision):
            rules.append(_rule(index, provision, f"{path}.provision.provision[{i}]"))
            continue
        topics += [c.get("code") for c in provision.get("securityLabel", [])]
        for j, actor in enumerate(provision.get("actor", [])):
            where = f"{path}.provision.provision[{i}].actor[{j}]"
            target = index.resolve(actor.get("reference"), where)
            bucket = environments if target["resourceType"] == "Organization" else individuals
            bucket.append(index.party_id(actor.get("reference"), where))
    return {
        "refused_topics": topics,
        "refused_environments": environments,
        "refused_individuals": individuals,
        "rules": rules,
    }
