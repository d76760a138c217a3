"""The rules of a coordinator assignment on its own (:class:`~mappings.model.Assignment`), each
with a stable message id and a path in assignment JSON.

Shared with the plan: IP-1000 shape, IP-1001 duplicate id, IP-1002 / IP-1003 references, IP-1004
identifier, IP-1005 period order, IP-1006 birth date ≠ identifier, IP-1010 / IP-1011 overlap and
handover, IP-1012 nobody in charge, IP-1013 kind, level or age (a barnekoordinator: children
under 18, in the municipality), IP-1040 code, IP-1045 the re-check at 18 (on a day the caller
gives). Its own:

IP-1050 a person covered is either born (fødselsnummer or D-nummer and birth date) or not yet
        born (expected date, no identifier).
IP-1051 only a barnekoordinator is assigned to a family: a koordinator covers the one person who
        has the need («Tildeles den som har behovet», seed 004_feb800c0c7d43aa8.txt).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from ipfhir.mappings import codes
from ipfhir.mappings.competence import age_on
from ipfhir.mappings.coordination import gap_issues, overlap_issues
from ipfhir.mappings.errors import Issue, PlanRuleViolation
from ipfhir.mappings.identifiers import birth_date, is_valid_dnr, is_valid_fnr, is_valid_orgnr
from ipfhir.mappings.link_rules import check_reference
from ipfhir.mappings.model import Assignment, Identifier
from ipfhir.mappings.recheck import ADULT, RECHECK_MESSAGES, in_force

__all__ = ["ASSIGNMENT_MESSAGES", "assignment_issues", "load_assignment"]

ASSIGNMENT_MESSAGES = {
    "IP-1050": "A person covered is either born (identifier and birth date) or not yet born "
    "(expected date).",
    "IP-1051": "Only a barnekoordinator is assigned to a family; a koordinator covers one person.",
}
_TEXT = {
    "IP-1001": "An id is used twice.",
    "IP-1004": "An identifier is not valid.",
    "IP-1005": "A period ends before it starts.",
    "IP-1006": "The birth date does not match the person's identifier.",
    "IP-1013": "The coordinator's kind does not fit the service level or the person.",
    "IP-1040": "A code is not in its code system.",
    **RECHECK_MESSAGES,
    **ASSIGNMENT_MESSAGES,
}
_LEVEL = {
    "midlertidig-koordinator": {"spesialisthelsetjeneste"},
    "barnekoordinator": {"kommune"},
    "koordinator": {"kommune", "spesialisthelsetjeneste"},
}
_ALLOWED_IDS = {
    "relative": {"fnr", "dnr"},
    "guardian": {"fnr", "dnr"},
    "support-person": {"fnr", "dnr"},
    "practitioner": {"hpr", "fnr", "dnr"},
    "organisation": {"orgnr", "resh"},
}


def _issue(mid: str, path: str, detail: str, code: str = "business-rule") -> Issue:
    return Issue(mid, f"{_TEXT[mid]} {detail}".strip(), (path,), code)


def load_assignment(data: Any, *, on: dt.date | None = None) -> Assignment:
    """Assignment JSON (parsed) → a checked Assignment, or PlanRuleViolation with every issue.
    ``on``: the day to check the day-dependent rule on (IP-1045), the caller's clock."""
    try:
        assignment = Assignment.model_validate(data)
    except ValidationError as err:
        issues = [
            Issue(
                "IP-1000",
                str(e["msg"]),
                (".".join(str(p) for p in e["loc"]),) if e["loc"] else (),
                "structure",
            )
            for e in err.errors()
        ]
        raise PlanRuleViolation(issues) from None
    issues = list(assignment_issues(assignment, on=on))
    if issues:
        raise PlanRuleViolation(issues)
    return assignment


def assignment_issues(assignment: Assignment, *, on: dt.date | None = None) -> Iterator[Issue]:
    yield from _unique_ids(assignment)
    yield from _identifier_issues(assignment)
    yield from _reference_issues(assignment)
    yield from _person_issues(assignment)
    yield from _coordinator_issues(assignment)
    if on is not None:
        yield from _recheck(assignment, on)


def _unique_ids(a: Assignment) -> Iterator[Issue]:
    spaces = [
        [(f"persons[{i}].id", p.id) for i, p in enumerate(a.persons)]
        + [(f"parties[{i}].id", p.id) for i, p in enumerate(a.parties)],
        [(f"coordinators[{i}].id", c.id) for i, c in enumerate(a.coordinators)],
    ]
    for space in spaces:
        seen: set[str] = set()
        for path, local in space:
            if local in seen:
                yield _issue("IP-1001", path, f"'{local}'", "duplicate")
            seen.add(local)


def _identifier_ok(identifier: Identifier) -> bool:
    checks = {"fnr": is_valid_fnr, "dnr": is_valid_dnr, "orgnr": is_valid_orgnr}
    check = checks.get(identifier.system)
    return check(identifier.value) if check else True


