"""Who may give a FHIR Consent (samtykkekompetanse): the rules of :mod:`mappings.competence`,
applied to a Consent resource by mapping its performers to the plan model's consent givers.

Performer ``Patient`` → the person (capacity from ``ext:ip-consent-capacity``, default self);
``RelatedPerson`` → a relative (``ext:ip-parental-responsibility``) or, with relationship GUARD,
a guardian with ``ext:ip-guardian-mandate``; one coded ``ip-participant-role#stotteperson`` (a
support person: likemann, rådgiver, venn) is a support person whatever else it is coded as, and
the model refuses every capacity for it (IP-1026 → IP-5206): a support person never consents.
Issues come back with IP-52xx ids and FHIRPath expressions into the Consent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ipfhir.adapter.consent.context import PlanContext, patient_of
from ipfhir.adapter.security_errors import issue5
from ipfhir.mappings.codes import cs_url, ext_url
from ipfhir.mappings.competence import consent_competence_issues
from ipfhir.mappings.errors import Issue, PlanRuleViolation
from ipfhir.mappings.model import (
    PERSON,
    CapacityLapse,
    ConsentGiver,
    GuardianMandate,
    Identifier,
    Party,
    Period,
    Person,
    Plan,
    PlanConsent,
)

__all__ = ["check_consent_competence"]

Resource = dict[str, Any]
_CAPACITY = ext_url("ip-consent-capacity")
_PARENTAL = ext_url("ip-parental-responsibility")
_MANDATE = ext_url("ip-guardian-mandate")
_LAPSE = ext_url("ip-capacity-lapse")
_DOMAIN = cs_url("ip-consent-domain")
_SUPPORT = "stotteperson"  # ip-participant-role; also matched under any other system
_IDS = {"IP-1024": "IP-5204", "IP-1025": "IP-5205", "IP-1026": "IP-5206"}


def _ext(element: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in element.get("extension", []) if e.get("url") == url), None)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _mandate(related: Resource) -> GuardianMandate | None:
    ext = _ext(related, _MANDATE)
    if ext is None:
        return None
    subs = ext.get("extension", [])
    covers = [s["valueCode"] for s in subs if s.get("url") == "covers" and "valueCode" in s]
    period: dict[str, Any] = next(
        (s.get("valuePeriod", {}) for s in subs if s.get("url") == "period"), {}
    )
    text = next((s.get("valueString") for s in subs if s.get("url") == "description"), None)
    return GuardianMandate(
        description=text or "-",
        covers=covers or ["health-and-care"],
        period=Period(start=_date(period.get("start")), end=_date(period.get("end"))),
    )


def _lapse(consent: Resource) -> CapacityLapse | None:
    """The person's lack of capacity recorded on the Consent (``ext:ip-capacity-lapse``)."""
    ext = _ext(consent, _LAPSE)
    if ext is None:
        return None
    subs = {s.get("url"): s for s in ext.get("extension", [])}
    period = subs.get("period", {}).get("valuePeriod", {})
    return CapacityLapse(
        period=Period(start=_date(period.get("start")), end=_date(period.get("end"))),
        assessed_by="assessor",  # who assessed it does not change who may consent
        description=str(subs.get("description", {}).get("valueString") or "-"),
    )


def _party(index: int, related: Resource) -> Party:
    codes = {c.get("code") for r in related.get("relationship", []) for c in r.get("coding", [])}
    if _SUPPORT in codes:  # deny beats permit: a support person also coded GUARD stays one
        return Party(id=f"p{index}", kind="support-person")
    if "GUARD" in codes:
        return Party(id=f"p{index}", kind="guardian", mandate=_mandate(related))
    parental = bool((_ext(related, _PARENTAL) or {}).get("valueBoolean"))
    return Party(id=f"p{index}", kind="relative", parental_responsibility=parental)


def _givers(consent: Resource, ctx: PlanContext) -> tuple[list[ConsentGiver], list[Party]]:
    givers: list[ConsentGiver] = []
    parties: list[Party] = []
    for index, ref in enumerate(consent.get("performer", [])):
        target = str(ref.get("reference", ""))
        capacity = (_ext(ref, _CAPACITY) or {}).get("valueCode", "self")
        if target == ctx.patient:
            givers.append(ConsentGiver(party=PERSON, capacity=capacity))
            continue
        related = ctx.get(target)
        if (
            related is None
            or related.get("resourceType") != "RelatedPerson"
            or patient_of(related) != ctx.patient  # someone else's relative decides nothing here
        ):
            raise PlanRuleViolation(
                [issue5("IP-5203", f"Consent.performer[{index}]", "business-rule", ref=target)]
            )
        parties.append(_party(index, related))
        givers.append(ConsentGiver(party=f"p{index}", capacity=capacity))
    return givers, parties


def check_consent_competence(consent: Resource, ctx: PlanContext) -> None:
    """Raise :class:`PlanRuleViolation` when the Consent's givers may not give it."""
    if consent.get("status") not in ("active", "inactive", "rejected"):
        return  # a draft or proposal is nobody's consent yet
    born = _date((ctx.get(ctx.patient) or {}).get("birthDate"))
    if born is None:
        raise PlanRuleViolation(
            [issue5("IP-5202", "Consent.patient", "business-rule", patient=ctx.patient)]
        )
    givers, parties = _givers(consent, ctx)
    if not givers:
        return  # performer is required by the profile; the validator reports it
    domains = {
        c.get("code")
        for c in consent.get("policyRule", {}).get("coding", [])
        if c.get("system") == _DOMAIN
    }
    given = _date(consent.get("dateTime")) or dt.date.today()
    plan = Plan(
        id="consent-check",
        status="draft",
        created=given,
        person=Person(
            identifier=Identifier(system="fnr", value="0"), given="-", family="-", birth_date=born
        ),
        responsible_organisation="owner",
        parties=parties,
        period=Period(),
        plan_consent=PlanConsent(
            id="c",
            status=consent["status"],
            date=given,
            given_by=givers,
            domain="child-welfare" if "child-welfare" in domains else "health-and-care",
            capacity_lapse=_lapse(consent),
        ),
    )
    issues = [_translate(i) for i in consent_competence_issues(plan)]
    if issues:
        raise PlanRuleViolation(issues)


def _translate(found: Issue) -> Issue:
    where = found.expression[0] if found.expression else ""
    tail = where.split("given_by", 1)[-1]  # "[0]" or ""
    expression = "Consent.performer" + tail
    return Issue(_IDS.get(found.message_id, "IP-5204"), found.text, (expression,), "business-rule")
