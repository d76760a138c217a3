"""Idempotent retry of a write: the outcome of a write made under a request key is stored in the
write's own transaction, and the same request made again is answered with that outcome instead
of writing again.

Why: when the connection to the database (or to the client) drops while a write commits, the
client cannot tell whether it was stored. It sends the request again with the same request id
(HTTP ``X-Request-Id``, turned into a key bound to the caller and the request by
``adapter.api.idempotency``); a committed first attempt is then answered with its outcome — the
same resource, version and status — and one that never committed is simply written now. Either
way the resource is written once.

The key is looked up inside the write transaction, before anything is written; it is stored
with the write (primary key): two attempts racing each other cannot both commit — the loser's
insert meets the winner's row, its transaction is rolled back and run again
(:class:`~adapter.store.retry.RaceLost`), and then finds the winner's outcome. Create, update
(also a PUT that creates) and delete are covered; transaction and batch Bundles are not (use
``ifNoneExist`` on their creates).
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError

from ipfhir.adapter.errors import issue
from ipfhir.adapter.ports import REQUEST_KEY as _KEY
from ipfhir.adapter.ports import Written, request_key
from ipfhir.adapter.store.driver_sql import insert_rows
from ipfhir.adapter.store.retry import RaceLost
from ipfhir.adapter.store.schema import request_outcomes
from ipfhir.adapter.store.unit import writes_of

__all__ = ["Outcome", "remember", "replayed", "request_key"]

Outcome = tuple[str, str, str, str]  # (action, resource type, id, version)


def replayed(conn: Connection) -> Outcome | None:
    """The stored outcome of this request's first attempt, if it committed."""
    key = _KEY.get()
    if key is None:
        return None
    t = request_outcomes
    row = conn.execute(
        select(t.c.action, t.c.res_type, t.c.res_id, t.c.version).where(t.c.request_key == key)
    ).first()
    return None if row is None else (str(row[0]), str(row[1]), str(row[2]), str(row[3]))


def remember(conn: Connection) -> None:
    """Store the outcome of the write just made on ``conn`` under the request's key."""
    key = _KEY.get()
    writes: tuple[Written, ...] = writes_of(conn)
    if key is None or not writes:
        return
    w = writes[-1]
    row = {
        "request_key": key,
        "action": w.action,
        "res_type": w.resource_type,
        "res_id": w.resource_id,
        "version": w.version_id,
        "created_at": time.time(),
    }
    try:
        insert_rows(conn, request_outcomes, row)
    except IntegrityError as err:  # a concurrent attempt of the same request committed first
        raise RaceLost([issue("IP-4404", None, "conflict")]) from err
