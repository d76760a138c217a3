"""``SqlRepository``: the store's implementation of ``adapter.ports.ResourceRepository``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, false, func, select

from ipfhir.adapter.errors import BadRequest, NotFound, issue
from ipfhir.adapter.ports import (
    HistoryPage,
    PreCommitHook,
    SearchQuery,
    SearchResult,
    WriteOutcome,
)
from ipfhir.adapter.store.audit_log import materialise, pending
from ipfhir.adapter.store.conditional import lock_criteria
from ipfhir.adapter.store.context_sql import SqlReader
from ipfhir.adapter.store.cursors import PageTokens, RowTokens
from ipfhir.adapter.store.driver_sql import read_current
from ipfhir.adapter.store.engine import WRITE_OPTION
from ipfhir.adapter.store.history import history_page
from ipfhir.adapter.store.idempotency import Outcome, remember, replayed
from ipfhir.adapter.store.includes import everything_of, included
from ipfhir.adapter.store.retry import retrying
from ipfhir.adapter.store.schema import resource_versions, resources
from ipfhir.adapter.store.search_sql import (
    SORT_COLUMNS,
    DriverSearch,
    criteria,
    decode_cursor,
    driver_count,
    driver_page,
    driver_search,
    encode_cursor,
    page_select,
)
from ipfhir.adapter.store.stamps import read_stamps
from ipfhir.adapter.store.unit import begin_write, pre_commit
from ipfhir.adapter.store.writes import SystemClock, Writer, gone

__all__ = ["SqlRepository"]

Resource = dict[str, Any]


class _Shared:
    """What a ``reading()`` block shares: its engine, and the connection its first read took
    (``None`` until then, and again after :meth:`SqlRepository._fresh` gave it back)."""

    __slots__ = ("conn", "engine")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None


# The open ``reading()`` block of this context (the repositories of one engine share it;
# another engine's never sees it).
_SHARED: ContextVar[_Shared | None] = ContextVar("ipfhir_shared_read", default=None)


def _not_found(rtype: str, rid: str) -> NotFound:
    return NotFound([issue("IP-4201", rtype, "not-found", rtype=rtype, rid=rid)])


def _live(rtype: str) -> list[Any]:
    """The current, non-deleted resources of ``rtype`` (the general search path's first
    criteria)."""
    return [resources.c.res_type == rtype, resources.c.deleted == false()]


class SqlRepository:
    """Resources in SQLite/PostgreSQL. ``system=True`` may write server-only types (AuditEvent)."""

    def __init__(
        self,
        engine: Engine,
        validate: Callable[..., Resource],
        clock: Any | None = None,
        *,
        system: bool = False,
    ) -> None:
        self.engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self.writer = Writer(validate, clock or SystemClock(), system=system)
        self._audit_writer = Writer(validate, clock or SystemClock(), system=True)
        self.tokens = PageTokens(engine)

    def begin_write(self) -> AbstractContextManager[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite) as a unit of work
        (:mod:`adapter.store.unit`): the pre-commit hooks open around the call and the change
        stamps its writes record are written just before it commits."""
        return begin_write(self._write_engine)

    def pre_commit(self, hook: PreCommitHook) -> AbstractContextManager[None]:
        """``adapter.ports.UnitOfWork``: ``hook`` runs inside every write transaction that
        commits while the block is open."""
        return pre_commit(hook)

    # --- reads -----------------------------------------------------------------------------
    @contextmanager
    def reading(self) -> Iterator[None]:
        """``adapter.ports.ReadScope``: the reads until the block ends share one connection
        and its one transaction (one snapshot on SQLite) instead of a connection of the pool
        each — a secure read took four. The connection is taken at the block's first read and
        given back when the block ends, or earlier when the store writes (:meth:`_fresh`): a
        block never holds one connection while it waits for another. Nested blocks share the
        outer one's."""
        if self._holder() is not None:
            yield
            return
        holder = _Shared(self.engine)
        token = _SHARED.set(holder)
        try:
            yield
        finally:
            _SHARED.reset(token)
            self._give_back(holder)

    def _holder(self) -> _Shared | None:
        found = _SHARED.get()
        return found if found is not None and found.engine is self.engine else None

    def _shared(self) -> Connection | None:
        """The open block's connection, if its reads took one."""
        holder = self._holder()
        return holder.conn if holder is not None else None

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        """A connection for one read: the ``reading()`` block's when one is open (taken now
        if it has none yet), else one of the pool (returned when the read is done). A read
        that fails gives the block's connection back: the next takes a fresh one."""
        holder = self._holder()
        if holder is None:
            with self.engine.connect() as conn:
                yield conn
            return
        if holder.conn is None:
            holder.conn = self.engine.connect()
        try:
            yield holder.conn
        except BaseException:
            self._give_back(holder)
            raise

    @staticmethod
    def _give_back(holder: _Shared) -> None:
        conn, holder.conn = holder.conn, None
        if conn is not None:
            conn.close()

    def _audit_current(self, resource_type: str, revinclude: Sequence[str] = ()) -> None:
        """Before AuditEvents are read: the audit log's rows made resources
        (:mod:`adapter.store.audit_log`), so the read sees every event committed before it."""
        if resource_type != "AuditEvent" and not any(
            r.startswith("AuditEvent:") for r in revinclude
        ):
            return
        self._fresh()  # rows appended since the reading() block began count too
        with self._connect() as conn:
            if not pending(conn):
                return
        self._fresh()  # before the write's own connection; the next read sees what it wrote
        materialise(
            self.engine,
            lambda conn, event, rid: self._audit_writer.create(conn, event, rid, checked=True),
        )

    def _fresh(self) -> None:
        """Give the ``reading()`` block's connection back to the pool, if it took one: the
        store is about to write on another (a block holding one connection while it waits for
        a second could empty the pool), and the block's next read begins a new transaction,
        which sees every commit before it (a SQLite snapshot is taken at a transaction's first
        read)."""
        holder = self._holder()
        if holder is not None:
            self._give_back(holder)

    def read(self, resource_type: str, resource_id: str) -> Resource:
        self._audit_current(resource_type)
        with self._connect() as conn:
            row = read_current(conn, resource_type, resource_id)
        if row is None:
            raise _not_found(resource_type, resource_id)
        if row[0]:
            raise gone(resource_type, resource_id)
        return orjson.loads(row[1])  # type: ignore[no-any-return]

    def vread(self, resource_type: str, resource_id: str, version_id: str) -> Resource:
        if not version_id.isdigit():
            raise NotFound(
                [
                    issue(
                        "IP-4203",
                        "Resource.meta.versionId",
                        "not-found",
                        rtype=resource_type,
                        rid=resource_id,
                        vid=version_id,
                    )
                ]
            )
        self._audit_current(resource_type)
        v = resource_versions
        with self._connect() as conn:
            row = conn.execute(
                select(v.c.body).where(
                    v.c.res_type == resource_type,
                    v.c.res_id == resource_id,
                    v.c.version == int(version_id),
                )
            ).first()
        if row is None:
            raise NotFound(
                [
                    issue(
                        "IP-4203",
                        "Resource.meta.versionId",
                        "not-found",
                        rtype=resource_type,
                        rid=resource_id,
                        vid=version_id,
                    )
                ]
            )
        if row[0] is None:
            raise gone(resource_type, resource_id)
        return orjson.loads(row[0])  # type: ignore[no-any-return]

    def history(
        self,
        resource_type: str,
        resource_id: str | None = None,
        *,
        count: int = 20,
        since: str | None = None,
        cursor: str | None = None,
    ) -> HistoryPage:
        self._audit_current(resource_type)
        with self._connect() as conn:
            if resource_id is not None:
                exists = conn.execute(
                    select(resources.c.version).where(
                        resources.c.res_type == resource_type, resources.c.res_id == resource_id
                    )
                ).first()
                if exists is None:
                    raise _not_found(resource_type, resource_id)
            return history_page(conn, self.tokens, resource_type, resource_id, count, since, cursor)

    #: Searches in a common shape (``patient=Patient/X``, a token, ``_id``) run as plain
    #: driver SQL (:func:`adapter.store.search_sql.driver_search`): building and compiling
    #: SQLAlchemy statements for them cost more than the database work. False sends every
    #: search through SQLAlchemy Core (tests and ``bench/bench_search_cpu.py`` compare the two).
    driver_searches = True

    def search(self, query: SearchQuery) -> SearchResult:
        self._audit_current(query.resource_type, query.revinclude)
        with self._connect() as conn:
            return self._search(conn, query)

    def _search(self, conn: Connection, query: SearchQuery) -> SearchResult:
        rtype = query.resource_type
        plain = driver_search(rtype, query.params) if self.driver_searches else None
        # the criteria are checked first: an unknown parameter is answered before a bad _sort
        where = None if plain is not None else [*_live(rtype), *criteria(rtype, query.params)]
        if query.summary_count:
            return SearchResult(matches=[], total=self._count(conn, where, plain))
        page, nxt, prv, fp, backwards = self._page(conn, query, plain)
        matches = [orjson.loads(body) for _, _, body in page]
        extra = included(conn, rtype, [rid for rid, _, _ in page], query.include, query.revinclude)
        if query.binding is not None:  # the enforcement point: no total, each row's tokens
            rows = RowTokens(self.tokens, [(str(v), str(i)) for i, v, _ in page], fp)
            return SearchResult(matches, extra, None, nxt, prv, rows, backwards)
        # A first page that is not full holds every match: its length is the total. Otherwise
        # counting reads every match (the cost of the page no longer follows the page's size):
        # only when asked (_total=accurate).
        total: int | None = None
        if query.total_wanted:
            total = self._count(conn, where, plain)
        elif query.cursor is None and nxt is None:
            total = len(page)
        return SearchResult(matches, extra, total, nxt, prv)

    @staticmethod
    def _count(conn: Connection, where: list[Any] | None, plain: DriverSearch | None) -> int:
        if plain is not None:
            return driver_count(conn, plain)
        stmt = select(func.count()).select_from(resources).where(*(where or ()))
        return int(conn.execute(stmt).scalar_one())

    def _page(
        self, conn: Connection, query: SearchQuery, plain: DriverSearch | None
    ) -> tuple[list[Any], str | None, str | None, str, bool]:
        key = query.sort[0] if query.sort else "_id"
        descending = key.startswith("-")
        name = key.lstrip("-")
        if name not in SORT_COLUMNS or len(query.sort) > 1:
            raise BadRequest([issue("IP-4104", "_sort", "not-supported", key=",".join(query.sort))])
        fp = hashlib.sha256(
            repr((query.resource_type, query.params, query.sort, query.binding)).encode()
        ).hexdigest()
        tokens = self.tokens
        cursor = decode_cursor(tokens, query.cursor, fp) if query.cursor else None
        backwards = cursor is not None and cursor[0] == "p"
        rtype, limit = query.resource_type, query.count + 1
        if plain is not None:
            rows = driver_page(conn, plain, name, descending, cursor, limit)
        else:
            stmt = page_select(rtype, query.params, name, descending, cursor, limit)
            rows = list(conn.execute(stmt).all())
        more = len(rows) > query.count
        rows = rows[: query.count]
        if backwards:
            rows.reverse()
        if not rows:
            return [], None, None, fp, backwards
        first, last = rows[0], rows[-1]
        has_next = more if not backwards else True
        has_prev = more if backwards else bool(query.cursor)
        nxt = encode_cursor(tokens, "n", str(last[1]), str(last[0]), fp) if has_next else None
        prv = encode_cursor(tokens, "p", str(first[1]), str(first[0]), fp) if has_prev else None
        return rows, nxt, prv, fp, backwards

    def everything(self, careplan_id: str) -> list[Resource]:
        plan = self.read("CarePlan", careplan_id)
        with self._connect() as conn:
            return everything_of(conn, plan)

    # --- writes ----------------------------------------------------------------------------
    def create(self, resource: Resource) -> Resource:
        self.writer.check(resource)

        def write() -> Resource:
            with self.begin_write() as conn:
                again = replayed(conn)
                if again is not None:
                    return self._version_of(conn, again)
                stored = self.writer.create(conn, resource, checked=True)
                remember(conn)
                return stored

        return retrying(write)

    @staticmethod
    def _version_of(conn: Connection, outcome: Outcome) -> Resource:
        """The version a replayed request wrote (as stored then)."""
        _action, rtype, rid, version = outcome
        v = resource_versions
        body = conn.execute(
            select(v.c.body).where(
                v.c.res_type == rtype, v.c.res_id == rid, v.c.version == int(version)
            )
        ).scalar_one()
        return orjson.loads(body)  # type: ignore[no-any-return]

    def conditional_create(self, resource: Resource, criteria_query: SearchQuery) -> WriteOutcome:
        """Create unless the criteria match; concurrent requests with the same criteria create
        once (:mod:`adapter.store.conditional`). A match found before validation is returned
        as it is, without validating the resource that was not needed."""
        crit = SearchQuery(
            criteria_query.resource_type, criteria_query.params, count=2, total_wanted=True
        )
        existing = _one_match(self.search(crit))
        if existing is not None:
            return WriteOutcome(existing, created=False)
        self.writer.check(resource)

        def write() -> WriteOutcome:
            with self.begin_write() as conn:
                again = replayed(conn)
                if again is not None:
                    return WriteOutcome(self._version_of(conn, again), created=True)
                lock_criteria(conn, crit)
                existing = _one_match(self._search(conn, crit))
                if existing is not None:
                    return WriteOutcome(existing, created=False)
                stored = self.writer.create(conn, resource, checked=True)
                remember(conn)
                return WriteOutcome(stored, created=True)

        return retrying(write)

    def update(
        self,
        resource_type: str,
        resource_id: str,
        resource: Resource,
        if_match: str | None = None,
        *,
        create_only: bool = False,
    ) -> WriteOutcome:
        self.writer.check(resource, resource_id)

        def write() -> WriteOutcome:
            with self.begin_write() as conn:
                again = replayed(conn)
                if again is not None:
                    return WriteOutcome(self._version_of(conn, again), again[0] == "create")
                stored, created = self.writer.update(
                    conn,
                    resource_type,
                    resource_id,
                    resource,
                    if_match,
                    checked=True,
                    create_only=create_only,
                )
                remember(conn)
            return WriteOutcome(stored, created)

        return retrying(write)

    def delete(self, resource_type: str, resource_id: str, if_match: str | None = None) -> None:
        def write() -> None:
            with self.begin_write() as conn:
                if replayed(conn) is not None:
                    return
                self.writer.delete(conn, resource_type, resource_id, if_match)
                remember(conn)

        retrying(write)

    def transaction(self, bundle: Resource) -> Resource:
        from ipfhir.adapter.store.bundles import process_bundle

        return process_bundle(self, bundle)

    def fetch(self, refs: Iterable[tuple[str, str]]) -> list[Resource]:
        """Current, non-deleted resources for (type, id) pairs, in input order (missing ones
        left out): one query per type (``adapter.ports.BulkReader``)."""
        with self.reader() as reader:
            return reader.fetch(refs)

    @contextmanager
    def reader(self) -> Iterator[SqlReader]:
        """Plain-SQL reads of current resources on one connection (``by_patient``, ``fetch``:
        :mod:`adapter.store.context_sql`); the consent loader's ``ContextReader`` port."""
        with self._connect() as conn:
            yield SqlReader(conn)

    def stamps(self, patient_refs: Sequence[str]) -> dict[str, int]:
        """Change stamps of ``Patient/id`` keys and of the directory (``"*"``), one indexed
        query (``adapter.ports.ChangeStamps``, :mod:`adapter.store.stamps`)."""
        with self._connect() as conn:
            return read_stamps(conn, patient_refs)


def _one_match(found: SearchResult) -> Resource | None:
    if found.total and found.total > 1:
        from ipfhir.adapter.errors import PreconditionFailed

        raise PreconditionFailed(
            [issue("IP-4403", "If-None-Exist", "multiple-matches", count=found.total)]
        )
    return found.matches[0] if found.matches else None
