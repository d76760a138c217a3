"""The type of everything that serves or discloses plan data,
:class:`~adapter.ports.SecureRepositoryFactory`, named here too: the consent package is where its
one implementation lives (:class:`adapter.consent.enforce.ConsentRepositoryFactory`). It is
defined with the ports so that every layer that discloses (HTTP, use cases, the exchange with
other servers) can ask for it without importing consent.
"""

from __future__ import annotations

from ipfhir.adapter.ports import SecureRepositoryFactory

__all__ = ["SecureRepositoryFactory"]
