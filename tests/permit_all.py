"""Test wiring only: permit-all, named as such, in two forms.

- :class:`PermitAllPolicy`: a :class:`~adapter.ports.DisclosurePolicy` that permits everything,
  plugged into the real enforcement point (``Enforcement(..., policy=PermitAllPolicy())``): the
  mechanism (scopes, audit, recipients ledger, write rules for a plan's holders) still runs, the
  decision is always "permit". For tests of the mechanism apart from the consent rules.
- :class:`PermitAll`: a :class:`SecureRepositoryFactory` that hands every caller the bare store.
  Tests of store and HTTP mechanics (CRUD, versions, search, paging and its totals, bundles,
  formats, limits) and ``bench/serve_store.py`` serve the store without any enforcement on
  purpose: through the enforcement point even a permit-all policy would change what they test
  (a filtered search reports no total; every read is audited into the store they count).
  ``create_app`` serves only a ``SecureRepositoryFactory``, so such a test says so by name, here,
  outside the shipped code; tests/unit/test_secure_factory.py keeps the adapter's only
  implementation the consent one.
"""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.consent.context import PlanContext
from ipfhir.adapter.consent.policy import Access, Decision, Reason
from ipfhir.adapter.consent.secure import SecureRepositoryFactory
from ipfhir.adapter.ports import Actor, ResourceRepository

__all__ = ["PermitAll", "PermitAllPolicy"]

_WHY = (Reason("permit-all test policy"),)


class PermitAllPolicy:
    """Every actor holds every plan (basis ``owner``) and sees every resource whole."""

    def access_for(self, ctx: PlanContext, actor: Actor, today: str) -> Access:
        return Access("owner", (), _WHY)

    def decide(
        self,
        ctx: PlanContext | None,
        actor: Actor,
        resource: dict[str, Any],
        today: str,
        access: Access | None = None,
    ) -> Decision:
        return Decision("permit", "owner", resource, _WHY)


class PermitAll(SecureRepositoryFactory):
    """Every caller gets ``repository`` itself: nothing hidden, nothing audited."""

    def __init__(self, repository: ResourceRepository) -> None:
        self.repository = repository

    def repository_for(self, actor: Actor) -> ResourceRepository:
        return self.repository
