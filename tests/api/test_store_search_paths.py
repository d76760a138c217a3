"""Searches in a common shape run as plain driver SQL (``SqlRepository.driver_searches``): the
same matches, order, pages, page tokens, totals and errors as the SQLAlchemy path, on SQLite and
PostgreSQL. Every query below runs through both paths, pages are followed with tokens made by
either path, and the answers are compared field by field (tokens by what they hold).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError, OperationalError

from ipfhir.adapter.errors import BadRequest
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import SearchParam, SearchQuery, SearchResult
from ipfhir.adapter.store import SqlRepository, make_engine, migrate
from ipfhir.adapter.store import repository as repository_module
from tests.pg import PG_URL, postgres_schema

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
LOCAL = "https://kommune.example.no/ip|tiltak"  # a system with "|" in it cannot be asked for
ODD = ("a|b", "æøå ÆØÅ", "Čáhcesuolu ŋ đ š ŧ ž ʒ ǯ ǥ ǩ", "%_'\"\\;--", "  space ", "1")
# persons: plain, dotted, upper case, Norwegian and Sami letters, SQL-looking
PERSONS = ("p-1", "p.2", "P-3", "æøå-Åse", "Ŋávvá-Čáhci", "x'; DROP TABLE resources;--", "%")
TYPES = ("CarePlan", "Task")
SORTS = ((), ("_id",), ("-_id",), ("_lastUpdated",), ("-_lastUpdated",), ("date",), ("-date",))


def _resource(rtype: str, n: int, person: str, k: int) -> dict[str, Any]:
    status = ("active", "completed", "draft", "revoked")[(n + k) % 4]
    identifiers = [{"system": FNR, "value": f"0101{n:02d}{k:05d}"}]
    if k % 2 == 0:
        identifiers.append({"system": "urn:ip:lokal", "value": ODD[(n + k) % len(ODD)]})
    if k % 3 == 0:
        identifiers.append({"value": ODD[k % len(ODD)]})  # no system
    subject = {"reference": f"Patient/{person}" if k % 5 else "Group/gruppe-1"}
    day = f"2026-0{1 + (n + k) % 9}-1{k % 10}"
    common = {"status": status, "intent": "plan", "identifier": identifiers}
    if rtype == "Task":  # Tasks may be deleted; they have no "date" (every sort_date ties)
        return common | {"resourceType": "Task", "for": subject, "authoredOn": day}
    return common | {
        "resourceType": "CarePlan",
        "subject": subject,
        "period": {"start": day},
        "title": "Individuell plan – Čáhcesuolu",
    }


@pytest.fixture
def repos(engine: Engine) -> tuple[SqlRepository, SqlRepository]:
    """Plans and Tasks of several persons (some updated, some Tasks deleted) and a repository
    per path."""
    fast = SqlRepository(engine, minimal_structural_check)
    general = SqlRepository(engine, minimal_structural_check)
    general.driver_searches = False
    for rtype, (n, person) in itertools.product(TYPES, enumerate(PERSONS)):
        for k in range(1 + 2 * n % 9):
            rid = f"{rtype[0].lower()}-{n}-{k:02d}"
            fast.update(rtype, rid, {**_resource(rtype, n, person, k), "id": rid})
            if k % 4 == 1:  # a later version: another lastUpdated
                fast.update(rtype, rid, {**_resource(rtype, n, person, k + 1), "id": rid})
            if k % 3 == 2 and rtype == "Task":
                fast.delete(rtype, rid)
    return fast, general


def _p(name: str, *values: str, modifier: str | None = None) -> SearchParam:
    return SearchParam(name, values, modifier)


def _criteria() -> Iterator[tuple[SearchParam, ...]]:
    for person in (*PERSONS, "ukjent", "æøå", "Patient/x|y"):
        yield (_p("patient", f"Patient/{person}"),)
    yield (_p("patient", "p-1"),)  # one target type: Patient
    yield (_p("patient", "P-3", modifier="Patient"),)
    yield (_p("patient", "http://fhir.example.no/Patient/p.2/_history/4"),)
    yield (_p("subject", "Patient/p.2"),)
    yield (_p("subject", "Group/gruppe-1"),)
    yield (_p("subject", "p.2"),)  # two target types: the general path
    yield (_p("status", "active"),)
    yield (_p("status", "ACTIVE"),)
    yield (_p("status", "active", "completed"),)
    yield (_p("identifier", f"{FNR}|01010000000"),)
    yield (_p("identifier", f"{FNR}|"),)
    yield (_p("identifier", "|"),)
    for value in ODD:
        yield (_p("identifier", f"urn:ip:lokal|{value}"),)
        yield (_p("identifier", value),)
        yield (_p("identifier", f"|{value}"),)
    yield (_p("identifier", "a|b|c"),)
    yield (_p("identifier", LOCAL),)
    yield (_p("identifier", "1", f"{FNR}|01010300001", "|æøå ÆØÅ"),)
    yield (_p("_id", "c-2-00"),)
    deleted = ("t-2-05", "t-1-02")
    yield (_p("_id", *deleted, "t-3-01", "c-1-02", "finnes-ikke", "t-2-05"),)
    yield ()
    yield (_p("patient", "Patient/p.2"), _p("status", "active", "draft"))
    yield (_p("status", "completed"), _p("patient", "Patient/æøå-Åse"))  # driver second
    yield (_p("patient", "Patient/p.2"), _p("subject", "Patient/p.2"))
    yield (_p("_id", "c-2-00", "t-2-01", "t-3-00", "c-2-01"), _p("patient", "Patient/p.2"))
    # general-path shapes: the same answers by construction, asked here for the errors
    yield (_p("status", "active", modifier="not"),)
    yield (_p("patient", "true", modifier="missing"),)
    yield (_p("date", "ge2026-03-01"),)


def _fingerprint(q: SearchQuery) -> str:
    return hashlib.sha256(repr((q.resource_type, q.params, q.sort, q.binding)).encode()).hexdigest()


def _token(repo: SqlRepository, q: SearchQuery, token: str | None) -> list[str] | None:
    return None if token is None else repo.tokens.open(token, _fingerprint(q))


def _same(repo: SqlRepository, q: SearchQuery, a: SearchResult, b: SearchResult) -> None:
    assert a.matches == b.matches, q
    assert (a.includes, a.total, a.backwards) == (b.includes, b.total, b.backwards), q
    assert _token(repo, q, a.next_cursor) == _token(repo, q, b.next_cursor), q
    assert _token(repo, q, a.prev_cursor) == _token(repo, q, b.prev_cursor), q
    assert len(a.row_cursors) == len(b.row_cursors) == (len(a.matches) if q.binding else 0)
    for (ap, an), (bp, bn) in zip(a.row_cursors, b.row_cursors, strict=True):
        assert _token(repo, q, ap) == _token(repo, q, bp), q
        assert _token(repo, q, an) == _token(repo, q, bn), q


def _answer(repo: SqlRepository, q: SearchQuery) -> SearchResult | list[Any]:
    try:
        return repo.search(q)
    except BadRequest as err:
        return [(i.message_id, i.code, i.expression, i.text) for i in err.issues]


def _walk(fast: SqlRepository, general: SqlRepository, q: SearchQuery) -> int:
    """Follow next tokens to the end (made by the paths in turn, each also read by the other),
    then the previous tokens back to the first page; the number of pages read."""
    forward = True
    for turn in itertools.count():
        a, b = _answer(fast, q), _answer(general, q)
        if isinstance(a, list) or isinstance(b, list):
            assert a == b, q
            return turn
        _same(fast, q, a, b)
        assert turn < 200, q
        token = (a, b)[turn % 2].next_cursor if forward else (a, b)[turn % 2].prev_cursor
        if token is None and forward:
            forward, token = False, (a, b)[turn % 2].prev_cursor
        if token is None:
            return turn + 1
        q = replace(q, cursor=token)
    raise AssertionError("unreachable")


def test_both_paths_give_the_same_pages(repos: tuple[SqlRepository, SqlRepository]) -> None:
    fast, general = repos
    pages = 0
    for rtype, (n, params) in itertools.product(TYPES, enumerate(_criteria())):
        for m, sort in enumerate(SORTS):
            count = (1, 2, 3, 20)[(n + m) % 4]
            binding = "org-974600951:sak-1" if (n + m) % 3 == 0 else None
            q = SearchQuery(rtype, params, count=count, sort=sort, binding=binding)
            pages += _walk(fast, general, q)
        q = SearchQuery(rtype, params, count=2)
        for variant in (
            replace(q, total_wanted=True),
            replace(q, summary_count=True),
            replace(q, count=0),
            replace(q, count=0, total_wanted=True),
            replace(q, count=1, total_wanted=True, sort=("-_lastUpdated",)),
        ):
            pages += _walk(fast, general, variant)
    assert pages > 1000  # many pages compared, not a loop that stopped early


@pytest.mark.parametrize(
    "query",
    [
        SearchQuery("CarePlan", (_p("patient", "Patient/p.2"),), sort=("-foo",)),
        SearchQuery("CarePlan", (_p("patient", "Patient/p.2"),), sort=("_id", "date")),
        SearchQuery("CarePlan", (_p("patient", "Patient/p.2"),), cursor="ikke-et-token"),
        SearchQuery("CarePlan", (_p("patient", "Patient/p.2"),), cursor="æøå"),
        SearchQuery("CarePlan", (_p("patient", "Patient/p.2"),), cursor=""),
        SearchQuery("CarePlan", (_p("finnes-ikke", "x"),), sort=("-foo",)),
        SearchQuery("CarePlan", (_p("status", "active"),), sort=("-foo",), cursor="x"),
        SearchQuery("Ukjent", (_p("_id", "x"),)),
    ],
    ids=["sort", "two sorts", "garbage", "letters", "empty", "param+sort", "sort+token", "type"],
)
def test_both_paths_refuse_alike(
    repos: tuple[SqlRepository, SqlRepository], query: SearchQuery
) -> None:
    fast, general = repos
    a, b = _answer(fast, query), _answer(general, query)
    if isinstance(a, list):
        assert a == b
    else:
        assert not isinstance(b, list)
        _same(fast, query, a, b)


def test_a_token_is_refused_by_another_search_on_both_paths(
    repos: tuple[SqlRepository, SqlRepository],
) -> None:
    fast, general = repos
    mine = SearchQuery("CarePlan", (_p("patient", "Patient/p.2"),), count=1)
    other = SearchQuery("CarePlan", (_p("patient", "Patient/P-3"),), count=1)
    for maker, reader in itertools.product(repos, repeat=2):
        token = maker.search(mine).next_cursor
        assert token is not None
        for q in (replace(other, cursor=token), replace(mine, cursor=token, binding="b")):
            with pytest.raises(BadRequest) as refused:
                reader.search(q)
            assert [i.message_id for i in refused.value.issues] == ["IP-4105"]
    assert fast.driver_searches and not general.driver_searches


FAST_SHAPES = [
    (_p("patient", "Patient/p.2"),),
    (_p("patient", "P-3", modifier="Patient"),),
    (_p("subject", "Group/gruppe-1"),),
    (_p("status", "active", "completed"),),
    (_p("identifier", f"{FNR}|01010000000"),),
    (_p("identifier", "|"),),
    (_p("_id", "c-2-00", "c-2-01"),),
    (_p("patient", "Patient/p.2"), _p("status", "revoked")),
    (),
]


@pytest.mark.parametrize("params", FAST_SHAPES)
@pytest.mark.parametrize("sort", [(), ("-_id",), ("_lastUpdated",), ("-date",)])
def test_common_shapes_build_no_sqlalchemy_statement(
    repos: tuple[SqlRepository, SqlRepository],
    monkeypatch: pytest.MonkeyPatch,
    params: tuple[SearchParam, ...],
    sort: tuple[str, ...],
) -> None:
    """The driver path is the one taken (the comparisons above compare two paths): with the
    SQLAlchemy builders broken, the common shapes are still answered, pages and totals."""
    fast, general = repos
    q = SearchQuery("CarePlan", params, count=1, sort=sort)
    first = fast.search(replace(q, total_wanted=True))
    assert first.total is not None and first.total >= 1

    def broken(*_args: object) -> None:
        raise AssertionError("a SQLAlchemy statement was built")

    monkeypatch.setattr(repository_module, "page_select", broken)
    monkeypatch.setattr(repository_module, "criteria", broken)
    found = fast.search(replace(q, total_wanted=True))
    assert found.matches == first.matches and found.total == first.total
    assert fast.search(replace(q, summary_count=True)).total == first.total
    if first.next_cursor:
        assert fast.search(replace(q, cursor=first.next_cursor)).matches
    with pytest.raises(AssertionError, match="SQLAlchemy statement"):
        general.search(q)


@pytest.fixture
def slow_pg() -> Iterator[Engine]:
    """A migrated PostgreSQL store whose statements are cancelled after 0.2 s, one connection."""
    with postgres_schema("ipfhir_paths") as schema:
        engine = make_engine(PG_URL, schema=schema, pool_size=1, statement_timeout_s=0.2)
        migrate(engine)
        yield engine
        engine.dispose()


_BY_PERSON = SearchQuery("Task", (_p("patient", "Patient/p-1"),))


@pytest.mark.postgres
@pytest.mark.parametrize("driver_searches", [True, False], ids=["driver", "sqlalchemy"])
def test_a_search_past_the_statement_timeout_is_the_error_the_api_answers_503(
    slow_pg: Engine, driver_searches: bool
) -> None:
    """A search waiting for a lock past ``statement_timeout`` raises SQLAlchemy's error around
    psycopg's QueryCanceled (the API's guard answers it 503 IP-4130) on both paths, and the
    connection goes on serving."""
    repo = SqlRepository(slow_pg, minimal_structural_check)
    repo.driver_searches = driver_searches
    assert repo.search(_BY_PERSON).total == 0
    locker = create_engine(PG_URL)
    try:
        with locker.begin() as conn, slow_pg.connect() as mine:
            path = mine.exec_driver_sql("SHOW search_path").scalar_one()
            mine.rollback()
            conn.exec_driver_sql(f"LOCK TABLE {path}.resources IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(OperationalError) as cancelled:
                repo.search(_BY_PERSON)
        assert getattr(cancelled.value.orig, "sqlstate", None) == "57014"
    finally:
        locker.dispose()
    assert repo.search(_BY_PERSON).total == 0


@pytest.mark.postgres
@pytest.mark.parametrize("driver_searches", [True, False], ids=["driver", "sqlalchemy"])
def test_a_search_on_a_lost_connection_invalidates_it(
    slow_pg: Engine, driver_searches: bool
) -> None:
    """The server ends the pooled connection: a search on it (here inside a transaction, as a
    conditional create searches) fails as SQLAlchemy's disconnect error and invalidates the
    connection, so the pool does not hand it out again and the next search works."""
    repo = SqlRepository(slow_pg, minimal_structural_check)
    repo.driver_searches = driver_searches
    admin = create_engine(PG_URL)
    try:
        with slow_pg.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with admin.begin() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            with pytest.raises(DBAPIError) as lost:
                repo._search(conn, _BY_PERSON)
            assert lost.value.connection_invalidated and conn.invalidated
    finally:
        admin.dispose()
    assert repo.search(_BY_PERSON).total == 0
