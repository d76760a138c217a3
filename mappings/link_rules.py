"""References of the plan's authorship and links (IP-1002 unknown id, IP-1003 wrong kind):
who made the plan and with whom, whose words a goal is, which needs a measure meets and which
decision (vedtak) grants it. A need no measure meets is an unmet need (:func:`unmet_needs`).
"""

from __future__ import annotations

from collections.abc import Iterator

from ipfhir.mappings.errors import Issue
from ipfhir.mappings.model import PERSON, Plan

__all__ = ["check_reference", "link_issues", "unmet_needs"]

_AUTHORS = {"person", "relative", "guardian", "practitioner"}


def check_reference(
    path: str, target: str, kinds: dict[str, str], expected: set[str]
) -> Iterator[Issue]:
    """IP-1002 when ``target`` is no id of the plan, IP-1003 when it is not of an ``expected``
    kind (``kinds``: id → kind)."""
    if target not in kinds:
        yield Issue(
            "IP-1002",
            f"A reference names an id that does not exist in the plan. '{target}'",
            (path,),
            "business-rule",
        )
    elif kinds[target] not in expected:
        yield Issue(
            "IP-1003",
            f"A reference names a party of the wrong kind. '{target}' is a {kinds[target]}, "
            f"expected {' or '.join(sorted(expected))}.",
            (path,),
            "business-rule",
        )


def link_issues(plan: Plan) -> Iterator[Issue]:
    kinds = {p.id: p.kind for p in plan.parties} | {PERSON: "person"}
    org = {"organisation"}
    if plan.made_by is not None:
        yield from check_reference("made_by", plan.made_by, kinds, org)
    for i, party in enumerate(plan.in_cooperation_with):
        yield from check_reference(f"in_cooperation_with[{i}]", party, kinds, org)
    for i, goal in enumerate(plan.goals):
        yield from check_reference(f"goals[{i}].expressed_by", goal.expressed_by, kinds, _AUTHORS)
    needs = {n.id: "need" for n in plan.needs}
    for i, measure in enumerate(plan.measures):
        for j, need in enumerate(measure.needs):
            yield from check_reference(f"measures[{i}].needs[{j}]", need, needs, {"need"})
        if measure.decision is not None:
            at = f"measures[{i}].decision.decided_by"
            yield from check_reference(at, measure.decision.decided_by, kinds, org)


def unmet_needs(plan: Plan) -> list[str]:
    """Ids of the needs no measure that is not stopped or cancelled says it meets."""
    met = {
        need for m in plan.measures if m.status not in ("stopped", "cancelled") for need in m.needs
    }
    return [n.id for n in plan.needs if n.id not in met]
