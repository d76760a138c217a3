"""Fixtures shared by the API and the adversarial tests: a migrated store on SQLite (a file per
test) and on PostgreSQL (one schema per session, emptied before each test, dropped at the end)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.store import make_engine, migrate
from ipfhir.adapter.store.schema import metadata
from tests import hypothesis_profiles
from tests.pg import PG_URL, postgres_schema

hypothesis_profiles.load()  # full example counts in CI (.ci/run), a fast run locally


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    with postgres_schema("ipfhir_api") as schema:
        engine = make_engine(PG_URL, schema=schema, pool_size=10)
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
        migrate(eng)
        yield eng
        eng.dispose()
        return
    eng = request.getfixturevalue("pg_engine")
    with eng.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    yield eng
