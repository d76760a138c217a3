"""The recipients ledger (:class:`~adapter.ports.DisclosureLedger`) in the store's database:
table ``consent_recipients``, one row per (sharing Consent, organisation) with the first and the
last disclosure, upserted on the audit's transaction (:func:`adapter.audit.trail.write_trail`).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Engine, select

from ipfhir.adapter.ports import Recipient
from ipfhir.adapter.store.schema import consent_recipients

__all__ = ["SqlLedger"]


@cache
def _upsert_sql(dialect: str) -> str:
    """Driver SQL, written once per dialect (SQLite ≥ 3.24 and PostgreSQL share the syntax)."""
    c, o, w = (
        f":{n}" if dialect == "sqlite" else f"%({n})s" for n in ("consent", "organisation", "when")
    )
    return (
        "INSERT INTO consent_recipients (consent, organisation, first_disclosed, last_disclosed) "
        f"VALUES ({c}, {o}, {w}, {w}) ON CONFLICT (consent, organisation) "
        "DO UPDATE SET last_disclosed = excluded.last_disclosed"
    )


class SqlLedger:
    """The ledger in the store's database (SQLite or PostgreSQL): table ``consent_recipients``,
    created by the store's migrations."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._table = consent_recipients

    @property
    def engine(self) -> Engine:
        return self._engine

    def record(self, consent: str, organisation: str, when: str) -> None:
        with self._engine.begin() as conn:
            self._upsert(conn, consent, organisation, when)

    def record_in(self, transaction: Any, consent: str, organisation: str, when: str) -> None:
        """:meth:`record` inside the caller's open transaction (the audit's, see
        :func:`adapter.audit.trail.write_trail`) when it is one of this ledger's database: one
        upsert, no read, no savepoint; a concurrent first disclosure cannot make it fail."""
        if getattr(getattr(transaction, "engine", None), "pool", None) is not self._engine.pool:
            self.record(consent, organisation, when)
            return
        self._upsert(transaction, consent, organisation, when)

    @staticmethod
    def _upsert(conn: Any, consent: str, organisation: str, when: str) -> None:
        params = {"consent": consent, "organisation": organisation, "when": when}
        conn.exec_driver_sql(_upsert_sql(conn.dialect.name), params)

    def recipients(self, consent: str) -> list[Recipient]:
        t = self._table
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(t.c.consent, t.c.organisation, t.c.first_disclosed, t.c.last_disclosed)
                .where(t.c.consent == consent)
                .order_by(t.c.organisation)
            ).all()
        return [Recipient(*map(str, row)) for row in rows]
