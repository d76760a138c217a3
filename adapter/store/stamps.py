"""Change stamps: a cheap "has anything this decision depends on changed?" for consent caching.

One row per person (``Patient/id``) and one global row (``"*"``) for the directory (Organization,
Practitioner, PractitionerRole, Endpoint, HealthcareService, Location). Every write of a resource
a cached consent context holds (``CONTEXT_TYPES``: the Patient itself, a CarePlan, CareTeam,
Consent or RelatedPerson whose ``subject``/``patient`` references the person; before and after
the write) or of a directory resource bumps the matching rows **in the writing transaction**
(a Goal, Task or Observation bumps nothing: no cached context holds one,
:mod:`adapter.fhir.person_ties`): a rolled-back write bumps
nothing, a committed one is seen by every process reading the same database. A reader keeps
``(stamps, context)`` and reloads the context only when :func:`read_stamps` answers differently.

Bumps are collected while the transaction runs (a collector of the unit of work,
:mod:`adapter.store.unit`) and written just before it commits, once per key and in sorted key
order, so two concurrent transactions never wait on each other's stamp rows in opposite orders
(no deadlock on PostgreSQL) and a Bundle touching one person fifty times bumps that person once.
A connection not opened as a unit of work (``SqlRepository.begin_write``) bumps at once.

Values: a row's first value is the clock in microseconds, then +1 per bump, so a stamp read
before the table was emptied (a restored or reset database) is not handed out again. A key never
written reads as 0. Stamps only compare for equality; they do not order writes across keys.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import Connection

from ipfhir.adapter.fhir.person_ties import (
    CONTEXT_TYPES,
    DIRECTORY_KEY,
    DIRECTORY_TYPES,
    PERSON_FIELDS,
    PERSON_LIST_FIELDS,
)
from ipfhir.adapter.fhir.references import patient_key
from ipfhir.adapter.store.driver_sql import driver_rows
from ipfhir.adapter.store.unit import begin_write, collector

__all__ = [
    "CONTEXT_TYPES",
    "DIRECTORY_KEY",
    "DIRECTORY_TYPES",
    "PERSON_FIELDS",
    "bump",
    "collecting",
    "read_stamps",
    "record",
    "ties",
]

# Which types are the directory and which fields tie a resource to a person:
# adapter.fhir.person_ties, the statement adapter.consent.context.patient_of reads too (a write
# bumps at least the person that function finds, before and after the write; a Provenance bumps
# every Patient among its targets, patient_of takes the one: a bump of more is only a reload).
_PENDING = "ipfhir_pending_stamps"  # the unit of work's collector of keys to bump
_CHUNK = 500


def ties(rtype: str, rid: str, resource: dict[str, Any] | None) -> set[str]:
    """The stamp keys a write of ``rtype/rid`` (as ``resource``) changes."""
    if rtype in DIRECTORY_TYPES:
        return {DIRECTORY_KEY}
    if rtype == "Patient":
        return {f"Patient/{rid}"}
    keys: set[str] = set()
    if not resource or rtype not in CONTEXT_TYPES:
        return keys
    for name in PERSON_FIELDS + PERSON_LIST_FIELDS.get(rtype, ()):
        value = resource.get(name)
        for ref in value if isinstance(value, list) else (value,):
            key = patient_key(ref.get("reference")) if isinstance(ref, dict) else None
            if key is not None:
                keys.add(key)
    return keys


def _param(dialect: str, name: str) -> str:
    return f":{name}" if dialect == "sqlite" else f"%({name})s"


@cache
def _bump_sql(dialect: str) -> str:
    scope, first = _param(dialect, "scope"), _param(dialect, "first")
    return (
        f"INSERT INTO change_stamps (scope, stamp) VALUES ({scope}, {first}) "
        "ON CONFLICT (scope) DO UPDATE SET stamp = change_stamps.stamp + 1"
    )


def bump(conn: Connection, keys: Iterable[str]) -> None:
    """Bump ``keys`` now, on ``conn``'s transaction, in sorted order."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    first = time.time_ns() // 1000
    rows = [{"scope": k, "first": first} for k in ordered]
    sql = _bump_sql(conn.dialect.name)
    for row in rows:  # one at a time: executemany order is the driver's business
        conn.exec_driver_sql(sql, row)


def record(conn: Connection, keys: set[str]) -> None:
    """Bump ``keys`` with ``conn``'s transaction: collected until it commits when it is a unit
    of work (:func:`adapter.store.unit.begin_write`), at once otherwise."""
    if not keys:
        return
    pending = collector(conn, _PENDING, set, bump)
    if pending is None:
        bump(conn, keys)
    else:
        pending.update(keys)


collecting = begin_write  # the earlier name: a unit of work bumps its stamps before it commits


@cache
def _read_sql(dialect: str, n: int) -> str:
    marks = ", ".join(_param(dialect, f"k{i}") for i in range(n))
    return f"SELECT scope, stamp FROM change_stamps WHERE scope IN ({marks})"


def read_stamps(conn: Connection, patient_refs: Sequence[str]) -> dict[str, int]:
    """Current stamps of ``patient_refs`` (``Patient/id``) and of the directory (``"*"``); 0 for
    a key never written. One primary-key lookup per 500 keys."""
    keys = [DIRECTORY_KEY, *dict.fromkeys(k for k in patient_refs if k != DIRECTORY_KEY)]
    out = dict.fromkeys(keys, 0)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        sql = _read_sql(conn.dialect.name, len(chunk))
        for scope, stamp in driver_rows(conn, sql, {f"k{i}": k for i, k in enumerate(chunk)}):
            out[scope] = int(stamp)
    return out
