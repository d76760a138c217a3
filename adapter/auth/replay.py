"""Replay memory of the token endpoint: each accepted client assertion's ``jti`` is kept in the
database until the assertion expires, so no process behind the same database accepts it twice.

The key is SHA-256 over the client id and the ``jti`` (a ``jti`` is the client's text, of any
length and alphabet; the hash has a fixed width and says nothing). The primary key decides a
race: of two processes inserting the same key, one inserts a row and the other none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import Connection, Engine, delete

from ipfhir.adapter.store.driver_sql import insert_rows
from ipfhir.adapter.store.engine import WRITE_OPTION
from ipfhir.adapter.store.schema import client_assertions

__all__ = ["SqlReplayGuard"]


class SqlReplayGuard:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(**{WRITE_OPTION: True})

    def first_use(
        self,
        client_id: str,
        jti: str,
        expires_at: float,
        now: float,
        record: Callable[[Connection, str], None] | None = None,
    ) -> bool:
        """Record the assertion; ``False`` when it was recorded before and has not expired
        (expired ones are forgotten here, in the same transaction). ``record(conn,
        client_id)``: the audit of its use (the grant), on the same transaction."""
        key = hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()
        with self._engine.begin() as conn:
            conn.execute(delete(client_assertions).where(client_assertions.c.expires_at < now))
            row = {"jti_key": key, "expires_at": expires_at}
            first = insert_rows(conn, client_assertions, row, ignore_conflict=True) == 1
            if first and record is not None:
                record(conn, client_id)
            return first
