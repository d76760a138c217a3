"""Rules that depend on the day they are checked on: the caller gives the day (its clock);
nothing here reads today's date.

IP-1045 — the re-check at 18. What was arranged for a child lapses when the child comes of age:
- a consent given by the parents alone (capacity ``parent``: a child under the age of consent)
  is no longer anyone's consent once the person is 18 — the person consents now (or a guardian
  within the mandate, or, if capacity has lapsed, the nearest relative) (seed
  000_9834cdca9ff16a63.txt; pasient- og brukerrettighetsloven § 4-3);
- a barnekoordinator serves a family with a child under 18 (seed 004_feb800c0c7d43aa8.txt,
  «Øvre aldersgrense på 18 år»): an assignment still in force on a day the child is 18 is
  re-checked (a koordinator is assigned instead, or it ends).
A consent or assignment that ended before the day is history, not re-checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from ipfhir.mappings.competence import age_on
from ipfhir.mappings.errors import Issue
from ipfhir.mappings.model import Period, Plan

__all__ = ["ADULT", "RECHECK_MESSAGES", "in_force", "recheck_issues"]

ADULT = 18
RECHECK_MESSAGES = {
    "IP-1045": "Re-check at 18: what parents consented to, or a barnekoordinator held, for a "
    "child lapses when the child is 18.",
}


def _issue(path: str, detail: str) -> Issue:
    return Issue("IP-1045", f"{RECHECK_MESSAGES['IP-1045']} {detail}", (path,), "business-rule")


def in_force(period: Period, on: dt.date, end: dt.date | None = None) -> bool:
    """``period`` covers ``on`` (an open end falls back to ``end``)."""
    last = period.end or end
    return (period.start is None or period.start <= on) and (last is None or on <= last)


def recheck_issues(plan: Plan, on: dt.date) -> Iterator[Issue]:
    """IP-1045 for ``plan`` on the day ``on``."""
    age = age_on(plan.person.birth_date, on)
    if age < ADULT:
        return
    for name in ("plan_consent", "sharing_consent"):
        consent = getattr(plan, name)
        if consent is None or consent.status != "active" or not in_force(consent.period, on):
            continue
        if {g.capacity for g in consent.given_by} == {"parent"}:
            yield _issue(
                f"{name}.given_by",
                f"The person is {age} on {on}; the consent was given by the parents alone.",
            )
    for i, assignment in enumerate(plan.coordinators):
        if assignment.kind == "barnekoordinator" and in_force(
            assignment.period, on, plan.period.end
        ):
            yield _issue(
                f"coordinators[{i}].period",
                f"The person is {age} on {on}; the barnekoordinator is still in charge.",
            )
