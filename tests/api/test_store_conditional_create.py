"""Conditional create racing (SQLite and PostgreSQL): several requests with the same
``If-None-Exist`` criteria at once create exactly one resource; the others get that one."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine

from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import SearchParam, SearchQuery, WriteOutcome
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.conditional import criteria_key
from tests.api.conftest import FNR_SYSTEM, patient

RACERS = 6


def _slow_validator(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    """Validation outside the write lock takes a while: every racer has searched and found
    nothing before the first one writes, which is exactly the window the lock must close."""
    time.sleep(0.05)
    return minimal_structural_check(resource, profile)


def _race(repo: SqlRepository, fnr: str) -> list[WriteOutcome]:
    crit = SearchQuery("Patient", (SearchParam("identifier", (f"{FNR_SYSTEM}|{fnr}",)),))
    start = threading.Barrier(RACERS)

    def one(_: int) -> WriteOutcome:
        start.wait()
        return repo.conditional_create(patient(fnr), crit)

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def test_concurrent_conditional_creates_create_once(engine: Engine) -> None:
    repo = SqlRepository(engine, _slow_validator)
    fnr = patient()["identifier"][0]["value"]
    outcomes = _race(repo, fnr)
    assert sum(o.created for o in outcomes) == 1
    assert len({o.resource["id"] for o in outcomes}) == 1
    found = repo.search(
        SearchQuery("Patient", (SearchParam("identifier", (f"{FNR_SYSTEM}|{fnr}",)),))
    )
    assert found.total == 1


def test_criteria_key_ignores_parameter_order_but_not_values() -> None:
    a = SearchParam("identifier", ("s|1",))
    b = SearchParam("birthdate", ("1988-05-17",))
    assert criteria_key(SearchQuery("Patient", (a, b))) == criteria_key(
        SearchQuery("Patient", (b, a))
    )
    other = SearchParam("identifier", ("s|2",))
    assert criteria_key(SearchQuery("Patient", (a,))) != criteria_key(
        SearchQuery("Patient", (other,))
    )
    assert criteria_key(SearchQuery("Patient", (a,))) != criteria_key(SearchQuery("Person", (a,)))
