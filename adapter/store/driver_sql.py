"""Hot-path statements as driver SQL, written once per dialect and table.

Every create runs the same few INSERTs; building and compiling SQLAlchemy constructs for each
one cost more than the database work (profiled: about half of a create). These statements are
plain text with named parameters (``:name`` for sqlite3, ``%(name)s`` for psycopg), cached per
(dialect, statement); psycopg prepares them server-side (``prepare_threshold``), sqlite3 keeps
its statement cache. Everything else stays SQLAlchemy Core.

On SQLite they run on the driver's cursor (:func:`driver_rows`, :func:`driver_run`): SQLAlchemy's
execution around a statement (context, result metadata, events) cost 16 µs against sqlite3's 2,
and a secure read runs five of them. The transaction is SQLAlchemy's as before (begun first when
none is open, so several statements on one connection read one snapshot), and a driver error is
raised as SQLAlchemy's (a locked database is still the OperationalError the API answers).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

__all__ = ["driver_rows", "driver_run", "insert_rows", "read_current"]


def _sqlite_cursor(conn: Connection) -> sqlite3.Connection | None:
    """The driver connection of a SQLite ``conn`` in a transaction (begun now if none is open),
    or None for another database."""
    if conn.dialect.name != "sqlite":
        return None
    if not conn.in_transaction():
        conn.begin()  # what the first exec_driver_sql would have done (autobegin)
    raw: sqlite3.Connection = conn.connection.driver_connection  # type: ignore[assignment]
    return raw


def driver_rows(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of one driver-SQL query."""
    raw = _sqlite_cursor(conn)
    if raw is None:
        return [tuple(row) for row in conn.exec_driver_sql(sql, dict(params))]
    try:
        return raw.execute(sql, params).fetchall()
    except sqlite3.Error as err:
        raise DBAPIError.instance(sql, params, err, sqlite3.Error) from err


def driver_run(
    conn: Connection, sql: str, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> int:
    """Run one driver-SQL statement (a sequence of parameter sets: executemany); rows changed."""
    raw = _sqlite_cursor(conn)
    if isinstance(params, Mapping):
        if raw is None:
            return int(conn.exec_driver_sql(sql, dict(params)).rowcount)
        run = functools.partial(raw.execute, sql, params)
    else:
        if raw is None:
            return int(conn.exec_driver_sql(sql, [dict(p) for p in params]).rowcount)
        run = functools.partial(raw.executemany, sql, params)
    try:
        cursor = run()
    except sqlite3.Error as err:
        raise DBAPIError.instance(sql, params, err, sqlite3.Error) from err
    return int(cursor.rowcount)


def _param(dialect: str, name: str) -> str:
    return f":{name}" if dialect == "sqlite" else f"%({name})s"


@cache
def _insert_sql(dialect: str, table: Table, columns: tuple[str, ...], ignore: bool) -> str:
    values = ", ".join(_param(dialect, c) for c in columns)
    tail = " ON CONFLICT DO NOTHING" if ignore else ""
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({values}){tail}"


def insert_rows(
    conn: Connection,
    table: Table,
    rows: dict[str, Any] | Sequence[dict[str, Any]],
    *,
    ignore_conflict: bool = False,
) -> int:
    """INSERT one row (dict) or many (executemany); ``ignore_conflict`` adds ``ON CONFLICT DO
    NOTHING``. Returns the number of rows inserted (for one row: 0 when a conflict was ignored)."""
    first = rows if isinstance(rows, dict) else rows[0]
    sql = _insert_sql(conn.dialect.name, table, tuple(first), ignore_conflict)
    return driver_run(conn, sql, rows if isinstance(rows, dict) else list(rows))


@cache
def _read_sql(dialect: str) -> str:
    t, i = _param(dialect, "t"), _param(dialect, "i")
    return f"SELECT deleted, body FROM resources WHERE res_type = {t} AND res_id = {i}"


def read_current(conn: Connection, rtype: str, rid: str) -> tuple[Any, str] | None:
    """(deleted, body) of the current version of ``rtype/rid``, or None."""
    rows = driver_rows(conn, _read_sql(conn.dialect.name), {"t": rtype, "i": rid})
    return (rows[0][0], rows[0][1]) if rows else None
