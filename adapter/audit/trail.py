"""The audit trail of one operation: its AuditEvents and its recipients-ledger rows, written
together — in one write transaction of the store when the sink and the ledger share a database
(``RepositoryAuditSink`` over a SQL store and ``SqlLedger`` on the same engine), one by one
otherwise (in-memory sinks in tests)."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.audit.ledger import DisclosureLedger, SqlLedger
from ipfhir.adapter.audit.sink import AuditSink, RepositoryAuditSink

__all__ = ["LedgerRow", "write_trail"]

Resource = dict[str, Any]
LedgerRow = tuple[str, str, str]  # (consent "Consent/id", organisasjonsnummer, ISO instant)


def write_trail(
    audit: AuditSink,
    ledger: DisclosureLedger,
    events: list[Resource],
    recipients: list[LedgerRow],
) -> None:
    """Write ``events`` and ``recipients``; all or nothing when they share a database."""
    if not events and not recipients:
        return
    if (
        isinstance(audit, RepositoryAuditSink)
        and isinstance(ledger, SqlLedger)
        and audit.engine is not None
        and audit.engine is ledger.engine
    ):

        def rows(conn: Any) -> None:
            for consent, organisation, when in recipients:
                ledger.record_on(conn, consent, organisation, when)

        if audit.record_all(events, rows):
            return
    for event in events:
        audit.record(event)
    for consent, organisation, when in recipients:
        ledger.record(consent, organisation, when)
