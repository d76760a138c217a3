"""Bounded retry of a write transaction that lost a race the database settled for it.

Two writers can collide in ways only the database sees: PostgreSQL breaks a deadlock by aborting
one transaction (SQLSTATE 40P01) or refuses a serialization (40001); two PUT-creates of one new id
both find nothing and the second insert meets the first one's row (:class:`RaceLost`). In each
case the loser's transaction was rolled back whole, so running it again is safe: the rerun sees
the winner's row (a PUT-create becomes an update, as it always is on SQLite, whose writers queue;
one asked as a creation only, ``create_only``, ends as a conflict)
and takes its locks anew. After :data:`ATTEMPTS` the caller gets 409 IP-4404 ("changed
concurrently; retry"), never a 500.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from ipfhir.adapter.errors import Conflict, issue

__all__ = ["ATTEMPTS", "RaceLost", "retrying"]

T = TypeVar("T")
ATTEMPTS = 6
_RETRYABLE = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
_rng = random.Random()


class RaceLost(Conflict):
    """A concurrent writer created the same resource first (unique key met): retry the write."""


def _sqlstate(err: DBAPIError) -> str | None:
    return getattr(err.orig, "sqlstate", None)


def retrying(work: Callable[[], T]) -> T:
    """``work()`` (one whole write transaction), run again after a lost race, a bounded number
    of times with a short random back-off."""
    for attempt in range(ATTEMPTS):
        try:
            return work()
        except RaceLost:
            if attempt == ATTEMPTS - 1:
                raise
        except DBAPIError as err:
            if _sqlstate(err) not in _RETRYABLE:
                raise
            if attempt == ATTEMPTS - 1:
                raise Conflict([issue("IP-4404", None, "conflict")]) from None
        time.sleep(_rng.uniform(0, 0.005 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover
