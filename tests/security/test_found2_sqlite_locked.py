"""A SQLite database held by another process: the answer is a transient 503, never a 500.

Attack: another process (a backup, ``sqlite3`` in a shell, a second server started on the same
file, ``ipfhir`` CLI run against it) holds the write lock (``BEGIN IMMEDIATE``) longer than the
busy timeout. Every request needs a write — a read's AuditEvent too — so every request of the
API meets ``database is locked``.

What happens now: the ``OperationalError`` reaches the last-line guard and is answered
500 IP-4901 "Internal server error" (with a traceback in the log), no ``Retry-After``: to a
client and to monitoring the server looks broken, although nothing is wrong but a lock that
will be released.

What should happen: like a PostgreSQL statement timeout (503 IP-4130, ``Retry-After``), a
database lock the server waited for in vain is a transient condition: 503, an
OperationOutcome, ``Retry-After`` — never 500. And the writers' turn
(``adapter.store.engine.writer_turn``) is free again for other threads once the failed
requests are answered (that part holds today and is guarded here).

The busy timeout is shortened for the test (``SQLITE_BUSY_TIMEOUT_S``, read when the engine
connects and when a turn is waited for); the order of events is followed, never the clock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipfhir.adapter.store import engine as engine_module
from ipfhir.adapter.store import make_engine, migrate
from ipfhir.adapter.store.engine import writer_turn
from tests.security.conftest import PT, SecureWorld, _world

JSON = {"Content-Type": "application/fhir+json"}
GOAL = {
    "resourceType": "Goal",
    "lifecycleStatus": "active",
    "description": {"text": "Gå på ski med støttekontakt i Ørsta – første tur før påske"},
    "subject": {"reference": PT},
}


@pytest.fixture
def locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SecureWorld, Any]]:
    """The plan on a SQLite file whose write lock another process's connection holds."""
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_S", 0.3)
    path = tmp_path / "store.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    worlds = _world(engine, tmp_path)
    world = next(worlds)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield world, engine
    finally:
        other.execute("ROLLBACK")
        other.close()
        worlds.close()
        engine.dispose()


def _transient(answer: Any) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome", answer.text
    assert answer.headers.get("Retry-After"), answer.headers


def test_a_write_to_a_locked_database_is_answered_503_not_500(
    locked: tuple[SecureWorld, Any],
) -> None:
    world, _ = locked
    answer = world.client.post("/Goal", json=GOAL, headers={**world.as_("owner"), **JSON})
    _transient(answer)


def test_a_read_of_a_locked_database_is_answered_503_not_500(
    locked: tuple[SecureWorld, Any],
) -> None:
    """A read writes its AuditEvent: it meets the lock as well."""
    world, _ = locked
    answer = world.client.get(f"/Goal?patient={PT}", headers=world.as_("owner"))
    _transient(answer)


def test_the_writers_turn_is_free_after_requests_failed_on_the_lock(
    locked: tuple[SecureWorld, Any],
) -> None:
    """Guard: failed writes (BEGIN IMMEDIATE refused) leave this process's turn free for any
    other thread — no writer then waits the busy timeout for a turn nobody holds."""
    world, engine = locked
    for _ in range(3):
        world.client.post("/Goal", json=GOAL, headers={**world.as_("owner"), **JSON})
    lock = writer_turn(engine)._lock  # type: ignore[attr-defined]
    got: list[bool] = []

    def probe() -> None:
        taken = bool(lock.acquire(blocking=False))
        got.append(taken)
        if taken:
            lock.release()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    assert got == [True]
