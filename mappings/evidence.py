"""Plan ⇄ FHIR: the records a coordinating unit keeps about consent and approval — evidence of
a consent (informed, place, received by whom in what capacity, the signed declaration as
``Consent.sourceAttachment``), the person's lack of capacity to consent, the approvals of the
plan text («er godkjent av»), the plan's legal bases and measures aimed at the parents.
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings import codes
from ipfhir.mappings.fhir_common import Json, ext, find_ext, period_from_fhir, period_to_fhir
from ipfhir.mappings.from_fhir_index import BundleIndex
from ipfhir.mappings.model import (
    Attachment,
    CapacityLapse,
    ConsentEvidence,
    Decision,
    PartyHolder,
    Plan,
)
from ipfhir.mappings.to_fhir_parties import party_reference

__all__ = [
    "approvals_from_fhir",
    "approvals_to_fhir",
    "attachment_from_fhir",
    "attachment_to_fhir",
    "consent_records_from_fhir",
    "consent_records_to_fhir",
    "decision_from_fhir",
    "decision_to_fhir",
    "legal_basis_to_fhir",
]


def attachment_to_fhir(doc: Attachment) -> Json:
    out: Json = {}
    if doc.content_type is not None:
        out["contentType"] = doc.content_type
    out["url"] = doc.url
    if doc.title is not None:
        out["title"] = doc.title
    if doc.created is not None:
        out["creation"] = doc.created.isoformat()
    return out


def attachment_from_fhir(doc: Json) -> Json:
    out: Json = {"url": doc.get("url")}
    for key, field in (("title", "title"), ("contentType", "content_type")):
        if key in doc:
            out[field] = doc[key]
    if "creation" in doc:
        out["created"] = str(doc["creation"])[:10]
    return out


def _sub(url: str, key: str, value: Any) -> list[Json]:
    return [] if value is None else [{"url": url, key: value}]


def legal_basis_to_fhir(plan: Plan) -> list[Json]:
    system = codes.cs_url("ip-legal-basis")
    return [
        ext("ip-legal-basis", "valueCoding", {"system": system, "code": c})
        for c in plan.legal_basis
    ]


def approvals_to_fhir(plan: Plan) -> list[Json]:
    out = []
    for a in plan.approvals:
        subs = [
            {"url": "party", "valueReference": party_reference(plan, a.party)},
            {"url": "capacity", "valueCode": a.capacity},
            {"url": "date", "valueDate": a.date.isoformat()},
            *_sub("place", "valueString", a.place),
        ]
        if a.document is not None:
            subs.append({"url": "document", "valueAttachment": attachment_to_fhir(a.document)})
        out.append({"url": codes.ext_url("ip-plan-approval"), "extension": subs})
    return out


def _subs(extension: Json) -> dict[str, Json]:
    return {str(s.get("url")): s for s in extension.get("extension", [])}


def approvals_from_fhir(index: BundleIndex, care_plan: Json) -> list[Json]:
    out = []
    for i, extension in enumerate(find_ext(care_plan, "ip-plan-approval")):
        subs = _subs(extension)
        where = f"CarePlan.extension:approval[{i}].extension:party"
        item: Json = {
            "party": index.party_id(subs.get("party", {}).get("valueReference"), where),
            "capacity": subs.get("capacity", {}).get("valueCode"),
            "date": subs.get("date", {}).get("valueDate"),
        }
        if "place" in subs:
            item["place"] = subs["place"].get("valueString")
        if "document" in subs:
            item["document"] = attachment_from_fhir(subs["document"].get("valueAttachment", {}))
        out.append(item)
    return out


def consent_records_to_fhir(
    plan: Plan, evidence: ConsentEvidence | None, lapse: CapacityLapse | None
) -> tuple[list[Json], Json | None]:
    """(extensions, sourceAttachment) of a Consent."""
    out: list[Json] = []
    if evidence is not None:
        by = party_reference(plan, evidence.obtained_by) if evidence.obtained_by else None
        subs = [
            {"url": "informed", "valueBoolean": evidence.informed},
            *_sub("place", "valueString", evidence.place),
            *_sub("obtainedBy", "valueReference", by),
            *_sub("obtainedAs", "valueString", evidence.obtained_as),
        ]
        out.append({"url": codes.ext_url("ip-consent-evidence"), "extension": subs})
    if lapse is not None:
        subs = [
            {"url": "period", "valuePeriod": period_to_fhir(lapse.period)},
            {"url": "assessedBy", "valueReference": party_reference(plan, lapse.assessed_by)},
            {"url": "description", "valueString": lapse.description},
        ]
        out.append({"url": codes.ext_url("ip-capacity-lapse"), "extension": subs})
    doc = evidence.document if evidence is not None else None
    return out, (attachment_to_fhir(doc) if doc is not None else None)


def consent_records_from_fhir(index: BundleIndex, consent: Json, path: str) -> Json:
    """``evidence`` and ``capacity_lapse`` of a Consent's plan JSON (only those present)."""
    out: Json = {}
    found = find_ext(consent, "ip-consent-evidence")
    if found:
        subs = _subs(found[0])
        evidence: Json = {"informed": subs.get("informed", {}).get("valueBoolean")}
        if "place" in subs:
            evidence["place"] = subs["place"].get("valueString")
        if "obtainedBy" in subs:
            ref = subs["obtainedBy"].get("valueReference")
            evidence["obtained_by"] = index.party_id(ref, f"{path}.extension:evidence")
        if "obtainedAs" in subs:
            evidence["obtained_as"] = subs["obtainedAs"].get("valueString")
        if "sourceAttachment" in consent:
            evidence["document"] = attachment_from_fhir(consent["sourceAttachment"])
        out["evidence"] = evidence
    found = find_ext(consent, "ip-capacity-lapse")
    if found:
        subs = _subs(found[0])
        ref = subs.get("assessedBy", {}).get("valueReference")
        out["capacity_lapse"] = {
            "period": period_from_fhir(subs.get("period", {}).get("valuePeriod")),
            "assessed_by": index.party_id(ref, f"{path}.extension:capacityLapse"),
            "description": subs.get("description", {}).get("valueString"),
        }
    return out


def decision_to_fhir(plan: PartyHolder, decision: Decision) -> Json:
    subs = [
        {"url": "reference", "valueString": decision.reference},
        {"url": "date", "valueDate": decision.date.isoformat()},
        {"url": "decidedBy", "valueReference": party_reference(plan, decision.decided_by)},
    ]
    return {"url": codes.ext_url("ip-decision"), "extension": subs}


def decision_from_fhir(
    index: BundleIndex, detail: Json, path: str, *, on_detail: bool = True
) -> Json | None:
    """The decision on ``detail`` (a measure's ``activity.detail`` at ``path``, or with
    ``on_detail=False`` the element at ``path`` itself: an assignment's CareTeam)."""
    found = find_ext(detail, "ip-decision")
    if not found:
        return None
    subs = _subs(found[0])
    ref = subs.get("decidedBy", {}).get("valueReference")
    at = f"{path}.detail" if on_detail else path
    return {
        "reference": subs.get("reference", {}).get("valueString"),
        "date": subs.get("date", {}).get("valueDate"),
        "decided_by": index.party_id(ref, f"{at}.extension:decision"),
    }
