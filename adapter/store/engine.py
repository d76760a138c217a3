"""Engine construction (SQLite pragmas, write transactions) and Alembic migration at startup."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

__all__ = [
    "DEFAULT_STATEMENT_TIMEOUT_S",
    "SQLITE_BUSY_TIMEOUT_S",
    "WRITE_OPTION",
    "check_writable",
    "make_engine",
    "migrate",
    "writer_turn",
]

WRITE_OPTION = "ipfhir_write"
# How long a SQLite writer waits for another's lock before SQLITE_BUSY (writers queue on
# BEGIN IMMEDIATE; a write transaction lasts milliseconds). Set on the driver (sqlite3's own
# ``timeout``, default 5 s) and as the connection's busy_timeout, so both agree.
SQLITE_BUSY_TIMEOUT_S = 30
_MIGRATIONS = "ipfhir.adapter.store:migrations"  # package data, resolved by Alembic


def _sqlite_hooks(engine: Engine) -> None:
    """WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for writes so writers queue instead of
    failing with SQLITE_BUSY when a read turns into a write."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # On the driver's connection: SQLAlchemy's statement machinery around a bare BEGIN
        # cost more than the BEGIN (three or four per secure read). Its errors are SQLAlchemy's
        # as before (a locked database is still the OperationalError the API answers).
        statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
        try:
            conn.connection.driver_connection.execute(statement)
        except sqlite3.Error as err:
            raise DBAPIError.instance(statement, None, err, sqlite3.Error) from err


class _Turn:
    """A writer's turn on ``lock`` (re-entrant), waited for at most the busy timeout: a writer
    that cannot get it by then goes on to SQLite's own lock (and its busy timeout), as without
    the turn. Free, it is taken at once without waiting."""

    __slots__ = ("_got", "_lock")

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._got = False

    def __enter__(self) -> None:
        lock = self._lock
        self._got = lock.acquire(False) or lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_S)

    def __exit__(self, *_: object) -> None:
        if self._got:
            self._got = False
            self._lock.release()


# One turn per SQLite connection pool: see writer_turn.
_WRITERS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()
_NO_TURN = nullcontext()


def writer_turn(engine: Engine) -> AbstractContextManager[Any]:
    """Held around a SQLite write transaction (``begin_write``): this process's writers take
    turns on a lock before ``BEGIN IMMEDIATE``. SQLite has one writer at a time anyway; without
    the lock, a thread that finds the database locked polls it from SQLite's busy handler,
    sleeping 1, 2, 5, 10, 15 … ms between tries (each read's audit row is a write: under 8
    clients these sleeps were the p99). On the lock it is woken when the writer before it is
    done. Re-entrant, so a nested write waits on SQLite as before; writers of other processes
    still meet the busy timeout. Nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return _NO_TURN
    pool = engine.pool
    lock = _WRITERS.get(pool)
    if lock is None:
        with _WRITERS_LOCK:
            lock = _WRITERS.setdefault(pool, threading.RLock())
    return _Turn(lock)


DEFAULT_STATEMENT_TIMEOUT_S = 30.0


def make_engine(
    url: str,
    *,
    pool_size: int = 8,
    schema: str | None = None,
    statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S,
) -> Engine:
    """An engine for ``url``; ``schema`` (PostgreSQL) sets the search_path (tests use it).

    On PostgreSQL every statement is cancelled after ``statement_timeout_s`` seconds (0 = never;
    the API answers IP-4130, 503): a query no limit foresaw cannot keep a connection and a
    server process busy for minutes. SQLite has no such timeout (its queries run in-process)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
        )
        _sqlite_hooks(engine)
        return engine
    # A server that does not answer fails the start (or a request) within 10 s, not never.
    connect_args: dict[str, Any] = {"prepare_threshold": 1, "connect_timeout": 10}
    options = [f"-cstatement_timeout={round(statement_timeout_s * 1000)}"]
    given = make_url(url).query.get("options")  # the URL's own (connect_args would hide them)
    if given:
        options.append(given if isinstance(given, str) else " ".join(given))
    if schema:
        options.append(f"-csearch_path={schema}")
    connect_args["options"] = " ".join(options)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args=connect_args,
    )


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent; safe to run at every start;
    concurrent starts against one PostgreSQL are serialised with an advisory lock)."""
    cfg = Config()
    cfg.set_main_option("script_location", _MIGRATIONS)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL statement_timeout = 0")  # a migration takes its time
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4711424242)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def check_writable(engine: Engine) -> None:
    """Raise the driver's error when the database refuses a write: a read-only server (standby,
    ``default_transaction_read_only``), role or file. The write changes nothing (the migrated
    ``alembic_version`` row is set to itself) and is rolled back."""
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin() as tx:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = version_num")
        tx.rollback()
