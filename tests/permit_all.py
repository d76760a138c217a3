"""Test wiring only: a :class:`SecureRepositoryFactory` whose policy permits everything.

Tests of store and HTTP mechanics (CRUD, versions, search, paging, bundles, formats, limits)
and ``bench/serve_store.py`` serve the store without consent on purpose: through the consent
enforcement point they would mostly test the policy. ``create_app`` serves only a
``SecureRepositoryFactory``, so such a test says so by name, here, outside the shipped code;
tests/unit/test_secure_factory.py keeps the adapter's only implementation the consent one.
"""

from __future__ import annotations

from ipfhir.adapter.consent.secure import SecureRepositoryFactory
from ipfhir.adapter.ports import Actor, ResourceRepository

__all__ = ["PermitAll"]


class PermitAll(SecureRepositoryFactory):
    """Every caller gets ``repository`` itself: nothing hidden, nothing audited."""

    def __init__(self, repository: ResourceRepository) -> None:
        self.repository = repository

    def repository_for(self, actor: Actor) -> ResourceRepository:
        return self.repository
