"""A search page costs what the page costs, not what the matches cost (SQLite and PostgreSQL).

Both ways a search is run are held to it: the SQLAlchemy statement and the driver SQL of the
common shapes (``SqlRepository.driver_searches``).

``Goal?patient=X`` is read from ``ix_idx_reference_lookup`` in id order and stops after the page
(the query plan says so: the index, no sort of every match); pages by cursor return each match
once, in order; the store counts every match only when asked (``_total=accurate``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, Select, insert, select

from ipfhir.adapter.fhir.dates import date_range
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.context_sql import by_patient_sql
from ipfhir.adapter.store.driver_sql import search_page_sql
from ipfhir.adapter.store.schema import idx_date, idx_reference, idx_token, resources
from ipfhir.adapter.store.search_sql import Cursor, driver_search, page_select

MANY, FEW = 1500, 3
_BY_PERSON = (SearchParam("patient", ("Patient/mange-maal",)),)


def _goal_rows(person: str, n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, refs = [], []
    for i in range(n):
        rid = f"{person}-{i:06d}"
        goal = {
            "resourceType": "Goal",
            "id": rid,
            "lifecycleStatus": "active",
            "description": {"text": "Gå tur langs Čáhcesuolu"},
            "subject": {"reference": f"Patient/{person}"},
        }
        rows.append(
            {
                "res_type": "Goal",
                "res_id": rid,
                "version": 1,
                "last_updated": "2026-01-05T08:00:00.000Z",
                "sort_date": "",
                "deleted": False,
                "body": orjson.dumps(goal).decode(),
            }
        )
        for param in ("patient", "subject"):
            refs.append(
                {
                    "res_type": "Goal",
                    "res_id": rid,
                    "param": param,
                    "target_type": "Patient",
                    "target_id": person,
                }
            )
    return rows, refs


@pytest.fixture
def goals(engine: Engine) -> Engine:
    """Many Goals for one person, a few for another, and those of twenty others (rows written
    straight into the store): the person's Goals are a minority of the type, as in real use."""
    others = [(f"annen-{n:02d}", 150) for n in range(20)]
    with engine.begin() as conn:
        for person, n in (("mange-maal", MANY), ("faa-maal", FEW), *others):
            rows, refs = _goal_rows(person, n)
            conn.execute(insert(resources), rows)
            conn.execute(insert(idx_reference), refs)
        conn.exec_driver_sql("ANALYZE")
    return engine


def _plan(engine: Engine, stmt: Select[Any]) -> str:
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    return _explain(engine, sql, {})


def _explain(engine: Engine, sql: str, params: dict[str, Any]) -> str:
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql, params))


def _driver_sql(
    engine: Engine, params: tuple[SearchParam, ...], cursor: Cursor | None
) -> tuple[str, dict[str, Any]]:
    """The driver SQL and values of a page of Goals sorted by id (what ``driver_page`` runs)."""
    search = driver_search("Goal", params)
    assert search is not None, params
    ascending = cursor is None or cursor[0] == "n"
    sql = search_page_sql(
        engine.dialect.name, search.criteria, search.driver, "res_id", ascending, bool(cursor)
    )
    values = dict(search.values, n=11)
    if cursor is not None:
        values |= {"kv": cursor[1], "kr": cursor[2]}
    return sql, values


@pytest.mark.parametrize("path", ["sqlalchemy", "driver"])
@pytest.mark.parametrize("person", ["mange-maal", "faa-maal"])
@pytest.mark.parametrize(
    "cursor",
    [
        None,
        ("n", "mange-maal-000700", "mange-maal-000700"),
        ("p", "mange-maal-000700", "mange-maal-000700"),
    ],
)
def test_the_patient_search_reads_its_page_from_the_index(
    goals: Engine, person: str, cursor: tuple[str, str, str] | None, path: str
) -> None:
    by_person = (SearchParam("patient", (f"Patient/{person}",)),)
    if path == "driver":
        plan = _explain(goals, *_driver_sql(goals, by_person, cursor))
    else:
        plan = _plan(goals, page_select("Goal", by_person, "_id", False, cursor, 11))
    if goals.dialect.name == "sqlite":
        # the outer loop walks the index in id order; no list of every match, no sort of it
        assert plan.splitlines()[0].startswith(
            "SEARCH idx_reference USING COVERING INDEX ix_idx_reference_lookup"
        ), plan
        assert "SUBQUERY" not in plan and "TEMP B-TREE" not in plan, plan
    else:
        assert "ix_idx_reference_lookup on idx_reference" in plan, plan
        assert "Sort" not in plan and "Hash" not in plan, plan
        assert "Seq Scan" not in plan, plan
        assert plan.splitlines()[0].startswith("Limit"), plan


