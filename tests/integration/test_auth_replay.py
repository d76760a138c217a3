"""The token endpoint's replay memory on SQLite and PostgreSQL: of many processes (threads
here, each its own connection) offering the same assertion at once, exactly one is first; an
expired one is forgotten; another client's equal jti is another assertion."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from ipfhir.adapter.auth.replay import SqlReplayGuard
from ipfhir.adapter.store import make_engine, migrate
from ipfhir.adapter.store.schema import client_assertions
from tests.pg import PG_URL, postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}")
        migrate(made)
        yield made
        made.dispose()
        return
    with postgres_schema("ipfhir_replay") as schema:
        made = make_engine(PG_URL, schema=schema)
        migrate(made)
        yield made
        made.dispose()


def test_exactly_one_of_many_concurrent_offers_is_first(engine: Engine) -> None:
    guards = [SqlReplayGuard(engine) for _ in range(8)]
    start = threading.Barrier(len(guards))

    def offer(guard: SqlReplayGuard) -> bool:
        start.wait()
        return guard.first_use("961651727", "jti-ø-1", 2_000.0, 1_000.0)

    with ThreadPoolExecutor(len(guards)) as pool:
        results = list(pool.map(offer, guards))
    assert results.count(True) == 1


def test_expired_assertions_are_forgotten(engine: Engine) -> None:
    guard = SqlReplayGuard(engine)
    assert guard.first_use("961651727", "a", 1_060.0, 1_000.0) is True
    assert guard.first_use("961651727", "a", 1_060.0, 1_030.0) is False
    assert guard.first_use("920376290", "a", 1_060.0, 1_030.0) is True  # another client
    assert guard.first_use("961651727", "b", 2_000.0, 1_100.0) is True  # purges both "a"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(client_assertions)).scalar() == 1
