"""Search pages, includes and ``$everything`` made only of what the caller may see.

A page is cut from the rows the caller may see and whose disclosed copy matches every criterion
(:mod:`adapter.consent.criteria`): rows are read from the store in batches (the coarse criteria
in SQL) until the page is full and one more visible row proves that a next page exists, so a
page is exactly as long, and has a ``next`` link exactly when, a store holding only the
disclosed copies would give. Its tokens are those of its first and last *shown* rows, sealed by
the store for this search and this caller (``SearchQuery.binding``): they carry nothing about a
hidden row and open for no one else.

Includes and ``$everything`` reach a resource only through references in disclosed copies:
what only a hidden resource, or only a removed element, references stays out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from ipfhir.adapter.consent.context import ref_of, references_in
from ipfhir.adapter.consent.criteria import coarse, matches
from ipfhir.adapter.consent.operation import Operation
from ipfhir.adapter.fhir.search_params import extract_references, param_def
from ipfhir.adapter.ports import Actor, ResourceRepository, SearchParam, SearchQuery, SearchResult
from ipfhir.mappings.errors import IpError

__all__ = ["binding", "everything_seen", "page", "visible_count"]

Resource = dict[str, Any]
_MAX_BATCH = 500
# What $everything may add because it points at the plan (or, a Consent, at the person).
_BACK = frozenset({"Task", "Provenance", "CarePlan", "Goal", "Consent"})


def binding(actor: Actor, query: SearchQuery) -> str:
    """The caller and the search as asked: a page token opens for these only."""
    who = (actor.organisation, actor.practitioner, actor.purpose, actor.scopes)
    what = (query.resource_type, query.params, query.sort, query.include, query.revinclude)
    return hashlib.sha256(repr((who, what)).encode()).hexdigest()


@dataclass(frozen=True)
class Row:
    stored: Resource
    shown: Resource  # the disclosed copy
    tokens: Sequence[tuple[str, str]]  # the store's row tokens of its batch (sealed when read)
    index: int  # this row's in them

    @property
    def before(self) -> str:
        """Token of the page that ends just before this row."""
        return self.tokens[self.index][0]

    @property
    def after(self) -> str:
        """Token of the page that starts just after it."""
        return self.tokens[self.index][1]


class VisibleRows:
    """The visible, matching rows in paging order from the query's token on (``backwards``
    once the first batch is read: the token asked for the page before it)."""

    def __init__(
        self, op: Operation, inner: ResourceRepository, query: SearchQuery, record: bool = True
    ) -> None:
        self.op, self.inner, self.query, self.record = op, inner, query, record
        self.backwards = False
        self._seen: dict[tuple[str, str], Resource | None] = {}

    def resolve(self, rtype: str, rid: str) -> Resource | None:
        """What the caller may see of ``rtype/rid`` (for chained criteria), or None."""
        key = (rtype, rid)
        if key not in self._seen:
            try:
                stored = self.inner.read(rtype, rid)
            except IpError:
                stored = None
            seen = self.op.see(stored, record=False).resource if stored is not None else None
            self._seen[key] = seen
        return self._seen[key]

    def __iter__(self) -> Iterator[Row]:
        q = self.query
        sql = replace(
            q,
            params=coarse(q.params),
            include=(),
            revinclude=(),
            summary_count=False,
            binding=binding(self.op.actor, q),
        )
        cursor, batch, first = q.cursor, q.count + 1, True
        while True:
            found = self.inner.search(replace(sql, cursor=cursor, count=batch))
            if first:
                self.backwards, first = found.backwards, False
            tokens = found.row_cursors
            if len(tokens) != len(found.matches):
                raise ValueError("a bound search without a token pair per row")
            rows = list(enumerate(found.matches))
            if self.backwards:
                rows.reverse()
            self.op.prepare(found.matches)
            for index, stored in rows:
                seen = self.op.see(stored, record=False).resource
                if seen is None:
                    if self.record:
                        self.op.see(stored)  # audited as refused, as every hidden match is
                elif matches(q.resource_type, seen, q.params, self.resolve):
                    yield Row(stored, seen, tokens, index)
            cursor = found.prev_cursor if self.backwards else found.next_cursor
            if cursor is None or not found.matches:
                return
            batch = min(batch * 2, _MAX_BATCH)


def visible_count(op: Operation, inner: ResourceRepository, query: SearchQuery) -> int:
    counting = replace(query, summary_count=False, count=_MAX_BATCH - 1, cursor=None)
    return sum(1 for _ in VisibleRows(op, inner, counting, record=False))


def page(op: Operation, inner: ResourceRepository, query: SearchQuery) -> SearchResult:
    rows = VisibleRows(op, inner, query)
    found = list(islice(rows, query.count + 1))
    more = len(found) > query.count
    shown = found[: query.count]
    if rows.backwards:
        shown.reverse()
    for row in shown:
        op.see(row.stored)  # audited as disclosed
    extra = _included(op, inner, query, [r.shown for r in shown])
    if not shown:
        return SearchResult([], extra, _total(op, inner, query))
    has_next = more if not rows.backwards else True
    has_prev = more if rows.backwards else query.cursor is not None
    nxt = shown[-1].after if has_next else None
    prv = shown[0].before if has_prev else None
    return SearchResult([r.shown for r in shown], extra, _total(op, inner, query), nxt, prv)


def _total(op: Operation, inner: ResourceRepository, query: SearchQuery) -> int | None:
    """``_total=accurate``: the number of visible matches (what a store holding only the
    disclosed copies would count); otherwise none (counting reads every match)."""
    return visible_count(op, inner, query) if query.total_wanted else None


def _included(
    op: Operation, inner: ResourceRepository, query: SearchQuery, shown: list[Resource]
) -> list[Resource]:
    """_include / _revinclude candidates from the store (by the stored rows), kept only when
    disclosed and reached through a reference in a disclosed copy."""
    if not (query.include or query.revinclude):
        return []
    ids = tuple(str(r.get("id")) for r in shown)
    by_id = SearchQuery(
        query.resource_type,
        (SearchParam("_id", ids or ("",)),),
        count=max(len(ids), 1),
        include=query.include,
        revinclude=query.revinclude,
    )
    candidates = inner.search(by_id).includes  # also refuses an unknown spec, matches or not
    op.prepare(candidates)
    targets = _include_targets(query, shown)
    mine = {ref_of(r) for r in shown}
    out: list[Resource] = []
    for res in candidates:
        if not op.may(str(res.get("resourceType")), "read"):
            continue
        seen = op.see(res, record=False).resource
        if seen is None:
            op.see(res)
        elif ref_of(seen) in targets or _points_back(query, seen, mine):
            op.see(res)
            out.append(seen)
    return out


def _specs(values: tuple[str, ...]) -> Iterator[tuple[str, str, str | None]]:
    for spec in values:
        parts = spec.split(":")
        yield parts[0], parts[1], parts[2] if len(parts) == 3 else None


def _include_targets(query: SearchQuery, shown: list[Resource]) -> set[str]:
    out: set[str] = set()
    for src, name, target in _specs(query.include):
        d = param_def(src, name)
        if src != query.resource_type or d is None:
            continue
        for res in shown:
            out |= {f"{t}/{i}" for t, i in extract_references(res, d) if target in (None, t)}
    return out


def _points_back(query: SearchQuery, seen: Resource, mine: set[str]) -> bool:
    for src, name, _target in _specs(query.revinclude):
        d = param_def(src, name)
        if src != seen.get("resourceType") or d is None:
            continue
        if {f"{t}/{i}" for t, i in extract_references(seen, d)} & mine:
            return True
    return False


def everything_seen(op: Operation, found: list[Resource], plan: Resource) -> list[Resource]:
    """``found[1:]`` (the store's ``$everything`` after the plan) as far as the caller may see
    it and reaches it from the disclosed ``plan`` through disclosed references (or, for the
    kinds in :data:`_BACK`, by a disclosed reference to the plan or the person)."""
    op.prepare(found[1:])
    seen: dict[str, tuple[Resource, Resource]] = {}
    for res in found[1:]:
        if not op.may(str(res.get("resourceType")), "read"):
            continue
        shown = op.see(res, record=False).resource
        if shown is None:
            op.see(res)
        else:
            seen[ref_of(res)] = (res, shown)
    anchors = {ref_of(plan), str((plan.get("subject") or {}).get("reference", ""))}
    reached = [ref_of(plan)]
    pending = list(references_in(plan))
    for ref, (_res, shown) in seen.items():
        if shown.get("resourceType") in _BACK and set(references_in(shown)) & anchors:
            pending.append(ref)
    out: list[Resource] = []
    while pending:
        ref = pending.pop(0)
        if ref in reached or ref not in seen:
            continue
        reached.append(ref)
        stored, shown = seen[ref]
        op.see(stored)
        out.append(shown)
        pending += references_in(shown)
    order = {ref_of(r): n for n, r in enumerate(found)}
    return sorted(out, key=lambda r: order[ref_of(r)])
