"""Hot-path statements as driver SQL, written once per dialect and table.

Every create runs the same few INSERTs; building and compiling SQLAlchemy constructs for each
one cost more than the database work (profiled: about half of a create). These statements are
plain text with named parameters (``:name`` for sqlite3, ``%(name)s`` for psycopg), cached per
(dialect, statement); psycopg prepares them server-side (``prepare_threshold``), sqlite3 keeps
its statement cache. Everything else stays SQLAlchemy Core.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table

__all__ = ["insert_rows", "read_current"]


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
    result = conn.exec_driver_sql(sql, rows if isinstance(rows, dict) else list(rows))
    return int(result.rowcount)


@cache
def _read_sql(dialect: str) -> str:
    t, i = _param(dialect, "t"), _param(dialect, "i")
    return f"SELECT deleted, body FROM resources WHERE res_type = {t} AND res_id = {i}"


def read_current(conn: Connection, rtype: str, rid: str) -> tuple[Any, str] | None:
    """(deleted, body) of the current version of ``rtype/rid``, or None."""
    row = conn.exec_driver_sql(_read_sql(conn.dialect.name), {"t": rtype, "i": rid}).first()
    return (row[0], row[1]) if row is not None else None
