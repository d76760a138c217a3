"""The hooks of one operation: start (may reject), can-see / will-see per resource (the policy's
decision), completion (AuditEvents and the recipients ledger).

An :class:`Operation` finds each person's :class:`PlanContext` once: from the enforcement's
:class:`~adapter.consent.cache.ContextCache` when the store's change stamps (read once per
operation, for every person it judges, in one query when it judges a page) say it is still the
plan as stored, loaded from the store otherwise. After a write (:meth:`Operation.forget`) the
operation reads the stamps again; a write of a type a cached context holds also drops the cache
entries it used. The Goals a judged CarePlan (Task, Provenance) names are fetched by the
operation, never taken from the cache (a Goal write bumps no stamp).

Completion is structural (as HAPI's ConsentInterceptor calls ``completeOperationSuccess`` /
``completeOperationFailure`` from the framework): every :class:`Operation` created while a
:func:`completing` scope is open — every public method of the enforcement point runs in one
(:func:`completes`) — is completed when the scope ends, on success and on error alike, and its
audit written exactly once. When the scope ends with an exception nothing was delivered: what
the operation had judged disclosable is audited as ``failed`` (and noted in no ledger), its
refusals as refusals. :meth:`Operation.complete` may still be called earlier (it writes what is
pending; the scope then writes only what was recorded since).

Writes are audited structurally too, and atomically: while a scope is open, the store's unit of
work (``adapter.ports.UnitOfWork``) calls the scope's first operation just before each write
transaction commits, and :meth:`Operation.audit_writes` records one AuditEvent per resource
written (action C, U or D) on that same transaction. Data is never stored without its audit
record, even when the process dies between the commit and the answer. A store without a unit of
work (test doubles) gets the earlier behaviour: the write judged and audited after it returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, Literal, ParamSpec, TypeVar

from ipfhir.adapter.audit.events import Disclosure, audit_event
from ipfhir.adapter.audit.ledger import DisclosureLedger
from ipfhir.adapter.audit.sink import AuditSink
from ipfhir.adapter.audit.trail import LedgerRow, write_trail
from ipfhir.adapter.auth.scopes import needed_scope, scope_allows
from ipfhir.adapter.consent.cache import CacheEntry, ContextCache, Stamps
from ipfhir.adapter.consent.context import PlanContext, patient_of, ref_of
from ipfhir.adapter.consent.loader import goals_for, load_context
from ipfhir.adapter.consent.policy import Access, ConsentRules, Decision, Policy
from ipfhir.adapter.fhir.person_ties import CONTEXT_TYPES, DIRECTORY_TYPES
from ipfhir.adapter.ports import (
    Actor,
    ChangeStamps,
    Clock,
    PreCommitHook,
    ResourceRepository,
    UnitOfWork,
    Written,
    implements,
)
from ipfhir.adapter.security_errors import Forbidden, issue5
from ipfhir.mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM

__all__ = ["Enforcement", "Operation", "WriteRule", "completes", "completing"]

# Types whose references to Goals are judged: the Goals they name join the context.
_GOALS_DECIDE = frozenset({"CarePlan", "Task", "Provenance"})

Resource = dict[str, Any]
# A rule every write through the enforced repositories passes, given the stored version and the
# new one (``None``: a create, a delete); it raises to refuse. Bootstrap wires the exchange's
# (adapter/sync/exchange_only.py: the exchange's Tasks are written by the exchange only).
WriteRule = Callable[[Resource | None, Resource | None], None]
P = ParamSpec("P")
T = TypeVar("T")
# The innermost open completing() scope (None: no scope open).
_OPEN: ContextVar[_Scope | None] = ContextVar("ipfhir_open_operations", default=None)


@dataclass
class Enforcement:
    """Shared by every caller's repository: the store, where audit goes, the clock, and the
    policy it applies (the mechanism here, the decision there; the server's is always
    :class:`~adapter.consent.policy.ConsentRules`)."""

    inner: ResourceRepository
    audit: AuditSink
    ledger: DisclosureLedger
    clock: Clock
    enforce_scopes: bool = True
    cache: ContextCache = field(default_factory=ContextCache)
    # More work on each write transaction the enforced repositories commit, after its audit and
    # on the same transaction (bootstrap wires adapter/services/revoke.py: revocation notices).
    on_writes: PreCommitHook | None = None
    policy: Policy = field(default_factory=ConsentRules)
    # Judged before the consent's write rules, on what the caller may see (check_write).
    write_rules: tuple[WriteRule, ...] = ()

    def stamps(self, patients: list[str]) -> dict[str, Stamps] | None:
        """(person, directory) stamps of ``patients`` in one query; ``None`` when the store
        keeps none or the cache is off (then every operation loads afresh)."""
        if self.cache.size == 0 or not implements(self.inner, ChangeStamps):
            return None
        found = self.inner.stamps(patients)
        return {p: (found.get(p, 0), found.get("*", 0)) for p in patients}


@dataclass
class Operation:
    enforcement: Enforcement
    actor: Actor
    interaction: str
    _contexts: dict[str, PlanContext] = field(default_factory=dict)
    _access: dict[str, Access] = field(default_factory=dict)
    _stamps: dict[str, Stamps] = field(default_factory=dict)
    _entries: dict[str, CacheEntry] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)  # persons whose cache entries it used
    _items: dict[tuple[str, str], Disclosure] = field(default_factory=dict)
    _written: set[str] = field(default_factory=set)  # "Type/id/_history/v" audited as writes
    _today: str | None = None  # the operation's date, read from the clock once

    def __post_init__(self) -> None:
        scope = _OPEN.get()
        if scope is not None:
            scope.add(self)

    # --- writes (called by the store's unit of work, on its transaction) ---------------------
    def audit_writes(self, transaction: Any, writes: Sequence[Written]) -> None:
        """One AuditEvent per resource written, with its action, recorded on ``transaction``
        (commits with the writes). The answer's judging does not audit them again."""
        if not writes:
            return
        now = self.enforcement.clock.now_iso()
        events = [audit_event(self.actor, self._written_item(w), now) for w in writes]
        self.enforcement.audit.record_in(transaction, events)
        self._written.update(_version_ref(w) for w in writes)
        if self.enforcement.on_writes is not None:
            self.enforcement.on_writes(transaction, writes)

    def _written_item(self, written: Written) -> Disclosure:
        resource = written.resource or {}
        patient = patient_of(resource) or ""
        ctx = self._contexts.get(patient)
        ident = _person_identifier(ctx) if ctx is not None else None
        if ident is None and written.resource_type == "Patient":
            ident = _person_identifier(PlanContext(patient, {patient: resource}))
        access = self._access.get(patient)
        basis = access.basis if access is not None else "write"
        return Disclosure(
            written.action, patient, ident, "stored", [_version_ref(written)], basis=basis
        )

    # --- start -------------------------------------------------------------------------------
    def may(self, resource_type: str, interaction: str | None = None) -> bool:
        if not self.enforcement.enforce_scopes:
            return True
        return scope_allows(self.actor.scopes, resource_type, interaction or self.interaction)

    def require(self, resource_type: str, interaction: str | None = None) -> None:
        """Start hook: refuse outright when the token's scopes do not cover the interaction."""
        wanted = interaction or self.interaction
        if not self.may(resource_type, wanted):
            needed = needed_scope(resource_type, wanted)
            raise Forbidden(
                [
                    issue5(
                        "IP-5003",
                        None,
                        "forbidden",
                        interaction=wanted,
                        rtype=resource_type,
                        needed=needed,
                    )
                ]
            )

    # --- can-see / will-see ------------------------------------------------------------------
    def prepare(self, resources: Iterable[Resource | None]) -> None:
        """Read the stamps of every person ``resources`` are tied to, in one query (a page)."""
        self._stamps_of([p for r in resources if r and (p := patient_of(r)) is not None])

    def _stamps_of(self, patients: list[str]) -> None:
        wanted = [p for p in dict.fromkeys(patients) if p not in self._stamps]
        if wanted:
            found = self.enforcement.stamps(wanted)
            if found is not None:
                self._stamps.update(found)

    def context(self, patient: str, plan: Resource | None = None) -> PlanContext:
        """The person's plan context, found once per operation (with ``plan``'s goals when a
        CarePlan is the first thing judged): cached while the stamps are unchanged, without
        the goals (:func:`~adapter.consent.cache.stamped_part`)."""
        if patient in self._contexts:
            return self._contexts[patient]
        self._stamps_of([patient])
        stamps, cache = self._stamps.get(patient), self.enforcement.cache
        entry = cache.get(patient, stamps) if stamps is not None else None
        if entry is not None:
            ctx = entry.context
        else:
            ctx = load_context(self.enforcement.inner, patient, plan)
            if stamps is not None:
                entry = cache.put(stamps, ctx)
        if entry is not None:
            self._entries[patient] = entry
            self._used.add(patient)
        self._contexts[patient] = ctx
        return ctx

    def _with_goals(self, patient: str, plan: Resource) -> PlanContext:
        """The context with the person's Goals ``plan`` names, fetched for this operation."""
        ctx = self.context(patient, plan)
        bigger = goals_for(self.enforcement.inner, ctx, plan)
        if bigger is not ctx:
            self._contexts[patient] = bigger
        return bigger

    def forget(self, written: Resource | None = None) -> None:
        """Drop what was found: after a write the plan is no longer what it was (the response
        to a write is judged on the plan as written, never on a context found before it): the
        stamps are read again, the contexts found again (from the cache when the stamps say
        they still hold). Unless ``written`` (the resource this operation's write stored) is of
        a type no cached context holds (a Goal, an Observation: its write bumped no stamp), the
        cache entries the operation used are dropped too."""
        if written is None or _in_contexts(written):
            self.enforcement.cache.evict(sorted(self._used | self._contexts.keys()))
        self._contexts.clear()
        self._access.clear()
        self._stamps.clear()
        self._entries.clear()

    def access(self, patient: str) -> Access:
        if patient not in self._access:
            ctx, today = self.context(patient), self.today()
            entry = self._entries.get(patient)
            policy = self.enforcement.policy
            if entry is None:
                self._access[patient] = policy.access_for(ctx, self.actor, today)
            else:
                compute = lambda: policy.access_for(ctx, self.actor, today)  # noqa: E731
                self._access[patient] = entry.access(self.actor, today, compute)
        return self._access[patient]

    def today(self) -> str:
        """The date every decision of the operation is taken on (read once: a page of rows is
        judged on one date, and the clock is not read again for each row)."""
        if self._today is None:
            self._today = self.enforcement.clock.now_iso()[:10]
        return self._today

    def see(self, resource: Resource, record: bool = True) -> Decision:
        """The policy's decision on ``resource`` for this actor; recorded for the audit."""
        patient = patient_of(resource)
        if patient is None:
            return self.enforcement.policy.decide(None, self.actor, resource, self.today())
        if resource.get("resourceType") in _GOALS_DECIDE:  # its goals decide what it shows
            ctx = self._with_goals(patient, resource)
        else:
            ctx = self.context(patient)
        access = self.access(patient)
        decision = self.enforcement.policy.decide(ctx, self.actor, resource, self.today(), access)
        if record:
            self._record(ctx, resource, decision)
        return decision

    def _record(self, ctx: PlanContext, resource: Resource, decision: Decision) -> None:
        version = (resource.get("meta") or {}).get("versionId")
        ref = ref_of(resource) + (f"/_history/{version}" if version else "")
        if ref in self._written:  # the caller's own write, audited with it
            return
        outcome: Literal["disclosed", "refused"] = "disclosed" if decision.disclosed else "refused"
        key = (ctx.patient, outcome)
        item = self._items.get(key)
        if item is None:
            item = Disclosure(
                self.interaction,
                ctx.patient,
                _person_identifier(ctx),
                outcome,
                basis=decision.basis,
            )
            self._items[key] = item
        if ref not in item.resources:
            item.resources.append(ref)
        for consent in decision.consents:
            if consent not in item.consents:
                item.consents.append(consent)
        if not decision.disclosed and not item.detail and decision.reasons:
            item.detail = decision.reasons[0].text

    def refuse(self, patient: str, detail: str) -> None:
        ctx = self.context(patient)
        self._items[(patient, "refused")] = Disclosure(
            self.interaction,
            patient,
            _person_identifier(ctx),
            "refused",
            basis="write",
            detail=detail,
        )

    # --- completion --------------------------------------------------------------------------
    def complete(self, error: BaseException | None = None) -> None:
        """Write one AuditEvent per person and outcome and note consent-based recipients, in
        one transaction when the store allows it; what was recorded since the last call only.
        With ``error`` (the operation ended with it) nothing was delivered: disclosures are
        audited as ``failed`` and go to no ledger."""
        now = self.enforcement.clock.now_iso()
        items, self._items = list(self._items.values()), {}
        if error is not None:
            why = _failure(error)
            items = [
                replace(i, outcome="failed", detail=why) if i.outcome == "disclosed" else i
                for i in items
            ]
        events = [audit_event(self.actor, item, now) for item in items]
        rows: list[LedgerRow] = [
            (consent, self.actor.organisation, now)
            for item in items
            if item.outcome == "disclosed" and self.actor.organisation
            for consent in item.consents
        ]
        write_trail(self.enforcement.audit, self.enforcement.ledger, events, rows)


