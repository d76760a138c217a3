"""The enforcement point: a :class:`ResourceRepository` bound to one caller, around the store's.

Every disclosure passes through here — read, vread, history, search (every page, includes,
totals), ``$everything``, transaction/batch responses — and so will notifications and plan
transfers: a disclosure to another organisation is ``repository_for(Actor(organisation=...))``
followed by a read. The policy (:mod:`adapter.consent.policy`) decides; this module only applies
its decisions, and the :class:`~adapter.consent.operation.Operation` audits them.

Searches, includes and ``$everything``: :mod:`adapter.consent.paging` (pages cut from the visible
rows, criteria judged on the disclosed copies, page tokens of shown rows bound to the caller).
Totals: a filtered search never reports the store's total. ``_summary=count`` is answered with an
honest count of what the caller may see (every row is judged); other searches report none.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ipfhir.adapter.consent.bundles import filter_response, split_batch
from ipfhir.adapter.consent.context import patient_of
from ipfhir.adapter.consent.errors import Forbidden, issue5
from ipfhir.adapter.consent.explain import explanation
from ipfhir.adapter.consent.operation import Enforcement, Operation
from ipfhir.adapter.consent.paging import everything_seen, page, visible_count
from ipfhir.adapter.consent.writes import check_delete, check_write
from ipfhir.adapter.errors import NotFound, issue
from ipfhir.adapter.ports import (
    Actor,
    HistoryPage,
    SearchQuery,
    SearchResult,
    WriteOutcome,
)

__all__ = ["ConsentRepository", "ConsentRepositoryFactory"]

Resource = dict[str, Any]


def hidden(rtype: str, rid: str) -> NotFound:
    """Exactly what the store says for a resource that does not exist."""
    return NotFound([issue("IP-4201", rtype, "not-found", rtype=rtype, rid=rid)])


class ConsentRepositoryFactory:
    """``repository_for(actor)``: the store's repository wrapped for that caller."""

    def __init__(self, enforcement: Enforcement) -> None:
        self.enforcement = enforcement

    def repository_for(self, actor: Actor) -> ConsentRepository:
        return ConsentRepository(self.enforcement, actor)


