"""Conditional create through the enforcement point: only the matches the caller may see
count, so the answer (create, the one match, or 412 with the number of matches) is the one of a
store without the others."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ipfhir.adapter.consent.operation import Operation
from ipfhir.adapter.ports import ResourceRepository, SearchQuery

__all__ = ["visible_matches"]

Resource = dict[str, Any]
_PAGE = 500


def visible_matches(
    op: Operation, repo: ResourceRepository, criteria: SearchQuery
) -> tuple[list[Resource], bool]:
    """(the matches the caller may see, as it may see them; whether there are others): every
    page judged. The one match that will be returned is recorded for the audit."""
    base = SearchQuery(criteria.resource_type, criteria.params, count=_PAGE)
    seen: list[Resource] = []
    others, cursor = False, None
    while True:
        page = repo.search(replace(base, cursor=cursor))
        op.prepare(page.matches)
        for match in page.matches:
            decision = op.see(match, record=False)
            if decision.resource is None:
                others = True
            else:
                seen.append(decision.resource)
        cursor = page.next_cursor
        if cursor is None or not page.matches:
            if len(seen) == 1:
                op.see(seen[0])
            return seen, others
