"""A search page costs what the page costs, not what the matches cost (SQLite and PostgreSQL).

``Goal?patient=X`` is read from ``ix_idx_reference_lookup`` in id order and stops after the page
(the query plan says so: the index, no sort of every match); pages by cursor return each match
once, in order; the store counts every match only when asked (``_total=accurate``).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, Select, insert

from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.context_sql import by_patient_sql
from ipfhir.adapter.store.schema import idx_reference, resources
from ipfhir.adapter.store.search_sql import page_select

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
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql))


@pytest.mark.parametrize("person", ["mange-maal", "faa-maal"])
@pytest.mark.parametrize("cursor", [None, ("n", "mange-maal-000700", "mange-maal-000700")])
def test_the_patient_search_reads_its_page_from_the_index(
    goals: Engine, person: str, cursor: tuple[str, str, str] | None
) -> None:
    by_person = (SearchParam("patient", (f"Patient/{person}",)),)
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


def _driver_plan(engine: Engine, sql: str, params: dict[str, str]) -> str:
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
