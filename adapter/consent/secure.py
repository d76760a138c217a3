"""The type of everything that serves or discloses plan data: a repository factory whose
repositories enforce the person's consent (and audit what they disclose).

A base class, not a Protocol, on purpose: the store's bare repository answers the same calls, so
a structural type would accept it and serve plans without consent. The one implementation in
the adapter is :class:`adapter.consent.enforce.ConsentRepositoryFactory`
(tests/unit/test_secure_factory.py refuses any other); tests of store and HTTP mechanics declare
their permit-all factory in the open, under tests/. The server's own writes (the audit trail) go
through the named system repository (``adapter.bootstrap.system_repository``), which is never a
factory and so can never be served.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ipfhir.adapter.ports import Actor, ResourceRepository

__all__ = ["SecureRepositoryFactory"]


class SecureRepositoryFactory(ABC):
    """``repository_for(actor)``: a repository that discloses to ``actor`` only what the
    person's consent covers."""

    @abstractmethod
    def repository_for(self, actor: Actor) -> ResourceRepository:
        """The repository bound to ``actor`` (the caller named by its verified token)."""
