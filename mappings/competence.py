"""Who may give consent (samtykkekompetanse) — shared/domain § 5, seeds
000_9834cdca9ff16a63.txt and 002_f60a41b6bd550ea2.txt § 4.3.

- Health and care: from 16 the person consents; under 16, parents or others with parental
  responsibility (pasient- og brukerrettighetsloven § 4-3, § 4-4).
- Child welfare: from 15 the person consents; under 15, the parents.
- A guardian (verge/hjelpeverge) may consent within the mandate.
A child under the age limit may take part in giving consent, but cannot consent alone; parents
have no say in an adult's consent.
- Capacity may lapse (serious cognitive impairment; ``capacity_lapse`` on the consent covering
  its date): the person then cannot consent (``self``); the nearest relative takes part
  (``nearest-relative``, a relative), or a guardian within the mandate, or — under 18 — the
  parents (seed 000_9834cdca9ff16a63.txt: «Samtykkekompetansen for barn over 16 år kan helt
  eller delvis bortfalle»).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Set

from ipfhir.mappings.errors import Issue
from ipfhir.mappings.model import PERSON, ConsentGiver, Plan, PlanConsent, SharingConsent

__all__ = ["AGE_OF_CONSENT", "age_on", "consent_competence_issues"]

AGE_OF_CONSENT = {"health-and-care": 16, "child-welfare": 15}
_CHECKED = ("active", "inactive", "rejected")  # a draft or proposal is not yet anybody's consent
_DOMAIN_TEXT = {"health-and-care": "health and care", "child-welfare": "child welfare"}


def age_on(born: dt.date, day: dt.date) -> int:
    """Whole years between ``born`` and ``day``."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _issue(mid: str, path: str, text: str) -> Issue:
    return Issue(mid, text, (path,), "business-rule")


def consent_competence_issues(plan: Plan) -> Iterator[Issue]:
    consents: list[tuple[str, PlanConsent | SharingConsent | None]] = [
        ("plan_consent", plan.plan_consent),
        ("sharing_consent", plan.sharing_consent),
    ]
    for name, consent in consents:
        if consent is not None and consent.status in _CHECKED:
            yield from _consent_issues(plan, name, consent)


def _consent_issues(
    plan: Plan, name: str, consent: PlanConsent | SharingConsent
) -> Iterator[Issue]:
    age = age_on(plan.person.birth_date, consent.date)
    limit = AGE_OF_CONSENT[consent.domain]
    valid: list[ConsentGiver] = []
    for index, giver in enumerate(consent.given_by):
        problem = _capacity_problem(plan, consent, giver, age)
        if problem is None:
            valid.append(giver)
        else:
            mid, text = problem
            yield _issue(mid, f"{name}.given_by[{index}]", text)
    capacities = {g.capacity for g in valid}
    if _lacks_capacity(consent):
        yield from _lapsed_issues(name, consent, capacities, age)
        return
    domain = _DOMAIN_TEXT[consent.domain]
    if age >= limit and not capacities & {"self", "guardian"}:
        yield _issue(
            "IP-1024",
            f"{name}.given_by",
            f"The person is {age}: from {limit} the person consents in {domain} "
            "(or a guardian within the mandate).",
        )
    if age < limit and not capacities & {"parent", "guardian"}:
        yield _issue(
            "IP-1024",
            f"{name}.given_by",
            f"The person is {age}: under {limit} a {age}-year-old cannot consent alone "
            f"in {domain}; "
            "parents or others with parental responsibility must consent.",
        )


def _lacks_capacity(consent: PlanConsent | SharingConsent) -> bool:
    lapse = consent.capacity_lapse
    if lapse is None:
        return False
    start, end = lapse.period.start, lapse.period.end
    return (start is None or start <= consent.date) and (end is None or consent.date <= end)


def _lapsed_issues(
    name: str, consent: PlanConsent | SharingConsent, capacities: Set[str], age: int
) -> Iterator[Issue]:
    for index, giver in enumerate(consent.given_by):
        if giver.capacity == "self":
            yield _issue(
                "IP-1024",
                f"{name}.given_by[{index}]",
                "The person lacks capacity to consent (capacity_lapse): the nearest relative, "
                "a guardian or (under 18) the parents take part.",
            )
    allowed = {"nearest-relative", "guardian"} | ({"parent"} if age < 18 else set())
    if not capacities & allowed:
        yield _issue(
            "IP-1024",
            f"{name}.given_by",
            f"The person is {age} and lacks capacity to consent: one of "
            f"{', '.join(sorted(allowed))} must take part.",
        )


def _capacity_problem(
    plan: Plan, consent: PlanConsent | SharingConsent, giver: ConsentGiver, age: int
) -> tuple[str, str] | None:
    if giver.capacity == "self":
        if giver.party != PERSON:
            return "IP-1026", "Capacity 'self' is for the person the plan is for."
        return None
    if giver.capacity == "nearest-relative":
        party = plan.party(giver.party)
        if giver.party == PERSON or (party is not None and party.kind != "relative"):
            return "IP-1026", "Capacity 'nearest-relative' is for a relative of the person."
        if not _lacks_capacity(consent):
            return "IP-1024", "The person has capacity to consent: a relative does not consent."
        return None
    if giver.party == PERSON:
        return "IP-1026", f"The person cannot consent as their own {giver.capacity}."
    party = plan.party(giver.party)
    if party is None:
        return None  # an unknown id: reported as IP-1002 by the reference rules
    if giver.capacity == "parent":
        if party.kind != "relative" or not party.parental_responsibility:
            return "IP-1026", f"'{party.id}' has no parental responsibility."
        if age >= 18:
            return "IP-1024", f"The person is {age}: parents do not consent for an adult."
        return None
    if party.kind != "guardian" or party.mandate is None:
        return "IP-1026", f"'{party.id}' is not a guardian with a mandate."
    mandate = party.mandate
    in_period = (mandate.period.start is None or mandate.period.start <= consent.date) and (
        mandate.period.end is None or consent.date <= mandate.period.end
    )
    if consent.domain not in mandate.covers or not in_period:
        return (
            "IP-1025",
            f"The mandate of '{party.id}' does not cover {consent.domain} on {consent.date}.",
        )
    return None