class ConsentRepository:
    def __init__(self, enforcement: Enforcement, actor: Actor) -> None:
        self.enforcement = enforcement
        self.actor = actor
        self._inner = enforcement.inner

    def _op(self, interaction: str, resource_type: str) -> Operation:
        op = Operation(self.enforcement, self.actor, interaction)
        op.require(resource_type)
        return op

    # --- reads -------------------------------------------------------------------------------
    def read(self, resource_type: str, resource_id: str) -> Resource:
        op = self._op("read", resource_type)
        decision = op.see(self._inner.read(resource_type, resource_id))
        op.complete()
        if decision.resource is None:
            raise hidden(resource_type, resource_id)
        return decision.resource

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource:
        op = self._op("vread", resource_type)
        decision = op.see(self._inner.vread(resource_type, resource_id, version_id))
        op.complete()
        if decision.resource is None:
            raise hidden(resource_type, resource_id)
        return decision.resource

    def history(
        self,
        resource_type: str,
        resource_id: str | None = None,
        *,
        count: int = 20,
        since: str | None = None,
        cursor: str | None = None,
    ) -> HistoryPage:
        op = self._op("history", resource_type)
        page = self._inner.history(
            resource_type, resource_id, count=count, since=since, cursor=cursor
        )
        entries = []
        op.prepare(e.resource for e in page.entries)
        for entry in page.entries:
            shown = entry.resource if entry.resource is not None else self._before(entry)
            if shown is None:
                continue
            decision = op.see(shown, record=entry.resource is not None)
            if decision.resource is not None:
                kept = decision.resource if entry.resource is not None else None
                entries.append(replace(entry, resource=kept))
        op.complete()
        return HistoryPage(entries, None, page.next_cursor, page.prev_cursor)

    def _before(self, entry: Any) -> Resource | None:
        """The version before a deletion: whether a deletion may be shown is decided on it."""
        try:
            previous = str(int(entry.version_id) - 1)
            return self._inner.vread(entry.resource_type, entry.resource_id, previous)
        except Exception:  # no readable earlier version: the deletion is not shown
            return None

    def search(self, query: SearchQuery) -> SearchResult:
        """A page of what the caller may see, as a store holding only that would give it
        (:mod:`adapter.consent.paging`); ``_summary=count`` counts exactly those rows."""
        op = self._op("search", query.resource_type)
        if query.summary_count:
            total = self._honest_count(op, query)
            op.complete()
            return SearchResult([], [], total)
        result = page(op, self._inner, query)
        op.complete()
        return result

    def _honest_count(self, op: Operation, query: SearchQuery) -> int:
        return visible_count(op, self._inner, query)

    def everything(self, careplan_id: str) -> list[Resource]:
        op = self._op("everything", "CarePlan")
        found = self._inner.everything(careplan_id)
        plan = op.see(found[0]) if found else None
        if plan is None or plan.resource is None:
            op.complete()
            raise hidden("CarePlan", careplan_id)
        out = [plan.resource, *everything_seen(op, found, plan.resource)]
        op.complete()
        return out

    # --- writes ------------------------------------------------------------------------------
    def create(self, resource: Resource) -> Resource:
        op = self._op("create", str(resource.get("resourceType")))
        resource = check_write(op, resource)
        created = self._inner.create(resource)
        op.forget(created)
        stored = self._as_seen(op, created)
        op.complete()
        return stored

    def conditional_create(self, resource: Resource, criteria: SearchQuery) -> WriteOutcome:
        op = self._op("create", str(resource.get("resourceType")))
        op.require(criteria.resource_type, "search")
        resource = check_write(op, resource)
        outcome = self._inner.conditional_create(resource, criteria)
        op.forget(outcome.resource if outcome.created else None)
        if not outcome.created:
            decision = op.see(outcome.resource)
            op.complete()
            if decision.resource is None:
                raise hidden(criteria.resource_type, "?")
            return WriteOutcome(decision.resource, False)
        shown = self._as_seen(op, outcome.resource)
        op.complete()
        return WriteOutcome(shown, True)

    def update(
        self, resource_type: str, resource_id: str, resource: Resource, if_match: str | None = None
    ) -> WriteOutcome:
        op = self._op("update", resource_type)
        current = self._current(resource_type, resource_id)
        resource = check_write(op, resource, old=current)
        outcome = self._inner.update(resource_type, resource_id, resource, if_match)
        op.forget(outcome.resource)
        shown = self._as_seen(op, outcome.resource)
        op.complete()
        return WriteOutcome(shown, outcome.created)

    def delete(self, resource_type: str, resource_id: str, if_match: str | None = None) -> None:
        op = self._op("delete", resource_type)
        current = self._current(resource_type, resource_id)
        if current is not None:
            check_delete(op, current)
        self._inner.delete(resource_type, resource_id, if_match)
        op.complete()

    def _current(self, resource_type: str, resource_id: str) -> Resource | None:
        try:
            return self._inner.read(resource_type, resource_id)
        except Exception:  # not there (yet) or deleted: nothing to protect
            return None

    def _as_seen(self, op: Operation, stored: Resource) -> Resource:
        """What the writer gets back: what they may see of it (their own input otherwise)."""
        decision = op.see(stored)
        return decision.resource if decision.resource is not None else stored

    # --- explanation -------------------------------------------------------------------------
    def disclosure(self, careplan_id: str, subject: Actor) -> Resource:
        """What ``subject`` would get of the whole plan and why (``$disclosure``). Only the
        plan's owner or coordinator may ask: the answer shows the person's Consents."""
        return self._explain(self._inner.everything(careplan_id), subject)

    def evaluate(self, resource_type: str, resource_id: str, subject: Actor) -> Resource:
        """What ``subject`` would get of one resource and why (``Consent/$evaluate``)."""
        return self._explain([self._inner.read(resource_type, resource_id)], subject)

    def _explain(self, resources: list[Resource], subject: Actor) -> Resource:
        op = self._op("read", "Consent")
        judge = Operation(self.enforcement, subject, "read")
        op.prepare(resources)
        for res in resources:
            patient = patient_of(res)
            if patient is not None and op.access(patient).basis not in ("owner", "coordinator"):
                raise Forbidden([issue5("IP-5103", None, "forbidden")])
        judged = [(r, judge.see(r, record=False)) for r in resources]
        return explanation(subject, judged)

    def transaction(self, bundle: Resource) -> Resource:
        op = Operation(self.enforcement, self.actor, "transaction")
        kept, refused = split_batch(op, bundle, self._current)
        response = self._inner.transaction(kept) if kept.get("entry") or not refused else None
        op.forget()
        op.interaction = "read"
        result = filter_response(op, bundle, response, refused)
        op.complete()
        return result