def _identifier_issues(a: Assignment) -> Iterator[Issue]:
    for i, person in enumerate(a.persons):
        ident = person.identifier
        if ident is None:
            continue
        at = f"persons[{i}].identifier"
        if ident.system not in ("fnr", "dnr"):
            yield _issue("IP-1004", f"{at}.system", "A person needs an FNR or D-nummer.")
        elif not _identifier_ok(ident):
            yield _issue("IP-1004", f"{at}.value", f"'{ident.value}' fails mod 11.")
        elif person.birth_date is not None and birth_date(ident.value) != person.birth_date:
            said = birth_date(ident.value)
            yield _issue("IP-1006", f"persons[{i}].birth_date", f"The identifier says {said}.")
    for p_index, party in enumerate(a.parties):
        for i_index, ident in enumerate(party.identifiers):
            at = f"parties[{p_index}].identifiers[{i_index}]"
            if ident.system not in _ALLOWED_IDS[party.kind]:
                yield _issue(
                    "IP-1004", f"{at}.system", f"'{ident.system}' is not for a {party.kind}."
                )
            elif not _identifier_ok(ident):
                yield _issue("IP-1004", f"{at}.value", f"'{ident.value}' fails mod 11.")
        if party.organisation_type is not None and (
            party.organisation_type not in codes.ORGANISATION_TYPE
        ):
            at = f"parties[{p_index}].organisation_type"
            yield _issue("IP-1040", at, f"'{party.organisation_type}'", "code-invalid")


def _reference_issues(a: Assignment) -> Iterator[Issue]:
    kinds: dict[str, str] = {p.id: p.kind for p in a.parties}
    org = {"organisation"}
    yield from check_reference("responsible_organisation", a.responsible_organisation, kinds, org)
    for i, party in enumerate(a.parties):
        if party.organisation is not None:
            yield from check_reference(f"parties[{i}].organisation", party.organisation, kinds, org)
    for i, c in enumerate(a.coordinators):
        yield from check_reference(f"coordinators[{i}].party", c.party, kinds, {"practitioner"})
        if c.handover_from is not None:
            ids = {x.id: "assignment" for x in a.coordinators}
            at = f"coordinators[{i}].handover_from"
            yield from check_reference(at, c.handover_from, ids, {"assignment"})
    if a.decision is not None:
        yield from check_reference("decision.decided_by", a.decision.decided_by, kinds, org)


def _person_issues(a: Assignment) -> Iterator[Issue]:
    for i, person in enumerate(a.persons):
        born = person.birth_date is not None
        if person.identifier is not None and not born:
            yield _issue("IP-1050", f"persons[{i}].birth_date", "An identified person is born.")
        if not born and person.expected_birth is None:
            yield _issue(
                "IP-1050", f"persons[{i}].expected_birth", "Not yet born: give the expected date."
            )
        covered = person.covered
        if covered.start and covered.end and covered.end < covered.start:
            yield _issue("IP-1005", f"persons[{i}].covered", f"{covered.end} < {covered.start}.")


def _coordinator_issues(a: Assignment) -> Iterator[Issue]:
    for i, c in enumerate(a.coordinators):
        if c.period.start and c.period.end and c.period.end < c.period.start:
            yield _issue(
                "IP-1005", f"coordinators[{i}].period", f"{c.period.end} < {c.period.start}."
            )
        if c.service_level not in _LEVEL[c.kind]:
            at = f"coordinators[{i}].service_level"
            yield _issue("IP-1013", at, f"A {c.kind} is not in {c.service_level}.")
        if c.kind != "barnekoordinator" and len(a.persons) > 1:
            yield _issue(
                "IP-1051", f"coordinators[{i}].kind", f"It covers {len(a.persons)} persons."
            )
    if any(c.kind == "barnekoordinator" for c in a.coordinators):
        for i, person in enumerate(a.persons):
            start = person.covered.start
            born = person.birth_date
            if born is not None and start is not None and age_on(born, start) >= ADULT:
                yield _issue(
                    "IP-1013",
                    f"persons[{i}].covered.start",
                    "A barnekoordinator serves a family with a child under 18.",
                )
    yield from overlap_issues(a.coordinators)
    if a.status == "active":
        yield from gap_issues(a.coordinators, None)


def _recheck(a: Assignment, on: dt.date) -> Iterator[Issue]:
    """IP-1045: a child still covered by a barnekoordinator on a day the child is 18."""
    if not any(c.kind == "barnekoordinator" and in_force(c.period, on) for c in a.coordinators):
        return
    for i, person in enumerate(a.persons):
        if person.birth_date is None or not in_force(person.covered, on):
            continue
        age = age_on(person.birth_date, on)
        if age >= ADULT:
            yield _issue(
                "IP-1045",
                f"persons[{i}].covered",
                f"{person.given or person.id} is {age} on {on}; the barnekoordinator still "
                "covers them.",
            )
