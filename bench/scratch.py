"""Bench only: a scratch PostgreSQL schema for one bench run, dropped with everything in it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

__all__ = ["scratch_schema"]


@contextmanager
def scratch_schema(url: str, prefix: str) -> Iterator[str]:
    """A new schema ``{prefix}_{random}`` on the PostgreSQL at ``url``, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
