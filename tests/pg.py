"""PostgreSQL for tests: reachable → a fresh schema per use; unreachable → skip with the reason,
or fail when ``IPFHIR_REQUIRE_POSTGRES=1`` (CI sets it: PostgreSQL tests are mandatory there)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

__all__ = ["PG_URL", "postgres_or_skip", "postgres_schema"]

PG_URL = os.environ.get("IPFHIR_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")


def postgres_or_skip() -> None:
    """Skip (or fail, when required) unless PostgreSQL answers at ``PG_URL``."""
    try:
        probe = create_engine(PG_URL)
        with probe.connect():
            pass
        probe.dispose()
    except OperationalError as err:
        if os.environ.get("IPFHIR_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {PG_URL}: {err}")
        # Justified skip: a developer machine without PostgreSQL; never in CI (fails above there).
        pytest.skip(f"PostgreSQL unreachable at {PG_URL} (set IPFHIR_TEST_POSTGRES_URL)")


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A new schema named ``{prefix}_{random}``, dropped (with everything in it) afterwards."""
    postgres_or_skip()
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
