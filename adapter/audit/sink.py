"""Where AuditEvents go: append-only, written by the server, never by a client."""

from __future__ import annotations

from typing import Any, Protocol

from adapter.ports import ResourceRepository

__all__ = ["AuditSink", "InMemoryAuditSink", "RepositoryAuditSink"]

Resource = dict[str, Any]


class AuditSink(Protocol):
    def record(self, event: Resource) -> None: ...


class RepositoryAuditSink:
    """Creates each AuditEvent through the store (a repository allowed to write AuditEvent:
    ``SqlRepository(..., system=True)``). Nothing here updates or deletes."""

    def __init__(self, repository: ResourceRepository) -> None:
        self._repository = repository

    def record(self, event: Resource) -> None:
        self._repository.create(event)


class InMemoryAuditSink:
    """For tests and benchmarks: keeps the events in a list."""

    def __init__(self) -> None:
        self.events: list[Resource] = []

    def record(self, event: Resource) -> None:
        self.events.append(event)
