"""The individual plan's domain rules, each with a stable message id and a path.

:func:`load_plan` turns plan JSON into a :class:`~mappings.model.Plan` and checks every rule;
it raises :class:`~mappings.errors.PlanRuleViolation` listing all broken rules at once. Paths are
plan-JSON paths (``coordinators[1].period``). Consent competence: :mod:`mappings.competence`.

IP-1000 shape  · IP-1001 duplicate id · IP-1002 unknown reference · IP-1003 wrong kind of party
IP-1004 identifier · IP-1005 period order · IP-1006 birth date ≠ identifier · IP-1007 no start
IP-1010 coordinators overlap without declared handover · IP-1011 handover not ended
IP-1012 no coordinator in charge · IP-1013 coordinator kind/level/age
IP-1020 active plan without active plan consent · IP-1021 blank sharing consent
IP-1022 sharing consent not time-bounded · IP-1023 revocation inconsistent
IP-1024..1026 competence (see mappings.competence)
IP-1027 sharing rule without scope · IP-1028 topics for a recipient not permitted
IP-1041 plan consent after the plan started · IP-1042 active plan outlasting its consent
IP-1043 sharing consent active after the plan consent was withdrawn
IP-1044 child welfare from 15: parents consent to measures aimed at them
IP-1045 the re-check at 18, on a day the caller gives (see mappings.recheck)
IP-1050, IP-1051 a coordinator assignment on its own (see mappings.assignment_rules)
(see mappings.consent_rules) · IP-1030 goal hierarchy
IP-1032 measure responsible does not take part · IP-1033 contribution/topic without taking part
IP-1040 unknown code
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from ipfhir.mappings import codes
from ipfhir.mappings.assignment_rules import ASSIGNMENT_MESSAGES
from ipfhir.mappings.competence import consent_competence_issues
from ipfhir.mappings.consent_rules import (
    CONSENT_RULE_MESSAGES,
    consent_validity_issues,
    record_issues,
    sharing_rule_issues,
)
from ipfhir.mappings.coordination import coordinator_issues
from ipfhir.mappings.errors import Issue, PlanRuleViolation, catalogue_issue
from ipfhir.mappings.identifiers import birth_date, is_valid_dnr, is_valid_fnr, is_valid_orgnr
from ipfhir.mappings.link_rules import check_reference, link_issues
from ipfhir.mappings.model import PERSON, Identifier, Period, Plan
from ipfhir.mappings.recheck import RECHECK_MESSAGES, recheck_issues
from ipfhir.mappings.text_rules import text_topic_issues

__all__ = ["MESSAGES", "check_plan", "load_plan"]

MESSAGES = {
    "IP-1000": "The plan JSON does not have the expected shape.",
    "IP-1001": "An id is used twice.",
    "IP-1002": "A reference names an id that does not exist in the plan.",
    "IP-1003": "A reference names a party of the wrong kind.",
    "IP-1004": "An identifier is not valid.",
    "IP-1005": "A period ends before it starts.",
    "IP-1006": "The birth date does not match the person's identifier.",
    "IP-1007": "The plan period has a start (the plan is valid from a date).",
    "IP-1010": "Two coordinators are in charge at the same time without a declared handover.",
    "IP-1011": "A handover must end the previous coordinator's period.",
    "IP-1012": "No coordinator is in charge for part of the active plan.",
    "IP-1013": "The coordinator's kind does not fit the service level or the person.",
    "IP-1020": "An active plan needs an active consent to make it.",
    "IP-1021": "A sharing consent must name its scope; a blank authorisation is refused.",
    "IP-1022": "A sharing consent must be time-bounded (from and to).",
    "IP-1023": "Revocation is inconsistent with the consent's status.",
    "IP-1024": "The consent was not given by someone competent to give it.",
    "IP-1025": "A guardian may consent only within the mandate.",
    "IP-1026": "The capacity stated for a consent giver does not fit the party.",
    "IP-1030": "Goal hierarchy: a delmål belongs to a hovedmål.",
    "IP-1032": "A measure's responsible party does not take part in the plan.",
    "IP-1033": "A contribution and its topic belong to a party that takes part in the plan work.",
    "IP-1040": "A code is not in its code system.",
    **CONSENT_RULE_MESSAGES,
    **RECHECK_MESSAGES,
    **ASSIGNMENT_MESSAGES,
}


def load_plan(data: Any, *, on: dt.date | None = None) -> Plan:
    """Plan JSON (already parsed) → a checked Plan, or PlanRuleViolation with every issue.

    ``on``: the day to check on (the caller's clock), for the rules that depend on it (IP-1045);
    without it only the rules that hold on every day are checked."""
    try:
        plan = Plan.model_validate(data)
    except ValidationError as err:
        issues = [_shape_issue(e) for e in err.errors()]
        # a union (free text: plain or parts) reports once per member at the same path
        unique = {i.expression: i for i in reversed(issues)}
        raise PlanRuleViolation([i for i in issues if unique[i.expression] is i]) from None
    check_plan(plan, on=on)
    return plan


def check_plan(plan: Plan, *, on: dt.date | None = None) -> None:
    issues = list(_all_issues(plan))
    if on is not None:
        issues += recheck_issues(plan, on)
    if issues:
        raise PlanRuleViolation(issues)


def _shape_issue(error: Any) -> Issue:
    path = _path(error["loc"])
    return Issue("IP-1000", f"{error['msg']}", (path,) if path else (), "structure")


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and not part.isidentifier():
            continue  # a union member's tag ('constrained-str', 'list[TextPart]'), not a field
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _issue(mid: str, path: str, detail: str, code: str = "business-rule") -> Issue:
    return catalogue_issue(MESSAGES, mid, path, code, detail)


def _all_issues(plan: Plan) -> Iterator[Issue]:
    yield from _unique_ids(plan)
    yield from _identifier_issues(plan)
    yield from _reference_issues(plan)
    yield from _period_issues(plan)
    yield from _code_issues(plan)
    yield from _participation_issues(plan)
    yield from coordinator_issues(plan)
    yield from _consent_issues(plan)
    yield from consent_competence_issues(plan)
    yield from _goal_issues(plan)
    yield from text_topic_issues(plan)
    yield from sharing_rule_issues(plan)
    yield from consent_validity_issues(plan)
    yield from record_issues(plan)
    yield from link_issues(plan)


def _unique_ids(plan: Plan) -> Iterator[Issue]:
    # needs and resources share one id space: both become element ids inside the CarePlan.
    spaces: list[list[tuple[str, str]]] = [
        [(f"parties[{i}].id", p.id) for i, p in enumerate(plan.parties)],
        [(f"coordinators[{i}].id", c.id) for i, c in enumerate(plan.coordinators)],
        [(f"goals[{i}].id", g.id) for i, g in enumerate(plan.goals)],
        [(f"needs[{i}].id", n.id) for i, n in enumerate(plan.needs)]
        + [(f"resources[{i}].id", r.id) for i, r in enumerate(plan.resources)],
        [(f"measures[{i}].id", m.id) for i, m in enumerate(plan.measures)],
    ]
    for space in spaces:
        seen: set[str] = set()
        for path, local_id in space:
            if local_id in seen or (path.startswith("parties") and local_id == PERSON):
                yield _issue("IP-1001", path, f"'{local_id}'", "duplicate")
            seen.add(local_id)


def _identifier_ok(identifier: Identifier) -> bool:
    checks = {"fnr": is_valid_fnr, "dnr": is_valid_dnr, "orgnr": is_valid_orgnr}
    check = checks.get(identifier.system)
    return check(identifier.value) if check else True


def _identifier_issues(plan: Plan) -> Iterator[Issue]:
    person_id = plan.person.identifier
    if person_id.system not in ("fnr", "dnr"):
        yield _issue("IP-1004", "person.identifier.system", "The person needs an FNR or D-nummer.")
    elif not _identifier_ok(person_id):
        yield _issue("IP-1004", "person.identifier.value", f"'{person_id.value}' fails mod 11.")
    elif birth_date(person_id.value) != plan.person.birth_date:
        yield _issue(
            "IP-1006", "person.birth_date", f"The identifier says {birth_date(person_id.value)}."
        )
    allowed = {
        "relative": {"fnr", "dnr"},
        "guardian": {"fnr", "dnr"},
        "support-person": {"fnr", "dnr"},
        "practitioner": {"hpr", "fnr", "dnr"},
        "organisation": {"orgnr", "resh"},
    }
    for p_index, party in enumerate(plan.parties):
        for i_index, ident in enumerate(party.identifiers):
            path = f"parties[{p_index}].identifiers[{i_index}]"
            if ident.system not in allowed[party.kind]:
                yield _issue(
                    "IP-1004", f"{path}.system", f"'{ident.system}' is not for a {party.kind}."
                )
            elif not _identifier_ok(ident):
                yield _issue("IP-1004", f"{path}.value", f"'{ident.value}' fails mod 11.")


def _reference_issues(plan: Plan) -> Iterator[Issue]:
    kinds = {p.id: p.kind for p in plan.parties} | {PERSON: "person"}
    goals = {g.id: "goal" for g in plan.goals}
    individuals = {"relative", "guardian", "support-person", "practitioner"}
    refs: list[tuple[str, str, set[str]]] = [
        ("responsible_organisation", plan.responsible_organisation, {"organisation"})
    ]
    for i, p in enumerate(plan.parties):
        if p.organisation is not None:
            refs.append((f"parties[{i}].organisation", p.organisation, {"organisation"}))
    for i, c in enumerate(plan.coordinators):
        refs.append((f"coordinators[{i}].party", c.party, {"practitioner"}))
    for i, m in enumerate(plan.measures):
        refs.append((f"measures[{i}].responsible", m.responsible, set(kinds.values())))
    for i, co in enumerate(plan.cooperation):
        refs.append((f"cooperation[{i}].party", co.party, {"organisation"}))
    for name, consent in (
        ("plan_consent", plan.plan_consent),
        ("sharing_consent", plan.sharing_consent),
    ):
        if consent is None:
            continue
        for i, g in enumerate(consent.given_by):
            refs.append(
                (f"{name}.given_by[{i}].party", g.party, {"person", "relative", "guardian"})
            )
    if plan.sharing_consent is not None:
        sc = plan.sharing_consent
        for i, r in enumerate(sc.permitted_recipients):
            refs.append(
                (f"sharing_consent.permitted_recipients[{i}]", r, individuals | {"organisation"})
            )
        for i, r in enumerate(sc.refused_environments):
            refs.append((f"sharing_consent.refused_environments[{i}]", r, {"organisation"}))
        for i, r in enumerate(sc.refused_individuals):
            refs.append((f"sharing_consent.refused_individuals[{i}]", r, individuals))
    for path, target, expected in refs:
        yield from check_reference(path, target, kinds, expected)
    assignments = {c.id: "assignment" for c in plan.coordinators}
    for i, c in enumerate(plan.coordinators):
        if c.handover_from is not None:
            at = f"coordinators[{i}].handover_from"
            yield from check_reference(at, c.handover_from, assignments, {"assignment"})
    for i, m in enumerate(plan.measures):
        for j, goal in enumerate(m.goals):
            yield from check_reference(f"measures[{i}].goals[{j}]", goal, goals, {"goal"})
        party = plan.party(m.responsible)
        if party is not None and not party.takes_part:
            yield _issue("IP-1032", f"measures[{i}].responsible", f"'{m.responsible}'")


def _periods(plan: Plan) -> Iterator[tuple[str, Period]]:
    yield "period", plan.period
    for i, c in enumerate(plan.coordinators):
        yield f"coordinators[{i}].period", c.period
    for i, m in enumerate(plan.measures):
        yield f"measures[{i}].period", m.period
    yield "plan_consent.period", plan.plan_consent.period
    if plan.sharing_consent is not None:
        yield "sharing_consent.period", plan.sharing_consent.period
    for i, p in enumerate(plan.parties):
        if p.mandate is not None:
            yield f"parties[{i}].mandate.period", p.mandate.period


def _period_issues(plan: Plan) -> Iterator[Issue]:
    if plan.period.start is None:
        yield _issue("IP-1007", "period.start", "", "required")
    for path, period in _periods(plan):
        if period.start and period.end and period.end < period.start:
            yield _issue("IP-1005", path, f"{period.end} < {period.start}.")


def _code_issues(plan: Plan) -> Iterator[Issue]:
    topics = codes.INFORMATION_TOPIC
    coded: list[tuple[str, str | None, dict[str, str]]] = []
    for group in ("goals", "needs", "resources", "measures"):
        for i, item in enumerate(getattr(plan, group)):
            coded.append((f"{group}[{i}].topic", item.topic, topics))
    for i, topic in enumerate(plan.sharing_consent.refused_topics if plan.sharing_consent else []):
        coded.append((f"sharing_consent.refused_topics[{i}]", topic, topics))
    coded.append(("person_contribution_topic", plan.person_contribution_topic, topics))
    for i, p in enumerate(plan.parties):
        coded.append(
            (f"parties[{i}].organisation_type", p.organisation_type, codes.ORGANISATION_TYPE)
        )
        coded.append((f"parties[{i}].topic", p.topic, topics))
    for path, code, system in coded:
        if code is not None and code not in system:
            yield _issue("IP-1040", path, f"'{code}'", "code-invalid")


def _participation_issues(plan: Plan) -> Iterator[Issue]:
    # Both live on the party's CareTeam participant (content list items b, d): without one they
    # would be lost on the way to FHIR.
    for i, party in enumerate(plan.parties):
        if party.takes_part:
            continue
        for field in ("contribution", "topic"):
            if getattr(party, field) is not None:
                detail = f"'{party.id}' does not take part."
                yield _issue("IP-1033", f"parties[{i}].{field}", detail)


def _consent_issues(plan: Plan) -> Iterator[Issue]:
    if plan.status == "active" and plan.plan_consent.status != "active":
        yield _issue("IP-1020", "plan_consent.status", f"It is '{plan.plan_consent.status}'.")
    for name, consent in (
        ("plan_consent", plan.plan_consent),
        ("sharing_consent", plan.sharing_consent),
    ):
        if consent is None:
            continue
        if consent.status == "inactive" and consent.revoked_on is None:
            yield _issue("IP-1023", f"{name}.revoked_on", "A withdrawn consent records when.")
        if consent.status != "inactive" and consent.revoked_on is not None:
            yield _issue(
                "IP-1023", f"{name}.status", "Only a withdrawn (inactive) consent has revoked_on."
            )
    sc = plan.sharing_consent
    if sc is not None and sc.status in ("active", "inactive"):
        if not sc.permitted_recipients:
            yield _issue(
                "IP-1021",
                "sharing_consent.permitted_recipients",
                "Name who may receive information.",
            )
        if sc.period.start is None or sc.period.end is None:
            yield _issue("IP-1022", "sharing_consent.period", "Give both from and to dates.")


def _goal_issues(plan: Plan) -> Iterator[Issue]:
    levels = {g.id: g.level for g in plan.goals}
    goals = {g.id: "goal" for g in plan.goals}
    for i, goal in enumerate(plan.goals):
        if goal.level == "hovedmal" and goal.part_of is not None:
            yield _issue(
                "IP-1030", f"goals[{i}].part_of", "A hovedmål is not part of another goal."
            )
        if goal.level == "delmal" and goal.part_of is not None:
            unknown = list(check_reference(f"goals[{i}].part_of", goal.part_of, goals, {"goal"}))
            yield from unknown
            if not unknown and levels[goal.part_of] != "hovedmal":
                yield _issue(
                    "IP-1030", f"goals[{i}].part_of", f"'{goal.part_of}' is not a hovedmål."
                )
