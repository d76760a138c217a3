"""Audit: AuditEvents for every disclosure and refusal, and the record of who received plan
data under which consent (recipients to inform when the consent is revoked)."""

from ipfhir.adapter.audit.events import Disclosure, audit_event, person_audit_query
from ipfhir.adapter.audit.ledger import DisclosureLedger, InMemoryLedger, Recipient
from ipfhir.adapter.audit.sink import AuditSink, InMemoryAuditSink, RepositoryAuditSink
from ipfhir.adapter.audit.trail import LedgerRow, write_trail

__all__ = [
    "AuditSink",
    "Disclosure",
    "DisclosureLedger",
    "InMemoryAuditSink",
    "InMemoryLedger",
    "LedgerRow",
    "Recipient",
    "RepositoryAuditSink",
    "audit_event",
    "person_audit_query",
    "write_trail",
]
