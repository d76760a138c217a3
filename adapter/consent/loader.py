"""Loads a person's :class:`PlanContext` from the store, fresh for every operation.

Nothing is cached beyond one operation: a Consent set inactive is seen by the next request.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapter.consent.context import PARTY_TYPES, PlanContext, ref_of, references_in
from adapter.ports import ResourceRepository, SearchParam, SearchQuery
from mappings.errors import IpError

__all__ = ["load_context", "with_parties"]

Resource = dict[str, Any]
_BY_PATIENT = (
    ("CarePlan", "subject"),
    ("CareTeam", "subject"),
    ("Goal", "subject"),
    ("Consent", "patient"),
    ("RelatedPerson", "patient"),
)
_PAGE = 500


def _all(repo: ResourceRepository, query: SearchQuery) -> list[Resource]:
    found: list[Resource] = []
    cursor: str | None = None
    while True:
        page = repo.search(replace(query, cursor=cursor))
        found += page.matches
        cursor = page.next_cursor
        if cursor is None or not page.matches:
            return found


def _read(repo: ResourceRepository, reference: str) -> Resource | None:
    rtype, _, rid = reference.partition("/")
    try:
        return repo.read(rtype, rid)
    except IpError:  # missing or deleted: the plan simply does not have it
        return None


def load_context(repo: ResourceRepository, patient: str) -> PlanContext:
    """Everything tied to ``patient`` plus the parties it references (one level, then the
    practitioners and organisations of referenced PractitionerRoles)."""
    found: dict[str, Resource] = {}
    me = _read(repo, patient)
    if me is not None:
        found[patient] = me
    for rtype, param in _BY_PATIENT:
        query = SearchQuery(rtype, (SearchParam(param, (patient,)),), count=_PAGE)
        for res in _all(repo, query):
            found[ref_of(res)] = res
    return PlanContext(patient, with_parties(repo, found))


def with_parties(repo: ResourceRepository, found: dict[str, Resource]) -> dict[str, Resource]:
    """``found`` plus the Organization/Practitioner/PractitionerRole/RelatedPerson resources it
    references (two levels: a PractitionerRole's practitioner and organisation too)."""
    for _round in range(2):
        wanted = {
            ref
            for res in list(found.values())
            for ref in references_in(res)
            if ref.split("/")[0] in PARTY_TYPES and ref not in found
        }
        for ref in sorted(wanted):
            party = _read(repo, ref)
            if party is not None:
                found[ref] = party
    return found
