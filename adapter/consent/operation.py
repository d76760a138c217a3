"""The hooks of one operation: start (may reject), can-see / will-see per resource (the policy's
decision), completion (AuditEvents and the recipients ledger).

An :class:`Operation` loads each person's :class:`PlanContext` once and forgets it at the end:
nothing survives to the next request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from adapter.audit.events import Disclosure, audit_event
from adapter.audit.ledger import DisclosureLedger
from adapter.audit.sink import AuditSink
from adapter.audit.trail import LedgerRow, write_trail
from adapter.auth.scopes import needed_scope, scope_allows
from adapter.consent.context import PlanContext, patient_of, ref_of
from adapter.consent.errors import Forbidden, issue5
from adapter.consent.loader import goals_for, load_context
from adapter.consent.policy import Access, Decision, access_for, decide
from adapter.ports import Actor, Clock, ResourceRepository
from mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM

__all__ = ["Enforcement", "Operation"]

Resource = dict[str, Any]


@dataclass
class Enforcement:
    """Shared by every caller's repository: the store, where audit goes, the clock."""

    inner: ResourceRepository
    audit: AuditSink
    ledger: DisclosureLedger
    clock: Clock
    enforce_scopes: bool = True


@dataclass
class Operation:
    enforcement: Enforcement
    actor: Actor
    interaction: str
    _contexts: dict[str, PlanContext] = field(default_factory=dict)
    _access: dict[str, Access] = field(default_factory=dict)
    _items: dict[tuple[str, str], Disclosure] = field(default_factory=dict)

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
    def context(self, patient: str, plan: Resource | None = None) -> PlanContext:
        """The person's plan context, loaded once per operation (with ``plan``'s goals when a
        CarePlan is the first thing judged)."""
        if patient not in self._contexts:
            self._contexts[patient] = load_context(self.enforcement.inner, patient, plan)
        return self._contexts[patient]

    def forget(self) -> None:
        """Drop what was loaded: after a write the plan is no longer what it was (the response
        to a write is judged on the plan as written)."""
        self._contexts.clear()
        self._access.clear()

    def access(self, patient: str) -> Access:
        if patient not in self._access:
            self._access[patient] = access_for(self.context(patient), self.actor, self.today())
        return self._access[patient]

    def today(self) -> str:
        return self.enforcement.clock.now_iso()[:10]

    def see(self, resource: Resource, record: bool = True) -> Decision:
        """The policy's decision on ``resource`` for this actor; recorded for the audit."""
        patient = patient_of(resource)
        if patient is None:
            return decide(None, self.actor, resource, self.today())
        if resource.get("resourceType") == "CarePlan":  # its goals decide what it may show
            ctx = self.context(patient, resource)
            ctx = self._contexts[patient] = goals_for(self.enforcement.inner, ctx, resource)
        else:
            ctx = self.context(patient)
        decision = decide(ctx, self.actor, resource, self.today(), self.access(patient))
        if record:
            self._record(ctx, resource, decision)
        return decision

    def _record(self, ctx: PlanContext, resource: Resource, decision: Decision) -> None:
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
        version = (resource.get("meta") or {}).get("versionId")
        ref = ref_of(resource) + (f"/_history/{version}" if version else "")
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
    def complete(self) -> None:
        """Write one AuditEvent per person and outcome and note consent-based recipients, in
        one transaction when the store allows it."""
        now = self.enforcement.clock.now_iso()
        items, self._items = list(self._items.values()), {}
        events = [audit_event(self.actor, item, now) for item in items]
        rows: list[LedgerRow] = [
            (consent, self.actor.organisation, now)
            for item in items
            if item.outcome == "disclosed" and self.actor.organisation
            for consent in item.consents
        ]
        write_trail(self.enforcement.audit, self.enforcement.ledger, events, rows)


def _person_identifier(ctx: PlanContext) -> dict[str, str] | None:
    patient = ctx.get(ctx.patient) or {}
    for ident in patient.get("identifier", []):
        if ident.get("system") in (FNR_SYSTEM, DNR_SYSTEM) and ident.get("value"):
            return {"system": str(ident["system"]), "value": str(ident["value"])}
    return None
