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

from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from ipfhir.adapter.consent.bundles import Stored, filter_response, split_batch
from ipfhir.adapter.consent.conditional import visible_matches
from ipfhir.adapter.consent.context import patient_of
from ipfhir.adapter.consent.explain import explanation
from ipfhir.adapter.consent.history import visible_history
from ipfhir.adapter.consent.missing import (
    as_missing_delete,
    as_missing_update,
    missing,
    missing_version,
)
from ipfhir.adapter.consent.operation import Enforcement, Operation, completes
from ipfhir.adapter.consent.paging import everything_seen, page, visible_count
from ipfhir.adapter.consent.provenance import check_targets
from ipfhir.adapter.consent.secure import SecureRepositoryFactory
from ipfhir.adapter.consent.versions import newest, with_newest_labels
from ipfhir.adapter.consent.writes import check_delete, check_write
from ipfhir.adapter.errors import Gone, NotFound, PreconditionFailed, issue
from ipfhir.adapter.ports import (
    Actor,
    HistoryPage,
    ReadScope,
    SearchQuery,
    SearchResult,
    WriteOutcome,
    implements,
)
from ipfhir.adapter.security_errors import Forbidden, issue5

__all__ = ["ConsentRepository", "ConsentRepositoryFactory"]

Resource = dict[str, Any]
ConsentRepositoryT = TypeVar("ConsentRepositoryT")


hidden = missing  # exactly what the store says for a resource that does not exist
_HIDDEN: Resource = {}  # _current's answer for a resource the caller may not see


class ConsentRepositoryFactory(SecureRepositoryFactory):
    """``repository_for(actor)``: the store's repository wrapped for that caller."""

    def __init__(self, enforcement: Enforcement) -> None:
        self.enforcement = enforcement

    def repository_for(self, actor: Actor) -> ConsentRepository:
        return ConsentRepository(self.enforcement, actor)


def _completed(cls: type[ConsentRepositoryT]) -> type[ConsentRepositoryT]:
    """Every public method runs in a :func:`completing` scope: each operation it opens is
    completed (audited) exactly once, whatever the outcome."""
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, completes(member))
    return cls


