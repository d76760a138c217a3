"""Recipients to inform: which organisations received plan data under which sharing consent.

Written on every disclosure made on a consent (not on the owner's or coordinator's own reads).
When the person revokes the consent, :meth:`DisclosureLedger.recipients` lists the organisations
a sync engine must tell; delivery is a later concern. The ledger in the store's database is
:class:`adapter.store.ledger.SqlLedger`; this package knows the ports only.
"""

from __future__ import annotations

import threading
from typing import Any

from ipfhir.adapter.ports import DisclosureLedger, Recipient

__all__ = ["DisclosureLedger", "InMemoryLedger", "Recipient"]


class InMemoryLedger:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Recipient] = {}
        self._lock = threading.Lock()

    def record(self, consent: str, organisation: str, when: str) -> None:
        with self._lock:
            old = self._rows.get((consent, organisation))
            first = old.first_disclosed if old else when
            self._rows[(consent, organisation)] = Recipient(consent, organisation, first, when)

    def record_in(self, transaction: Any, consent: str, organisation: str, when: str) -> None:
        self.record(consent, organisation, when)

    def recipients(self, consent: str) -> list[Recipient]:
        return sorted(
            (r for (c, _o), r in self._rows.items() if c == consent), key=lambda r: r.organisation
        )
