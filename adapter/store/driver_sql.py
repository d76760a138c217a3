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

Searches in a common shape (:func:`adapter.store.search_sql.driver_search`) are driver SQL too,
one text per dialect and shape (:func:`search_page_sql`, :func:`search_count_sql`), run on the
driver's cursor on both databases (:func:`cursor_rows`).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

__all__ = [
    "Criterion",
    "cursor_rows",
    "driver_rows",
    "driver_run",
    "insert_rows",
    "read_current",
    "search_count_sql",
    "search_page_sql",
]


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


def cursor_rows(conn: Connection, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """:func:`driver_rows` on the driver's cursor on PostgreSQL too (the searches: SQLAlchemy's
    execution around a psycopg statement cost more CPU than psycopg's own work). A driver error
    is raised as SQLAlchemy's, and a lost connection is invalidated as SQLAlchemy would (the
    pool does not hand it out again)."""
    if conn.dialect.name == "sqlite":
        return driver_rows(conn, sql, params)
    if not conn.in_transaction():
        conn.begin()
    fairy = conn.connection
    dbapi = conn.dialect.loaded_dbapi
    try:
        with fairy.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(sql, params)
            rows: list[tuple[Any, ...]] = cursor.fetchall()
            return rows
    except dbapi.Error as err:
        lost = conn.dialect.is_disconnect(err, fairy.dbapi_connection, None)
        if lost:
            conn.invalidate(err)
        raise DBAPIError.instance(
            sql, params, err, dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from err


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


# --- searches (adapter.store.search_sql.driver_search decides which ones) -----------------------
# A criterion's shape: ("ref",) a reference to one known target; ("token", modes) one mode per
# OR-ed value, (system: "" none given | "null" empty | "eq" given, code given); ("id", n) n ids.
# Values are bound as ``:t`` (the type) and, for criterion k, ``p{k}`` (parameter), ``i{k}`` and
# ``y{k}`` (target id and type), ``s{k}_{j}``/``c{k}_{j}`` (system, code), ``i{k}_{j}`` (ids);
# the page's keyset as ``kv``/``kr`` and its size as ``n``. The text is the SQL SQLAlchemy
# compiles for the same search (:func:`adapter.store.search_sql.page_select`), so both paths
# have the same plans (the explain-plan tests hold both to them).
Criterion = tuple[Any, ...]
_R = "resources"
_REF = (
    "idx_reference.res_type = {t} AND idx_reference.param = {p} AND "
    "idx_reference.target_id = {i} AND idx_reference.target_type = {y}"
)


def _token_sql(dialect: str, k: int, modes: tuple[tuple[str, bool], ...]) -> str:
    alternatives = []
    for j, (system, code) in enumerate(modes):
        parts = []
        if system == "null":
            parts.append("idx_token.system IS NULL")
        elif system == "eq":
            parts.append(f"idx_token.system = {_param(dialect, f's{k}_{j}')}")
        if code:
            parts.append(f"idx_token.code = {_param(dialect, f'c{k}_{j}')}")
        alternatives.append("(" + " AND ".join(parts) + ")")
    return " OR ".join(alternatives)


def _criterion_sql(dialect: str, k: int, shape: Criterion) -> str:
    """``resources.res_id IN (...)`` for criterion ``k`` (:func:`search_sql.criteria`)."""
    t, p = _param(dialect, "t"), _param(dialect, f"p{k}")
    if shape[0] == "id":
        ids = ", ".join(_param(dialect, f"i{k}_{j}") for j in range(shape[1]))
        return f"{_R}.res_id IN ({ids})"
    if shape[0] == "ref":
        i, y = _param(dialect, f"i{k}"), _param(dialect, f"y{k}")
        where = _REF.format(t=t, p=p, i=i, y=y)
        return f"{_R}.res_id IN (SELECT idx_reference.res_id FROM idx_reference WHERE {where})"
    where = f"idx_token.res_type = {t} AND idx_token.param = {p}"
    where += f" AND ({_token_sql(dialect, k, shape[1])})"
    return f"{_R}.res_id IN (SELECT idx_token.res_id FROM idx_token WHERE {where})"


def _live(dialect: str) -> str:
    return f"{_R}.res_type = {_param(dialect, 't')} AND {_R}.deleted = " + (
        "0" if dialect == "sqlite" else "false"
    )


@lru_cache(maxsize=512)
def search_page_sql(
    dialect: str,
    criteria: tuple[Criterion, ...],
    driver: int | None,
    sort_column: str,
    ascending: bool,
    keyset: bool,
) -> str:
    """One page, rows (id, sort value, body), ``:n`` of them: ``criteria`` AND-ed, the
    ``driver`` criterion (a reference, sorted by id) read as a join from its index in id order;
    with ``keyset``, the rows beyond the cursor (``kv``, ``kr``) in the order they are read."""
    where = [_live(dialect)]
    where += [_criterion_sql(dialect, k, c) for k, c in enumerate(criteria) if k != driver]
    source, key = _R, f"{_R}.{sort_column}"
    if driver is not None:
        source = (
            f"idx_reference JOIN {_R} ON {_R}.res_type = idx_reference.res_type"
            f" AND {_R}.res_id = idx_reference.res_id"
        )
        t, p = _param(dialect, "t"), _param(dialect, f"p{driver}")
        i, y = _param(dialect, f"i{driver}"), _param(dialect, f"y{driver}")
        where.append(_REF.format(t=t, p=p, i=i, y=y))
        key = "idx_reference.res_id"
    unique = sort_column == "res_id"
    if keyset:
        op = ">" if ascending else "<"
        kv, kr = _param(dialect, "kv"), _param(dialect, "kr")
        where.append(
            f"{key} {op} {kv}"
            if unique
            else f"({key} {op} {kv} OR {key} = {kv} AND {_R}.res_id {op} {kr})"
        )
    direction = "ASC" if ascending else "DESC"
    order = f"{key} {direction}" + ("" if unique else f", {_R}.res_id {direction}")
    return (
        f"SELECT {_R}.res_id, {_R}.{sort_column}, {_R}.body FROM {source}"
        f" WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {_param(dialect, 'n')}"
    )


@lru_cache(maxsize=512)
def search_count_sql(dialect: str, criteria: tuple[Criterion, ...]) -> str:
    """The number of current resources matching ``criteria`` (every one as ``IN``)."""
    where = [_live(dialect), *(_criterion_sql(dialect, k, c) for k, c in enumerate(criteria))]
    return f"SELECT count(*) FROM {_R} WHERE {' AND '.join(where)}"
