"""The audit trail as it is written: one row per AuditEvent in ``audit_log``, appended on the
transaction of the request it records (one statement for the request's events), and made a
versioned AuditEvent resource — searchable and readable like any other, under the same consent
rules — when AuditEvents are read (:func:`materialise`).

Why two steps: an AuditEvent written as a resource costs a version row, a current row and index
rows per disclosure, about half of a secure read's database time. An appended row costs one
insert, and it commits with the write it records (a unit-of-work pre-commit hook) or, for a read
or a refusal, before the answer leaves. Nothing is lost between the two steps: the row is deleted
in the transaction that stores the resource, and a materialisation that fails leaves the rows.

An AuditEvent's ``recorded`` is the moment of the operation; its ``meta.lastUpdated`` is the
moment it was made a resource (search and sort by ``date`` use ``recorded``).

Concurrent materialisations: SQLite's writers queue (``BEGIN IMMEDIATE``); on PostgreSQL the rows
are locked ``FOR UPDATE``, so a second materialisation waits for the first and then finds them
gone. A reader of AuditEvents therefore sees every event committed before its read began.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, exists, select

from ipfhir.adapter.store.driver_sql import insert_rows
from ipfhir.adapter.store.engine import WRITE_OPTION
from ipfhir.adapter.store.schema import audit_log
from ipfhir.adapter.store.unit import begin_write

__all__ = ["SqlAuditSink", "append", "materialise", "pending"]

Resource = dict[str, Any]
_BATCH = 500


def append(conn: Connection, events: list[Resource]) -> None:
    """Append ``events`` on ``conn``'s open transaction; each gets its resource id now."""
    if not events:
        return
    rows = [
        {"event_id": str(uuid.uuid4()), "body": orjson.dumps(event).decode()} for event in events
    ]
    insert_rows(conn, audit_log, rows)


def pending(conn: Connection) -> bool:
    """Are there rows not yet made resources? (One index probe.)"""
    return bool(conn.execute(select(exists().select_from(audit_log))).scalar())


def materialise(engine: Engine, store: Callable[[Connection, Resource, str], Any]) -> int:
    """Make every appended row an AuditEvent resource (``store(conn, event, id)``, the system
    writer) and delete it, in transactions of up to 500 rows; returns how many."""
    write = engine.execution_options(**{WRITE_OPTION: True})
    done = 0
    while True:
        with begin_write(write) as conn:
            query = select(audit_log.c.seq, audit_log.c.event_id, audit_log.c.body)
            query = query.order_by(audit_log.c.seq).limit(_BATCH)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            rows = conn.execute(query).all()
            for _seq, event_id, body in rows:
                store(conn, orjson.loads(body), event_id)
            if rows:
                conn.execute(delete(audit_log).where(audit_log.c.seq.in_([r[0] for r in rows])))
        done += len(rows)
        if len(rows) < _BATCH:
            return done


class SqlAuditSink:
    """``adapter.ports.AuditSink`` on the store's database: events appended to ``audit_log``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._write = engine.execution_options(**{WRITE_OPTION: True})

    def record(self, event: Resource) -> None:
        self.record_with([event], lambda _conn: None)

    def record_in(self, transaction: Any, events: list[Resource]) -> None:
        append(transaction, events)

    def record_with(self, events: list[Resource], then: Callable[[Any], None]) -> bool:
        """``events``, then ``then(transaction)``, in one write transaction."""
        with begin_write(self._write) as conn:
            append(conn, events)
            then(conn)
        return True