@dataclass
class _Scope:
    """The operations of one :func:`completing` scope; the first one audits the writes the
    store commits while the scope is open."""

    opened: list[Operation] = field(default_factory=list)
    hooks: ExitStack = field(default_factory=ExitStack)

    def add(self, op: Operation) -> None:
        self.opened.append(op)
        inner = op.enforcement.inner
        if len(self.opened) == 1 and implements(inner, UnitOfWork):
            self.hooks.enter_context(inner.pre_commit(self.before_commit))

    def before_commit(self, transaction: Any, writes: Sequence[Written]) -> None:
        if _OPEN.get() is self:  # a scope opened inside this one audits its own writes
            self.opened[0].audit_writes(transaction, writes)


@contextmanager
def completing() -> Iterator[None]:
    """A scope whose operations are all completed when it ends, however it ends."""
    scope = _Scope()
    token = _OPEN.set(scope)
    try:
        yield
    except BaseException as err:
        scope.hooks.close()
        _OPEN.reset(token)
        _complete_all(scope.opened, err)
        raise
    scope.hooks.close()
    _OPEN.reset(token)
    _complete_all(scope.opened, None)


def _complete_all(opened: list[Operation], error: BaseException | None) -> None:
    for op in opened:
        op.complete(error)


def completes(method: Callable[P, T]) -> Callable[P, T]:
    """``method`` run inside a :func:`completing` scope."""

    @functools.wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with completing():
            return method(*args, **kwargs)

    return run


def _failure(error: BaseException) -> str:
    ids = [i.message_id for i in getattr(error, "issues", ()) if getattr(i, "message_id", None)]
    return f"the operation failed ({', '.join(ids) or type(error).__name__}); nothing disclosed"


def _version_ref(written: Written) -> str:
    return f"{written.resource_type}/{written.resource_id}/_history/{written.version_id}"


def _in_contexts(resource: Resource) -> bool:
    """Of a type a cached context holds (a write of it bumps a stamp)."""
    rtype = resource.get("resourceType")
    return rtype in CONTEXT_TYPES or rtype in DIRECTORY_TYPES


def _person_identifier(ctx: PlanContext) -> dict[str, str] | None:
    patient = ctx.get(ctx.patient) or {}
    for ident in patient.get("identifier", []):
        if ident.get("system") in (FNR_SYSTEM, DNR_SYSTEM) and ident.get("value"):
            return {"system": str(ident["system"]), "value": str(ident["value"])}
    return None
