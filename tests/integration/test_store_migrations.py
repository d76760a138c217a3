"""The Alembic migrations create exactly the tables of ``adapter.store.schema`` (SQLite and
PostgreSQL), and the disclosure ledger works on the migrated ``consent_recipients`` table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, select, text

from ipfhir.adapter.store import make_engine, migrate
from ipfhir.adapter.store.ledger import SqlLedger
from ipfhir.adapter.store.schema import consent_recipients, metadata
from tests.pg import PG_URL, postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema("ipfhir_mig") as schema:
        engine = make_engine(PG_URL, schema=schema)
        yield engine
        engine.dispose()


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


def test_the_ledger_records_in_the_migrated_table(fresh: Engine) -> None:
    migrate(fresh)
    ledger = SqlLedger(fresh)
    ledger.record("Consent/samtykke-1", "910000009", "2024-05-17T10:00:00Z")
    ledger.record("Consent/samtykke-1", "910000009", "2024-06-01T08:00:00Z")
    ledger.record("Consent/samtykke-2", "920000001", "2024-06-02T08:00:00Z")
    with fresh.connect() as conn:
        rows = conn.execute(
            select(consent_recipients.c.consent, consent_recipients.c.organisation)
        ).all()
    assert sorted(rows) == [
        ("Consent/samtykke-1", "910000009"),
        ("Consent/samtykke-2", "920000001"),
    ]
    [recipient] = ledger.recipients("Consent/samtykke-1")
    assert (recipient.first_disclosed, recipient.last_disclosed) == (
        "2024-05-17T10:00:00Z",
        "2024-06-01T08:00:00Z",
    )


def test_sqlite_waits_for_a_writer_explicitly(tmp_path: Path) -> None:
    """The busy timeout is the project's, not a driver default (sqlite3: 5 s; SQLite: 0)."""
    from ipfhir.adapter.store.engine import SQLITE_BUSY_TIMEOUT_S

    engine = make_engine(f"sqlite:///{tmp_path / 'busy.sqlite3'}")
    try:
        with engine.connect() as conn:
            busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        assert (busy, mode) == (SQLITE_BUSY_TIMEOUT_S * 1000, "wal")
        assert SQLITE_BUSY_TIMEOUT_S >= 10
    finally:
        engine.dispose()


def test_0014_counts_the_attempts_existing_outbox_rows_show(fresh: Engine) -> None:
    """A row migrated to 0014 starts its ``maybe_reached`` from what it shows: every attempt
    of a queued or delivered message, all but the last of one in flight or dead."""
    cfg = Config()
    cfg.set_main_option("script_location", "ipfhir.adapter.store:migrations")
    with fresh.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0013")
    rows = [("m-q", "queued", 2), ("m-d", "delivered", 3), ("m-f", "in_flight", 1)]
    rows += [("m-x", "dead", 8), ("m-n", "queued", 0)]
    with fresh.begin() as conn:
        for mid, status, attempts in rows:
            conn.execute(
                text(
                    "INSERT INTO outbox (message_id, destination, kind, payload, status, "
                    "attempts, created_at, due_at) VALUES (:m, 'http://romsa.example/', "
                    "'ip-transfer-plan', '{\"note\": \"æøå\"}', :s, :a, 0, 0)"
                ),
                {"m": mid, "s": status, "a": attempts},
            )
    migrate(fresh)
    with fresh.connect() as conn:
        found = dict(conn.execute(text("SELECT message_id, maybe_reached FROM outbox")).all())
    assert found == {"m-q": 2, "m-d": 3, "m-f": 0, "m-x": 7, "m-n": 0}
