"""Alembic environment: always run with a connection handed over by ``adapter.store.migrate``."""

from __future__ import annotations

from alembic import context

from ipfhir.adapter.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable when run from the alembic CLI
    raise RuntimeError("run migrations through adapter.store.migrate(engine)")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
