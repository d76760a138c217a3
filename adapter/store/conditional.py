"""Conditional create (``If-None-Exist``) without duplicates under concurrency.

Two requests with the same criteria must not both create. The match is searched again inside
the write transaction, after a lock on the criteria: on PostgreSQL a transaction-scoped advisory
lock keyed by a hash of (type, criteria), so only writers with the same criteria wait for each
other; on SQLite the write transaction itself (``BEGIN IMMEDIATE``) already excludes every other
writer. Under READ COMMITTED the search after the lock sees what the previous holder committed.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection

from ipfhir.adapter.ports import SearchQuery

__all__ = ["criteria_key", "lock_criteria"]


def criteria_key(query: SearchQuery) -> int:
    """A signed 64-bit key for (type, criteria); the order of the parameters does not matter."""
    params = sorted(repr((p.name, p.modifier, p.chain, sorted(p.values))) for p in query.params)
    digest = hashlib.sha256(repr((query.resource_type, params)).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_criteria(conn: Connection, query: SearchQuery) -> None:
    """Hold a lock on ``query``'s criteria until ``conn``'s transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(key)s)", {"key": criteria_key(query)})