def test_pages_by_cursor_give_every_match_once_in_order(goals: Engine) -> None:
    repo = SqlRepository(goals, minimal_structural_check)
    seen: list[str] = []
    cursor = None
    while True:
        found = repo.search(SearchQuery("Goal", _BY_PERSON, count=400, cursor=cursor))
        seen += [str(g["id"]) for g in found.matches]
        cursor = found.next_cursor
        if cursor is None:
            break
    assert seen == [f"mange-maal-{i:06d}" for i in range(MANY)]
    back = repo.search(SearchQuery("Goal", _BY_PERSON, count=400, cursor=found.prev_cursor))
    assert [g["id"] for g in back.matches] == seen[-700:-300]


def test_the_store_counts_every_match_only_when_asked(goals: Engine) -> None:
    repo = SqlRepository(goals, minimal_structural_check)
    first = repo.search(SearchQuery("Goal", _BY_PERSON, count=10))
    assert first.total is None and len(first.matches) == 10 and first.next_cursor
    asked = repo.search(SearchQuery("Goal", _BY_PERSON, count=10, total_wanted=True))
    assert asked.total == MANY
    few = (SearchParam("patient", ("Patient/faa-maal",)),)
    whole = repo.search(SearchQuery("Goal", few, count=10))
    assert whole.total == FEW  # a first page that holds every match: its length, for free


