"""Item c: exactly one coordinator in charge at any moment (seed 002_f60a41b6bd550ea2.txt
§ 1.4.2, § 5).

Assignments may overlap only as a declared handover (the newer one names the older in
``handover_from`` and the older one ends); an active plan has a coordinator in charge without gaps
from the first assignment to the end of the plan period. A barnekoordinator serves a family with
a child under 18 (seed 004_feb800c0c7d43aa8.txt); a temporary coordinator belongs to the
specialist health service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from ipfhir.mappings.competence import age_on
from ipfhir.mappings.errors import Issue
from ipfhir.mappings.model import CoordinatorAssignment, Plan

__all__ = ["coordinator_issues", "coordinators_on", "gap_issues", "overlap_issues"]

_LEVEL = {
    "midlertidig-koordinator": {"spesialisthelsetjeneste"},
    "barnekoordinator": {"kommune"},
    "koordinator": {"kommune", "spesialisthelsetjeneste"},
}


def _issue(mid: str, path: str, text: str) -> Issue:
    return Issue(mid, text, (path,), "business-rule")


def _overlap(a: CoordinatorAssignment, b: CoordinatorAssignment) -> bool:
    a_start, b_start = a.period.start or dt.date.min, b.period.start or dt.date.min
    a_end, b_end = a.period.end or dt.date.max, b.period.end or dt.date.max
    return a_start <= b_end and b_start <= a_end


def coordinators_on(plan: Plan, day: dt.date) -> list[CoordinatorAssignment]:
    """The assignments in charge on ``day``."""
    return [
        c
        for c in plan.coordinators
        if (c.period.start or dt.date.min) <= day <= (c.period.end or dt.date.max)
    ]


def coordinator_issues(plan: Plan) -> Iterator[Issue]:
    yield from _kind_issues(plan)
    yield from overlap_issues(plan.coordinators)
    if plan.status == "active":
        yield from gap_issues(plan.coordinators, plan.period.end)


def overlap_issues(coordinators: Sequence[CoordinatorAssignment]) -> Iterator[Issue]:
    """IP-1010 / IP-1011: assignments overlap only as a declared, ended handover."""
    indexed = list(enumerate(coordinators))
    for i, a in indexed:
        for j, b in indexed[i + 1 :]:
            if not _overlap(a, b):
                continue
            newer, older, newer_index = (b, a, j) if _later(b, a) else (a, b, i)
            if newer.handover_from != older.id:
                yield _issue(
                    "IP-1010",
                    f"coordinators[{newer_index}].period",
                    f"'{newer.id}' overlaps '{older.id}'; a change of coordinator overlaps only "
                    f"as a declared handover (handover_from: '{older.id}').",
                )
            elif older.period.end is None:
                older_index = j if newer_index == i else i
                yield _issue(
                    "IP-1011",
                    f"coordinators[{older_index}].period.end",
                    f"'{older.id}' hands over to '{newer.id}' but never ends.",
                )


def _later(b: CoordinatorAssignment, a: CoordinatorAssignment) -> bool:
    return (b.period.start or dt.date.min) >= (a.period.start or dt.date.min)


def _kind_issues(plan: Plan) -> Iterator[Issue]:
    for i, c in enumerate(plan.coordinators):
        if c.service_level not in _LEVEL[c.kind]:
            yield _issue(
                "IP-1013",
                f"coordinators[{i}].service_level",
                f"A {c.kind} is not in {c.service_level}.",
            )
        if c.period.start is None:
            yield _issue(
                "IP-1012", f"coordinators[{i}].period.start", "A coordinator's period has a start."
            )
        elif c.kind == "barnekoordinator" and _serves_adult(plan, c):
            yield _issue(
                "IP-1013",
                f"coordinators[{i}].kind",
                "A barnekoordinator serves a family with a child under 18.",
            )


def _serves_adult(plan: Plan, assignment: CoordinatorAssignment) -> bool:
    """A barnekoordinator assignment that starts, or is known to last, past the 18th birthday."""
    born = plan.person.birth_date
    start = assignment.period.start or dt.date.min
    end = assignment.period.end or plan.period.end
    return age_on(born, start) >= 18 or (end is not None and age_on(born, end) >= 18)


def gap_issues(
    coordinators: Sequence[CoordinatorAssignment], end: dt.date | None
) -> Iterator[Issue]:
    """IP-1012: someone is in charge from the first assignment to ``end`` (open: for good)."""
    dated = sorted(
        (c for c in coordinators if c.period.start is not None),
        key=lambda c: c.period.start or dt.date.min,
    )
    if not dated:
        yield _issue("IP-1012", "coordinators", "An active plan has a coordinator (item c).")
        return
    covered_to: dt.date = dated[0].period.end or dt.date.max
    for c in dated[1:]:
        start = c.period.start or dt.date.min
        if covered_to != dt.date.max and start > covered_to + dt.timedelta(days=1):
            yield _issue(
                "IP-1012",
                "coordinators",
                f"Nobody is in charge from {covered_to + dt.timedelta(days=1)} "
                f"to {start - dt.timedelta(days=1)}.",
            )
        covered_to = max(covered_to, c.period.end or dt.date.max)
    plan_end = end or dt.date.max
    if covered_to < plan_end:
        yield _issue(
            "IP-1012",
            "coordinators",
            f"Nobody is in charge after {covered_to}, before the plan ends.",
        )
