"""Plan → FHIR: the two consents of item h (plan consent and scoped sharing consent)."""

from __future__ import annotations

from ipfhir.mappings import codes
from ipfhir.mappings.evidence import consent_records_to_fhir
from ipfhir.mappings.fhir_common import Json, ext, patient_id, period_to_fhir, ref, scoped_id
from ipfhir.mappings.free_text import text_extension
from ipfhir.mappings.model import Plan, PlanConsent, SharingConsent, SharingRule
from ipfhir.mappings.to_fhir_parties import party_reference, practitioner_reference

__all__ = ["AUTHOR", "IRCP", "LOINC_CONSENT", "consent_resource"]

LOINC_CONSENT = {"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}
IRCP = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "code": "IRCP",
            "display": "information recipient",
        }
    ]
}
# the environment information comes from («fra nærmere bestemte fagmiljø», vedlegg 2)
AUTHOR = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
            "code": "AUT",
            "display": "author (originator)",
        }
    ]
}
_SCOPE = {
    "plan-consent": ("treatment", "Treatment"),
    "sharing-consent": ("patient-privacy", "Privacy Consent"),
}


def consent_resource(plan: Plan, consent: PlanConsent | SharingConsent) -> Json:
    kind = "sharing-consent" if isinstance(consent, SharingConsent) else "plan-consent"
    scope_code, scope_display = _SCOPE[kind]
    resource: Json = {
        "resourceType": "Consent",
        "id": scoped_id(plan.id, consent.id),
        "meta": {"profile": [codes.profile_url(f"ip-{kind}")]},
    }
    records, document = consent_records_to_fhir(plan, consent.evidence, consent.capacity_lapse)
    extensions = _extensions(consent) + records
    if extensions:
        resource["extension"] = extensions
    resource.update(
        {
            "status": consent.status,
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": scope_code,
                        "display": scope_display,
                    }
                ]
            },
            "category": [
                {"coding": [dict(LOINC_CONSENT)]},
                {"coding": [{"system": codes.cs_url("ip-consent-category"), "code": kind}]},
            ],
            "patient": ref("Patient", patient_id(plan.id)),
            "dateTime": consent.date.isoformat(),
            "performer": [_performer(plan, g.party, g.capacity) for g in consent.given_by],
            "organization": [party_reference(plan, plan.responsible_organisation)],
            "policyRule": {
                "coding": [{"system": codes.cs_url("ip-consent-domain"), "code": consent.domain}]
            },
        }
    )
    if document is not None:
        resource["sourceAttachment"] = document
    resource["provision"] = _provision(plan, consent)
    return resource


def _extensions(consent: PlanConsent | SharingConsent) -> list[Json]:
    out = []
    if consent.revoked_on is not None:
        out.append(ext("ip-consent-revoked", "valueDate", consent.revoked_on.isoformat()))
    if consent.remarks is not None:
        out.append(text_extension(codes.ext_url("ip-consent-remarks"), consent.remarks))
    if isinstance(consent, SharingConsent) and consent.purpose is not None:
        out.append(ext("ip-consent-purpose", "valueString", consent.purpose))
    return out


def _performer(plan: Plan, party_id: str, capacity: str) -> Json:
    reference = party_reference(plan, party_id)
    return {"extension": [ext("ip-consent-capacity", "valueCode", capacity)], **reference}


def _actor(reference: Json) -> Json:
    return {"role": IRCP, "reference": reference}


def _individual(plan: Plan, party_id: str) -> Json:
    return practitioner_reference(plan, party_id)


def _provision(plan: Plan, consent: PlanConsent | SharingConsent) -> Json:
    provision: Json = {"type": "permit"}
    period = period_to_fhir(consent.period)
    if period:
        provision["period"] = period
    if not isinstance(consent, SharingConsent):
        return provision
    if consent.permitted_recipients:
        provision["actor"] = [_actor(_individual(plan, p)) for p in consent.permitted_recipients]
    denials: list[Json] = []
    if consent.refused_topics:
        labels = [
            {"system": codes.cs_url("ip-information-topic"), "code": t}
            for t in consent.refused_topics
        ]
        denials.append({"type": "deny", "securityLabel": labels})
    if consent.refused_environments:
        actors = [_actor(party_reference(plan, p)) for p in consent.refused_environments]
        denials.append({"type": "deny", "actor": actors})
    if consent.refused_individuals:
        actors = [_actor(_individual(plan, p)) for p in consent.refused_individuals]
        denials.append({"type": "deny", "actor": actors})
    denials += [_rule(plan, rule) for rule in consent.rules]
    if denials:
        provision["provision"] = denials
    return provision


def _rule(plan: Plan, rule: SharingRule) -> Json:
    """A rule per recipient or per source: a nested provision of its effect."""
    node: Json = {"type": rule.effect}
    actors = [_actor(_individual(plan, p)) for p in rule.recipients]
    actors += [{"role": AUTHOR, "reference": party_reference(plan, p)} for p in rule.sources]
    if actors:
        node["actor"] = actors
    if rule.topics:
        topic = codes.cs_url("ip-information-topic")
        node["securityLabel"] = [{"system": topic, "code": t} for t in rule.topics]
    return node
