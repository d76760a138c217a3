"""Racing writers get the same answers on SQLite and PostgreSQL, and never an error the client
did not cause: transaction Bundles updating the same resources in opposite order (a deadlock on
PostgreSQL without ordered locking), and many PUT-creates of one new id (one 201, then 200s)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine

from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.store import SqlRepository

CLIENTS = 16
ROUNDS = 4
Resource = dict[str, Any]


def _goal(gid: str, text: str) -> Resource:
    return {
        "resourceType": "Goal",
        "id": gid,
        "lifecycleStatus": "active",
        "description": {"text": text},
        "subject": {"reference": "Patient/racer-pt"},
    }


def _put(res: Resource) -> Resource:
    return {"resource": res, "request": {"method": "PUT", "url": f"Goal/{res['id']}"}}


def _opposite(n: int) -> Resource:
    first, second = ("maal-a", "maal-b") if n % 2 == 0 else ("maal-b", "maal-a")
    entries = [_put(_goal(g, f"Skriv {n}: å gå til butikken i Ávjovárri")) for g in (first, second)]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _all_at_once(work: Any, n: int) -> list[Any]:
    start = threading.Barrier(n)

    def one(i: int) -> Any:
        start.wait()
        try:
            return work(i)
        except Exception as err:  # the assertion shows every kind of failure
            return err

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_opposite_order_transactions_all_commit(engine: Engine) -> None:
    repo = SqlRepository(engine, minimal_structural_check)
    for gid in ("maal-a", "maal-b"):
        repo.update("Goal", gid, _goal(gid, "start"))
    failures: list[str] = []
    for _ in range(ROUNDS):
        for result in _all_at_once(lambda i: repo.transaction(_opposite(i)), CLIENTS):
            if isinstance(result, Exception):
                failures.append(f"{type(result).__name__}: {str(result)[:200]}")
    assert failures == []
    versions = {
        gid: int(repo.read("Goal", gid)["meta"]["versionId"]) for gid in ("maal-a", "maal-b")
    }
    assert versions == {"maal-a": 1 + CLIENTS * ROUNDS, "maal-b": 1 + CLIENTS * ROUNDS}


def test_many_put_creates_of_one_new_id_create_once(engine: Engine) -> None:
    repo = SqlRepository(engine, minimal_structural_check)
    for round_ in range(ROUNDS):
        gid = f"ny-{round_}"
        results = _all_at_once(
            lambda i, g=gid: repo.update("Goal", g, _goal(g, f"nr {i}")), CLIENTS
        )
        errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, Exception)]
        assert errors == []
        assert sorted(r.created for r in results) == [False] * (CLIENTS - 1) + [True]
        assert repo.read("Goal", gid)["meta"]["versionId"] == str(CLIENTS)