def _driver_plan(engine: Engine, sql: str, params: dict[str, Any]) -> str:
    """The plan as the server meets it: PostgreSQL with statistics (autovacuum gathers them),
    SQLite without (nothing runs ANALYZE on a deployed SQLite file)."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:  # forget the fixture's statistics on this connection
            conn.exec_driver_sql("DELETE FROM sqlite_stat1")
            conn.exec_driver_sql("ANALYZE sqlite_schema")
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql, params))


def test_the_consent_context_seeks_each_type_not_every_reference_to_the_person(
    goals: Engine,
) -> None:
    """A context-cache miss reads the person's CarePlans, CareTeams and Consents: one seek of
    the lookup index per (type, parameter), never a walk of every reference to the person (the
    1,500 Goals of mange-maal), which is what made a miss cost milliseconds per thousand Goals."""
    pairs = (("CarePlan", "subject"), ("CareTeam", "subject"), ("Consent", "patient"))
    persons = ["mange-maal", "faa-maal", *(f"annen-{n:02d}" for n in range(20))]
    rows = [
        {"res_type": t, "res_id": f"{t.lower()}-{who}", "version": 1, "deleted": False}
        | {"last_updated": "2026-01-05T08:00:00.000Z", "sort_date": "", "body": "{}"}
        for who in persons
        for t, _ in pairs
    ]
    refs = [
        {"res_type": t, "res_id": f"{t.lower()}-{who}", "param": param}
        | {"target_type": "Patient", "target_id": who}
        for who in persons
        for t, param in pairs
    ]
    with goals.begin() as conn:  # each person's plan, team and consent beside the Goals
        conn.execute(insert(resources), rows)
        conn.execute(insert(idx_reference), refs)
        conn.exec_driver_sql("ANALYZE")
    params = {"pid": "mange-maal"}
    for k, (rtype, param) in enumerate(pairs):
        params[f"t{k}"], params[f"p{k}"] = rtype, param
    plan = _driver_plan(goals, by_patient_sql(goals.dialect.name, len(pairs)), params)
    assert plan.count("ix_idx_reference_lookup") == len(pairs), plan
    assert "ix_idx_reference_target" not in plan, plan
    assert "SCAN r" not in plan and "Seq Scan" not in plan, plan


@pytest.fixture
def indexed(goals: Engine) -> Engine:
    """The fixture's Goals with their token and date index rows: a lifecycle status (few
    completed), a category (one of five) and a start date (one a day from 2021 on)."""
    tokens, dates = [], []
    with goals.connect() as conn:
        ids = [str(r[0]) for r in conn.execute(select(resources.c.res_id))]
    for n, rid in enumerate(sorted(ids)):
        owner = {"res_type": "Goal", "res_id": rid}
        status = "completed" if n % 97 == 0 else "active"
        tokens.append(owner | {"param": "lifecycle-status", "system": None, "code": status})
        code = ("dagligliv", "skole", "arbeid", "bolig", "fritid")[n % 5]
        tokens.append(owner | {"param": "category", "system": _CATEGORY, "code": code})
        day = (date(2021, 1, 1) + timedelta(days=n % 1800)).isoformat()
        low, high = date_range(day)
        dates.append(owner | {"param": "start-date", "low": low, "high": high})
    with goals.begin() as conn:
        conn.execute(insert(idx_token), tokens)
        conn.execute(insert(idx_date), dates)
        conn.exec_driver_sql("ANALYZE")
    return goals


_CATEGORY = "https://ip.example.no/fhir/CodeSystem/ip-goal-category"


def _page_plan(engine: Engine, params: tuple[SearchParam, ...], driver_searches: bool) -> str:
    """The plan of the page ``SqlRepository`` reads: with ``driver_searches`` the driver SQL of
    a common shape (a date search has none: its SQLAlchemy statement)."""
    if driver_searches and driver_search("Goal", params) is not None:
        return _driver_plan(engine, *_driver_sql(engine, params, None))
    stmt = page_select("Goal", params, "_id", False, None, 11)
    sql = str(stmt.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    return _driver_plan(engine, sql, {})


_TABLE_OF = {"ix_idx_token_lookup": "idx_token", "ix_idx_date_lookup": "idx_date"}
_TABLE_OF["ix_idx_date_high"] = "idx_date"


@pytest.mark.parametrize(
    ("params", "index", "dense"),
    [
        ((SearchParam("lifecycle-status", ("completed",)),), "ix_idx_token_lookup", False),
        ((SearchParam("category", (f"{_CATEGORY}|skole",)),), "ix_idx_token_lookup", True),
        ((SearchParam("category", ("skole", "bolig")),), "ix_idx_token_lookup", True),
        ((SearchParam("start-date", ("2024-03-01",)),), "ix_idx_date_lookup", False),
        ((SearchParam("start-date", ("lt2021-01-05",)),), "ix_idx_date_lookup", False),
        ((SearchParam("start-date", ("le2021-01-04",)),), "ix_idx_date_lookup", False),
        ((SearchParam("start-date", ("ge2025-12-01",)),), "ix_idx_date_high", False),
        ((SearchParam("start-date", ("gt2025-12-01",)),), "ix_idx_date_high", False),
        ((SearchParam("start-date", ("eb2021-01-05",)),), "ix_idx_date_high", False),
        (
            (*_BY_PERSON, SearchParam("lifecycle-status", ("completed",))),
            "ix_idx_token_lookup",
            False,
        ),
    ],
    ids=[
        "status",
        "system|code",
        "two codes",
        "eq",
        "lt",
        "le",
        "ge",
        "gt",
        "eb",
        "patient+status",
    ],
)
@pytest.mark.parametrize("driver_searches", [False, True], ids=["sqlalchemy", "driver"])
def test_token_and_date_searches_read_their_index(
    indexed: Engine, params: tuple[SearchParam, ...], index: str, dense: bool, driver_searches: bool
) -> None:
    """A token or date criterion is found through its index, never by reading every row of the
    index table: SQLite as deployed (no statistics) seeks the lookup index; PostgreSQL (with
    statistics) does too for a selective criterion, and for a dense one (a fifth of the Goals)
    may instead walk the Goals and the index table's owner index side by side in id order,
    stopping after the page (a merge semi join under the LIMIT) — an index read as well."""
    plan = _page_plan(indexed, params, driver_searches)
    table = _TABLE_OF[index]
    if indexed.dialect.name == "sqlite" or not dense:
        assert index in plan, plan
    else:
        assert index in plan or f"ix_{table}_owner on {table}" in plan, plan
    for name in ("idx_token", "idx_date", "idx_reference"):
        assert f"SCAN {name}" not in plan and f"Seq Scan on {name}" not in plan, plan
