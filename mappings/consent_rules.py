"""Rules on the sharing consent's per-recipient and per-source rules (IP-1027, IP-1028, with
IP-1002 / IP-1003 for references and IP-1040 for codes).

IP-1027: a rule says whom or what it is about — a permit names recipients and topics (and no
source: an environment is refused, never permitted); a refusal names recipients and topics, or
the environments the information comes from. (A refusal of a topic for everyone, or of a
recipient outright, is ``refused_topics`` / ``refused_environments`` / ``refused_individuals``;
one form per meaning keeps the FHIR mapping lossless.)
IP-1028: a recipient given topics must be a permitted recipient (else it would get the topics
without the plan they belong to).

Consent validity (the plan consent is the «inngangsbillett»: no plan without it):
IP-1041: the plan consent was given after the time it covers began (its period start, else the
plan's start) — the plan ran without consent. A renewal (at 16, at a revision) covers from the
day it is given.
IP-1042: an active plan whose plan consent expires before the plan ends (or the plan has no end):
the plan would stay active on an expired consent.
IP-1043: a sharing consent still active after the plan consent was withdrawn — no information is
shared for a plan the person withdrew from (status, or a withdrawal dated later).
IP-1044: child welfare, the young person 15 or older: when a measure is aimed at the parents too,
the parents (with parental responsibility) consent to the plan as well (seed
000_9834cdca9ff16a63.txt).
"""

from __future__ import annotations

from collections.abc import Iterator

from ipfhir.mappings import codes
from ipfhir.mappings.competence import AGE_OF_CONSENT, age_on
from ipfhir.mappings.errors import Issue
from ipfhir.mappings.link_rules import check_reference
from ipfhir.mappings.model import PERSON, Plan, SharingRule

__all__ = [
    "CONSENT_RULE_MESSAGES",
    "consent_validity_issues",
    "record_issues",
    "sharing_rule_issues",
]

CONSENT_RULE_MESSAGES = {
    "IP-1027": "A sharing rule must say whom or what it is about.",
    "IP-1028": "A recipient given topics must be a permitted recipient of the sharing consent.",
    "IP-1041": "The plan consent is given before the time it covers (no plan without it).",
    "IP-1042": "An active plan's consent lasts as long as the plan.",
    "IP-1043": "A sharing consent ends when the plan consent is withdrawn.",
    "IP-1044": "Child welfare from 15: a plan with measures aimed at the parents needs their "
    "consent too.",
}
_GIVEN = ("active", "inactive")  # a consent the person gave (in force or withdrawn since)
_INDIVIDUALS = {"relative", "guardian", "support-person", "practitioner"}


def _issue(mid: str, path: str, detail: str, code: str = "business-rule") -> Issue:
    text = CONSENT_RULE_MESSAGES.get(mid, "")
    return Issue(mid, f"{text} {detail}".strip(), (path,), code)


def _shape(rule: SharingRule) -> str | None:
    if rule.effect == "permit":
        if rule.sources:
            return "A permit names no source environment."
        if not (rule.recipients and rule.topics):
            return "A permit names recipients and the topics they get."
    elif not rule.sources and not (rule.recipients and rule.topics):
        return "A refusal names recipients and topics, or the environments it is about."
    return None


def sharing_rule_issues(plan: Plan) -> Iterator[Issue]:
    sc = plan.sharing_consent
    if sc is None:
        return
    kinds = {p.id: p.kind for p in plan.parties} | {PERSON: "person"}
    for i, rule in enumerate(sc.rules):
        at = f"sharing_consent.rules[{i}]"
        problem = _shape(rule)
        if problem is not None:
            yield _issue("IP-1027", at, problem)
        for j, party in enumerate(rule.recipients):
            yield from check_reference(
                f"{at}.recipients[{j}]", party, kinds, _INDIVIDUALS | {"organisation"}
            )
            if rule.effect == "permit" and party not in sc.permitted_recipients:
                yield _issue("IP-1028", f"{at}.recipients[{j}]", f"'{party}'")
        for j, party in enumerate(rule.sources):
            yield from check_reference(f"{at}.sources[{j}]", party, kinds, {"organisation"})
        for j, topic in enumerate(rule.topics):
            if topic not in codes.INFORMATION_TOPIC:
                yield Issue(
                    "IP-1040",
                    f"A code is not in its code system. '{topic}'",
                    (f"{at}.topics[{j}]",),
                    "code-invalid",
                )


def consent_validity_issues(plan: Plan) -> Iterator[Issue]:
    pc, sc = plan.plan_consent, plan.sharing_consent
    start = pc.period.start or plan.period.start
    if pc.status in _GIVEN and start is not None and pc.date > start:
        yield _issue("IP-1041", "plan_consent.date", f"Given {pc.date}, it covers from {start}.")
    end = pc.period.end
    in_force = plan.status == "active" and pc.status == "active"
    if in_force and end is not None and (plan.period.end is None or end < plan.period.end):
        until = plan.period.end or "no end"
        yield _issue("IP-1042", "plan_consent.period.end", f"It ends {end}, the plan {until}.")
    yield from _parents_for_measures(plan)
    if sc is None or pc.status != "inactive" or pc.revoked_on is None:
        return
    if sc.status == "active":
        yield _issue(
            "IP-1043", "sharing_consent.status", f"The plan consent was withdrawn {pc.revoked_on}."
        )
    elif sc.status == "inactive" and sc.revoked_on is not None and sc.revoked_on > pc.revoked_on:
        yield _issue(
            "IP-1043",
            "sharing_consent.revoked_on",
            f"Withdrawn {sc.revoked_on}, after the plan consent ({pc.revoked_on}).",
        )


def _parents_for_measures(plan: Plan) -> Iterator[Issue]:
    pc = plan.plan_consent
    if pc.domain != "child-welfare" or pc.status not in _GIVEN:
        return
    aimed = [i for i, m in enumerate(plan.measures) if m.aimed_at_parents]
    if not aimed or age_on(plan.person.birth_date, pc.date) < AGE_OF_CONSENT["child-welfare"]:
        return
    parents = [g for g in pc.given_by if g.capacity == "parent"]
    if not parents:
        yield _issue(
            "IP-1044",
            "plan_consent.given_by",
            f"measures[{aimed[0]}] is aimed at the parents; they have not consented.",
        )


def record_issues(plan: Plan) -> Iterator[Issue]:
    """References and codes of the records: approvals, consent evidence, capacity lapse, legal
    bases (IP-1002, IP-1003, IP-1040)."""
    kinds = {p.id: p.kind for p in plan.parties} | {PERSON: "person"}
    givers = {"person", "relative", "guardian"}
    for i, approval in enumerate(plan.approvals):
        yield from check_reference(f"approvals[{i}].party", approval.party, kinds, givers)
    for name in ("plan_consent", "sharing_consent"):
        consent = getattr(plan, name)
        if consent is None:
            continue
        if consent.evidence is not None and consent.evidence.obtained_by is not None:
            at = f"{name}.evidence.obtained_by"
            yield from check_reference(at, consent.evidence.obtained_by, kinds, {"practitioner"})
        if consent.capacity_lapse is not None:
            at = f"{name}.capacity_lapse.assessed_by"
            yield from check_reference(
                at, consent.capacity_lapse.assessed_by, kinds, {"practitioner"}
            )
    for i, code in enumerate(plan.legal_basis):
        if code not in codes.LEGAL_BASIS:
            yield Issue(
                "IP-1040",
                f"A code is not in its code system. '{code}'",
                (f"legal_basis[{i}]",),
                "code-invalid",
            )
