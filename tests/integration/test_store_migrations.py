"""The Alembic migrations create exactly the tables of ``adapter.store.schema`` (SQLite and
PostgreSQL), ``consent_recipients`` included with the ledger's columns, and a database where the
ledger created that table itself migrates without losing its rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData, create_engine, insert, inspect, select, text

from adapter.audit.ledger import SqlLedger, ledger_table
from adapter.store import make_engine, migrate
from adapter.store.engine import _MIGRATIONS
from adapter.store.schema import consent_recipients, metadata
from tests.api.conftest import PG_URL, postgres_or_skip


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        yield engine
        engine.dispose()
        return
    postgres_or_skip()
    schema = f"ipfhir_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(PG_URL, schema=schema)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _columns(engine: Engine, table: str) -> list[tuple[str, bool, int | None]]:
    cols = inspect(engine).get_columns(table)
    pk = set(inspect(engine).get_pk_constraint(table)["constrained_columns"])
    return sorted(
        (c["name"], c["nullable"] and c["name"] not in pk, _length(c["type"])) for c in cols
    )


def _length(type_: Any) -> int | None:
    return getattr(type_, "length", None)


def test_migrations_create_the_schema_tables(fresh: Engine) -> None:
    migrate(fresh)
    migrate(fresh)  # idempotent
    tables = set(inspect(fresh).get_table_names()) - {"alembic_version"}
    assert tables == set(metadata.tables)
    for name, table in metadata.tables.items():
        expected = sorted(
            (c.name, bool(c.nullable) and not c.primary_key, _length(c.type)) for c in table.columns
        )
        assert _columns(fresh, name) == expected, name


def test_consent_recipients_has_the_ledgers_columns() -> None:
    ledger = ledger_table(MetaData())
    shape = [(c.name, str(c.type), c.primary_key, c.nullable) for c in ledger.columns]
    assert shape == [
        (c.name, str(c.type), c.primary_key, c.nullable) for c in consent_recipients.columns
    ]


def test_table_created_by_the_ledger_survives_the_migration(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    SqlLedger(engine).record("Consent/samtykke-1", "910000009", "2024-05-17T10:00:00Z")
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(consent_recipients.c.organisation)).all()
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert [r[0] for r in rows] == ["910000009"] and version == "0002"
    with engine.begin() as conn:
        conn.execute(
            insert(consent_recipients).values(
                consent="Consent/samtykke-2",
                organisation="910000009",
                first_disclosed="2024-06-01T08:00:00Z",
                last_disclosed="2024-06-01T08:00:00Z",
            )
        )
    assert [r.consent for r in SqlLedger(engine).recipients("Consent/samtykke-2")] == [
        "Consent/samtykke-2"
    ]
    engine.dispose()
