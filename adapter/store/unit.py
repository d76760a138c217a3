"""The unit of work: one write transaction and everything that must commit with it.

:func:`begin_write` opens a write transaction (``BEGIN IMMEDIATE`` on SQLite through the engine's
write option). While it runs, the store notes every resource it writes (:func:`note_write`) and
modules collect work to do at the end (:func:`collector`: the change stamps gather their keys
there). Just before the commit, in this order:

1. the **pre-commit hooks** registered around the call (:func:`pre_commit`, the
   ``adapter.ports.UnitOfWork`` seam): each gets the connection and the writes made, and writes
   on the same transaction — the consent layer's write audit, a sync outbox message;
2. each collector's flush, in the order the collectors were first used (the change stamps).

A hook or a flush that raises rolls the whole transaction back: a write is never stored without
the rows its hooks add. A transaction that rolls back runs none of them. A retried transaction
(:mod:`adapter.store.retry`) runs them again on the attempt that commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

from ipfhir.adapter.ports import PreCommitHook, Written
from ipfhir.adapter.store.engine import writer_turn

__all__ = ["begin_write", "collector", "note_write", "pre_commit", "writes_of"]

C = TypeVar("C")
_WRITES = "ipfhir_writes"  # keys in Connection.info while a unit of work runs
_COLLECTORS = "ipfhir_collectors"
_HOOKS: ContextVar[tuple[PreCommitHook, ...]] = ContextVar("ipfhir_pre_commit", default=())


@contextmanager
def pre_commit(hook: PreCommitHook) -> Iterator[None]:
    """Run ``hook(connection, writes)`` before every write transaction of the store that
    commits while this block is open (in this thread or task)."""
    token = _HOOKS.set((*_HOOKS.get(), hook))
    try:
        yield
    finally:
        _HOOKS.reset(token)


def note_write(conn: Connection, written: Written) -> None:
    """Note a write for the pre-commit hooks (nothing outside a unit of work)."""
    writes = conn.info.get(_WRITES)
    if writes is not None:
        writes.append(written)


def writes_of(conn: Connection) -> tuple[Written, ...]:
    return tuple(conn.info.get(_WRITES) or ())


def collector(
    conn: Connection, key: str, new: Callable[[], C], flush: Callable[[Connection, C], None]
) -> C | None:
    """The collection ``key`` of ``conn``'s unit of work (made with ``new()`` on first use and
    handed to ``flush`` just before the commit); ``None`` outside a unit of work."""
    collectors: dict[str, tuple[Any, Callable[[Connection, Any], None]]] | None = conn.info.get(
        _COLLECTORS
    )
    if collectors is None:
        return None
    if key not in collectors:
        collectors[key] = (new(), flush)
    found: C = collectors[key][0]
    return found


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A write transaction on ``engine`` (opened with the write option) as a unit of work;
    on SQLite in this process's writers' turn (:func:`~adapter.store.engine.writer_turn`)."""
    with writer_turn(engine), engine.begin() as conn:
        conn.info[_WRITES] = []
        conn.info[_COLLECTORS] = {}
        try:
            yield conn
            writes = writes_of(conn)
            for hook in _HOOKS.get():
                hook(conn, writes)
            collectors = conn.info.pop(_COLLECTORS)
            for collected, flush in collectors.values():
                flush(conn, collected)
        finally:
            conn.info.pop(_WRITES, None)
            conn.info.pop(_COLLECTORS, None)
