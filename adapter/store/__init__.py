"""The versioned FHIR resource store (SQLAlchemy Core; SQLite embedded, PostgreSQL in production).

Every write is one database transaction: a new row in ``resource_versions`` (history, kept
forever), the current row in ``resources``, and the search index rows (token, reference, date).
"""

from ipfhir.adapter.store.engine import make_engine, migrate
from ipfhir.adapter.store.repository import SqlRepository

__all__ = ["SqlRepository", "make_engine", "migrate"]
