"""A person's consent-decision context in a few plain-SQL queries on one connection.

On a context-cache miss the enforcement point needs a person's CarePlans, CareTeams and Consents
(found through the reference index, exactly as ``CarePlan?subject=Patient/x`` finds them) and
then the parties those reference, by id. Built as SQLAlchemy searches that was several
connections and many compiled constructs per request (profiled: about two thirds of a secure
read's CPU on a miss). Here each statement is driver SQL written once per dialect (and per
number of parameters), run on one connection (:meth:`SqlRepository.reader`).

Results are the current, non-deleted versions only. ``by_patient`` returns rows in the order
the searches did: by the requested (type, parameter) order, then by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection

from ipfhir.adapter.store.driver_sql import driver_rows

__all__ = ["SqlReader", "by_patient_sql", "fetch_sql"]

Resource = dict[str, Any]
_CHUNK = 100  # (type, id) pairs per fetch statement


def _p(dialect: str, name: str) -> str:
    return f":{name}" if dialect == "sqlite" else f"%({name})s"


def _not_deleted(dialect: str) -> str:
    return "r.deleted = 0" if dialect == "sqlite" else "NOT r.deleted"


@cache
def by_patient_sql(dialect: str, n: int) -> str:
    """Current resources whose reference index row (type ``t{k}``, parameter ``p{k}``, k < n)
    points at ``Patient/:pid``: one seek of ``ix_idx_reference_lookup`` per (type, parameter),
    so the person's other resources (ten thousand Goals) are never read. An ``OR`` of the pairs
    was planned as a walk of every reference to the person (``ix_idx_reference_target``)."""
    seeks = " UNION ".join(
        "SELECT i.res_type, i.res_id FROM idx_reference i"
        f" WHERE i.res_type = {_p(dialect, f't{k}')} AND i.param = {_p(dialect, f'p{k}')}"
        f" AND i.target_id = {_p(dialect, 'pid')}"
        " AND i.target_type = 'Patient'"
        for k in range(n)
    )
    return (
        f"SELECT r.res_type, r.res_id, r.body FROM ({seeks}) m JOIN resources r"
        f" ON r.res_type = m.res_type AND r.res_id = m.res_id WHERE {_not_deleted(dialect)}"
    )


@cache
def fetch_sql(dialect: str, n: int) -> str:
    """Current resources for ``n`` (``t{k}``, ``i{k}``) pairs: one primary-key probe each."""
    keys = " OR ".join(
        f"(r.res_type = {_p(dialect, f't{k}')} AND r.res_id = {_p(dialect, f'i{k}')})"
        for k in range(n)
    )
    return (
        "SELECT r.res_type, r.res_id, r.body FROM resources r "
        f"WHERE {_not_deleted(dialect)} AND ({keys})"
    )


class SqlReader:
    """Reads on one open connection (see the module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._dialect = conn.dialect.name

    def by_patient(self, patient_id: str, pairs: Sequence[tuple[str, str]]) -> list[Resource]:
        """Current resources of the (type, reference parameter) ``pairs`` pointing at
        ``Patient/patient_id``, ordered by the position of their type in ``pairs``, then id."""
        if not pairs:
            return []
        params: dict[str, str] = {"pid": patient_id}
        for k, (rtype, param) in enumerate(pairs):
            params[f"t{k}"], params[f"p{k}"] = rtype, param
        rows = driver_rows(self._conn, by_patient_sql(self._dialect, len(pairs)), params)
        rank = {rtype: k for k, (rtype, _) in reversed(list(enumerate(pairs)))}
        ordered = sorted(rows, key=lambda row: (rank[row[0]], row[1]))
        return [orjson.loads(body) for _, _, body in ordered]

    def fetch(self, refs: Iterable[tuple[str, str]]) -> list[Resource]:
        """Current resources for (type, id) pairs in input order; missing ones left out."""
        order = list(dict.fromkeys(refs))
        found: dict[tuple[str, str], str] = {}
        for start in range(0, len(order), _CHUNK):
            chunk = order[start : start + _CHUNK]
            params: dict[str, str] = {}
            for k, (rtype, rid) in enumerate(chunk):
                params[f"t{k}"], params[f"i{k}"] = rtype, rid
            sql = fetch_sql(self._dialect, len(chunk))
            for rtype, rid, body in driver_rows(self._conn, sql, params):
                found[(rtype, rid)] = body
        return [orjson.loads(found[k]) for k in order if k in found]
