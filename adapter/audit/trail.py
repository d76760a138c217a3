"""The audit trail of one operation: its AuditEvents and its recipients-ledger rows, written
together — in one write transaction of the store when the sink has transactions (the store's
audit log, or a repository sink over a SQL store) and the ledger is in the same database, one by
one otherwise (in-memory sinks in tests)."""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.ports import AuditSink, DisclosureLedger

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

    def rows(transaction: Any) -> None:
        for consent, organisation, when in recipients:
            ledger.record_in(transaction, consent, organisation, when)

    if audit.record_with(events, rows):
        return
    for event in events:
        audit.record(event)
    for consent, organisation, when in recipients:
        ledger.record(consent, organisation, when)