@_completed
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
    def _reads(self) -> AbstractContextManager[None]:
        """The store's reads of a read-only operation on one connection (one snapshot: the
        resource, the stamps and the plan it is judged on) when the store offers it."""
        inner = self._inner
        return inner.reading() if implements(inner, ReadScope) else nullcontext()

    def read(self, resource_type: str, resource_id: str) -> Resource:
        op = self._op("read", resource_type)
        with self._reads():
            try:
                found = self._inner.read(resource_type, resource_id)
            except Gone:  # deleted: said only to whom its last content is shown
                self._gate(op, resource_type, resource_id, missing(resource_type, resource_id))
                raise
            decision = op.see(found)
        if decision.resource is None:
            raise missing(resource_type, resource_id)
        return decision.resource

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource:
        op = self._op("vread", resource_type)
        nowhere = missing_version(resource_type, resource_id, version_id)
        with self._reads():
            latest = self._gate(op, resource_type, resource_id, nowhere)
            found = self._inner.vread(resource_type, resource_id, version_id)
            decision = op.see(with_newest_labels(found, latest))
        if decision.resource is None:
            raise nowhere
        return found if decision.effect == "permit" else decision.resource

    def _gate(self, op: Operation, rtype: str, rid: str, nowhere: NotFound) -> Resource | None:
        """The newest version with content of ``rtype/rid`` (``None``: it never existed), or
        ``nowhere`` raised when the caller may not see it (judged with the current consent;
        the refusal is audited)."""
        latest = newest(self._inner, rtype, rid)
        if latest is not None and op.see(latest, record=False).resource is None:
            op.see(latest)
            raise nowhere
        return latest

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
        with self._reads():
            if resource_id is not None:
                self._gate(op, resource_type, resource_id, missing(resource_type, resource_id))
            return visible_history(
                op, self._inner, resource_type, resource_id, count, since, cursor
            )

    def search(self, query: SearchQuery) -> SearchResult:
        """A page of what the caller may see, as a store holding only that would give it
        (:mod:`adapter.consent.paging`); ``_summary=count`` counts exactly those rows."""
        op = self._op("search", query.resource_type)
        if query.summary_count:
            with self._reads():
                total = self._honest_count(op, query)
            op.complete()
            return SearchResult([], [], total)
        with self._reads():
            result = page(op, self._inner, query)
        op.complete()
        return result

    def _honest_count(self, op: Operation, query: SearchQuery) -> int:
        return visible_count(op, self._inner, query)

    def everything(self, careplan_id: str) -> list[Resource]:
        op = self._op("everything", "CarePlan")
        with self._reads():
            found = self._inner.everything(careplan_id)
            plan = op.see(found[0]) if found else None
            seen = plan.resource if plan is not None else None
            out = [seen, *everything_seen(op, found, seen)] if seen is not None else []
        if seen is None:
            op.complete()
            raise hidden("CarePlan", careplan_id)
        op.complete()
        return out

    # --- writes ------------------------------------------------------------------------------
    def create(self, resource: Resource) -> Resource:
        op = self._op("create", str(resource.get("resourceType")))
        with self._reads():  # the check's reads: one connection
            resource = check_write(op, resource)
            check_targets(self._inner, resource)
        created = self._inner.create(resource)
        op.forget(created)
        return self._as_seen(op, created)

    def conditional_create(self, resource: Resource, criteria: SearchQuery) -> WriteOutcome:
        """Create unless the criteria match a resource the caller may see: matches it may not
        see are not counted (the answer is the one of a store without them)."""
        op = self._op("create", str(resource.get("resourceType")))
        op.require(criteria.resource_type, "search")
        resource = check_write(op, resource)
        check_targets(self._inner, resource)
        seen, hidden_too = visible_matches(op, self._inner, criteria)
        if len(seen) > 1:
            raise PreconditionFailed(
                [issue("IP-4403", "If-None-Exist", "multiple-matches", count=len(seen))]
            )
        if seen:
            return WriteOutcome(seen[0], False)
        if hidden_too:  # the store would answer with the match the caller may not see
            created = self._inner.create(resource)
        else:
            outcome = self._inner.conditional_create(resource, criteria)
            if not outcome.created:  # created by someone else since: judge it like a match
                op.forget()
                return self._visible_match(op, outcome.resource, resource, criteria)
            created = outcome.resource
        op.forget(created)
        return WriteOutcome(self._as_seen(op, created), True)

    def _visible_match(
        self, op: Operation, match: Resource, resource: Resource, criteria: SearchQuery
    ) -> WriteOutcome:
        decision = op.see(match)
        if decision.resource is not None:
            return WriteOutcome(decision.resource, False)
        created = self._inner.create(resource)
        op.forget(created)
        return WriteOutcome(self._as_seen(op, created), True)

    def update(
        self,
        resource_type: str,
        resource_id: str,
        resource: Resource,
        if_match: str | None = None,
        *,
        create_only: bool = False,
    ) -> WriteOutcome:
        """A write judged on the version it replaces; one judged as a creation (nothing
        current there) is stored as a creation only: a concurrent writer that took the id
        since makes it a conflict (409 IP-4404), never an update no one authorised."""
        op = self._op("update", resource_type)
        current = self._current(op, resource_type, resource_id)
        if current is _HIDDEN:
            check_write(op, resource)  # what a write to a free id is checked for
            as_missing_update(self._inner, resource_type, resource_id, resource, if_match)
        resource = check_write(op, resource, old=current)
        check_targets(self._inner, resource)
        outcome = self._inner.update(
            resource_type,
            resource_id,
            resource,
            if_match,
            create_only=create_only or current is None,
        )
        op.forget(outcome.resource)
        return WriteOutcome(self._as_seen(op, outcome.resource), outcome.created)

    def delete(self, resource_type: str, resource_id: str, if_match: str | None = None) -> None:
        op = self._op("delete", resource_type)
        current = self._current(op, resource_type, resource_id)
        if current is _HIDDEN:
            as_missing_delete(self._inner, resource_type, resource_id)
        if current is not None:
            check_delete(op, current)
        self._inner.delete(resource_type, resource_id, if_match)

    def _current(self, op: Operation, rtype: str, rid: str) -> Resource | None:
        """The stored current version an update or delete replaces (``None``: none, or
        deleted); :data:`_HIDDEN` when the caller may not see the resource (then it is
        answered as missing). Only "not found" and "gone" are answers: any other failure of
        the store is raised (fail closed)."""
        latest = newest(self._inner, rtype, rid)
        if latest is None:
            return None
        if op.see(latest, record=False).resource is None:
            op.see(latest)  # the refusal is audited
            return _HIDDEN
        try:
            return self._inner.read(rtype, rid)
        except Gone:
            return None

    def _as_missing(
        self, method: str, rtype: str, rid: str, resource: Resource | None, if_match: str | None
    ) -> None:
        if method == "DELETE" or resource is None:
            as_missing_delete(self._inner, rtype, rid)
        as_missing_update(self._inner, rtype, rid, resource, if_match)

    def _existing(self, rtype: str, rid: str) -> Resource | None:
        """The stored current version (``None``: not there, or deleted); for Bundle entries.
        Any other failure of the store is raised (fail closed)."""
        try:
            return self._inner.read(rtype, rid)
        except (NotFound, Gone):
            return None

    def _as_seen(self, op: Operation, stored: Resource) -> Resource:
        """What the writer gets back: what they may see of it (their own input otherwise),
        judged on reads that begin after the write committed (one connection)."""
        with self._reads():
            decision = op.see(stored)
        return decision.resource if decision.resource is not None else stored

    # --- explanation -------------------------------------------------------------------------
    def disclosure(self, careplan_id: str, subject: Actor) -> Resource:
        """What ``subject`` would get of the whole plan and why (``$disclosure``). Only the
        plan's owner or coordinator may ask: the answer shows the person's Consents."""
        op = self._op("read", "Consent")
        found = self._inner.everything(careplan_id)
        if not found or op.see(found[0], record=False).resource is None:
            raise missing("CarePlan", careplan_id)
        return self._explain(op, found, subject)

    def evaluate(self, resource_type: str, resource_id: str, subject: Actor) -> Resource:
        """What ``subject`` would get of one resource and why (``Consent/$evaluate``); answered
        like a read for a resource the caller may not see."""
        op = self._op("read", "Consent")
        try:
            found = self._inner.read(resource_type, resource_id)
        except Gone:
            self._gate(op, resource_type, resource_id, missing(resource_type, resource_id))
            raise
        if op.see(found, record=False).resource is None:
            raise missing(resource_type, resource_id)
        return self._explain(op, [found], subject)

    def _explain(self, op: Operation, resources: list[Resource], subject: Actor) -> Resource:
        judge = Operation(self.enforcement, subject, "read")
        op.prepare(resources)
        for res in resources:
            op.see(res)  # audited: disclosed to the asker when the answer is given
            patient = patient_of(res)
            if patient is not None and op.access(patient).basis not in ("owner", "coordinator"):
                raise Forbidden([issue5("IP-5103", None, "forbidden")])
        judged = [(r, judge.see(r, record=False)) for r in resources]
        return explanation(subject, judged)

    def transaction(self, bundle: Resource) -> Resource:
        op = Operation(self.enforcement, self.actor, "transaction")
        stored = Stored(
            self._existing,
            lambda t, i: newest(self._inner, t, i),
            self._as_missing,
            lambda criteria: visible_matches(op, self._inner, criteria),
        )
        kept, refused = split_batch(op, bundle, stored)
        response = self._inner.transaction(kept) if kept.get("entry") or not refused else None
        op.forget()
        op.interaction = "read"
        return filter_response(op, bundle, response, refused)
