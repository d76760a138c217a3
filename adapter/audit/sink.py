"""Where AuditEvents go (``adapter.ports.AuditSink``): append-only, written by the server, never
by a client. The server's sink is the store's audit log (``adapter.store.audit_log
.SqlAuditSink``, one row per event); the two here write through a repository or keep a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipfhir.adapter.ports import AuditSink, ResourceRepository

__all__ = ["AuditSink", "InMemoryAuditSink", "RepositoryAuditSink"]

Resource = dict[str, Any]


class RepositoryAuditSink:
    """Creates each AuditEvent as a resource through the store (a repository allowed to write
    AuditEvent: ``SqlRepository(..., system=True)``). Nothing here updates or deletes."""

    def __init__(self, repository: ResourceRepository) -> None:
        self._repository = repository

    @property
    def engine(self) -> Any:
        """The store's engine when the repository is a SQL store, else ``None``."""
        return getattr(self._repository, "engine", None)

    def record(self, event: Resource) -> None:
        self._repository.create(event)

    def record_in(self, transaction: Any, events: list[Resource]) -> None:
        writer = getattr(self._repository, "writer", None)
        if writer is None:
            raise TypeError("the audit repository writes no transactions of the store")
        for event in events:
            writer.create(transaction, event, checked=True)

    def record_with(self, events: list[Resource], then: Callable[[Any], None]) -> bool:
        """Every event, then ``then(connection)``, in one write transaction of the store;
        ``False`` (nothing written) when the repository offers no write transaction.

        The events are built by :func:`adapter.audit.events.audit_event` from typed data; they
        are not run through the profile validator on every request (about 0.8 ms each) — the
        tests validate the shapes that function produces."""
        begin = getattr(self._repository, "begin_write", None)
        if begin is None:
            return False
        with begin() as conn:
            self.record_in(conn, events)
            then(conn)
        return True


class InMemoryAuditSink:
    """For tests and benchmarks: keeps the events in a list."""

    def __init__(self) -> None:
        self.events: list[Resource] = []

    def record(self, event: Resource) -> None:
        self.events.append(event)

    def record_in(self, transaction: Any, events: list[Resource]) -> None:
        self.events.extend(events)

    def record_with(self, events: list[Resource], then: Callable[[Any], None]) -> bool:
        return False
