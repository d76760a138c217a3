"""Differentials of ip-plan-consent and ip-sharing-consent (content list item h, the two steps).

Step 1 (plan consent, «inngangsbilletten»): consent that the plan is made. Step 2 (sharing
consent, vedlegg 2): informed, time-bounded consent to exchange confidential information, never a
blank authorisation: it names who may receive (``provision.actor``, role IRCP) and carries the
person's refusals as nested ``deny`` provisions (topics, professional environments, individuals),
and the rules per recipient and per source: a nested ``permit`` naming recipients (IRCP) and the
topics they get; a nested ``deny`` naming recipients and topics, or the environments the
information comes from (actor role AUT, author).
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings import codes
from profilegen.elements import (
    URL_SLICING,
    Element,
    constraint,
    el,
    extension_slice,
    pattern_slicing,
    reference,
    required,
)

__all__ = ["plan_consent", "sharing_consent"]

SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
LOINC = "http://loinc.org"
IRCP = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_REVOKED = codes.ext_url("ip-consent-revoked")


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _common(scope: str, category: str, extensions: list[tuple[str, str]]) -> list[Element]:
    slices = [e for name, ext in extensions for e in extension_slice(
        "Consent.extension", name, ext, 0, "1")]  # fmt: skip
    return [
        el("Consent", constraint=[constraint(
            "ip-consent-1", "A withdrawn consent (status inactive) records when, and only it "
            "does (IP-1023).",
            f"(status = 'inactive') = extension('{_REVOKED}').exists()")]),
        el("Consent.extension", slicing=URL_SLICING),
        *slices,
        el("Consent.scope", patternCodeableConcept=_concept(SCOPE, scope)),
        el("Consent.category", slicing=pattern_slicing("LOINC 59284-0 and the IP consent type")),
        el("Consent.category:loinc", sliceName="loinc", min=1, max="1",
           patternCodeableConcept=_concept(LOINC, "59284-0")),
        el("Consent.category:ipConsentCategory", sliceName="ipConsentCategory", min=1, max="1",
           patternCodeableConcept=_concept(codes.cs_url("ip-consent-category"), category)),
        el("Consent.patient", min=1, type=reference("Patient")),
        el("Consent.dateTime", min=1),
        el("Consent.performer", min=1, short="Who gave the consent",
           type=reference("Patient", "RelatedPerson")),
        el("Consent.performer.extension", slicing=URL_SLICING),
        *extension_slice("Consent.performer.extension", "capacity", "ip-consent-capacity", 1, "1"),
        el("Consent.organization", min=1, max="1", type=reference("Organization")),
        el("Consent.policyRule", min=1, binding=required("ip-consent-domain")),
        el("Consent.provision", min=1),
        el("Consent.provision.type", min=1, fixedCode="permit"),
    ]  # fmt: skip


def plan_consent() -> list[Element]:
    extensions = [
        ("revoked", "ip-consent-revoked"),
        ("remarks", "ip-consent-remarks"),
        ("evidence", "ip-consent-evidence"),
        ("capacityLapse", "ip-capacity-lapse"),
    ]
    return _common("treatment", "plan-consent", extensions)


def _bounded() -> dict[str, Any]:
    return constraint(
        "ip-sharing-consent-1",
        "An active or withdrawn sharing consent is time-bounded: its provision has a period with "
        "start and end (IP-1022).",
        "(status = 'active' or status = 'inactive') implies "
        "(provision.period.start.exists() and provision.period.end.exists())",
    )


def sharing_consent() -> list[Element]:
    elements = _common("patient-privacy", "sharing-consent", [
        ("revoked", "ip-consent-revoked"), ("remarks", "ip-consent-remarks"),
        ("purpose", "ip-consent-purpose"), ("evidence", "ip-consent-evidence"),
        ("capacityLapse", "ip-capacity-lapse")])  # fmt: skip
    elements[0]["constraint"].append(_bounded())
    deny = "Consent.provision.provision"
    return [
        *elements,
        el("Consent.provision.period", min=1),
        el("Consent.provision.actor", min=1, short="Who may receive (no blank authorisation)"),
        el("Consent.provision.actor.role", patternCodeableConcept=_concept(IRCP, "IRCP")),
        el("Consent.provision.actor.reference",
           type=reference("Practitioner", "RelatedPerson", "Organization")),
        el(deny, short="A refusal (topics, professional environments, individuals) or a rule per "
                       "recipient or source",
           constraint=[constraint("ip-sharing-consent-2", "A refusal names topics or actors.",
                                  "securityLabel.exists() or actor.exists()"),
                       constraint("ip-sharing-consent-3",
                                  "A nested permit names recipients (IRCP) and the topics they "
                                  "get, and no source (IP-1027).",
                                  "type = 'permit' implies (securityLabel.exists() and "
                                  "actor.exists() and actor.role.coding.where(code != 'IRCP')"
                                  ".empty())")]),
        el(f"{deny}.type", min=1, short="deny: a refusal; permit: topics for named recipients"),
        el(f"{deny}.actor", constraint=[constraint(
            "ip-sharing-consent-4", "An actor of a nested provision is a recipient (IRCP) or the "
            "environment the information comes from (AUT).",
            f"role.coding.where(system = '{IRCP}' and (code = 'IRCP' or code = 'AUT')).exists()")]),
        el(f"{deny}.actor.role", short="IRCP: the recipient; AUT: the environment the "
                                       "information comes from"),
        el(f"{deny}.actor.reference",
           type=reference("Practitioner", "RelatedPerson", "Organization")),
        el(f"{deny}.securityLabel", binding=required("ip-information-topic")),
        el(f"{deny}.provision", max="0"),
    ]  # fmt: skip
