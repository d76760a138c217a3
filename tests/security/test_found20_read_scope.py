"""The shared read connection (``SqlRepository.reading()``) under concurrent AuditEvent reads.

Reading AuditEvents first materialises the audit log's pending rows (``_audit_current``) on a
write transaction, which takes a connection of the pool. Before ``reading()`` the read took its
own connection only after that write had returned its one; inside a ``reading()`` block (every
consent-enforced search and read) the block's connection is held while the write waits for a
second one. With as many concurrent AuditEvent reads as the pool has connections
(``2 * db_pool_size``), each holds one and waits for another: none can go on, every other
request waits for a connection too, until the pool's timeout (30 s) fails the first waiter with
SQLAlchemy's pool ``TimeoutError`` — a 500 (IP-4901), not even the transient 503 — and frees its
connection for the others. Audit rows are pending after nearly every request (each read
appends one), so an auditor's dashboard polling AuditEvents from a few tabs is enough on a
small pool; ``_revinclude=AuditEvent:...`` on any search takes the same path.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import SearchParam, SearchQuery
from ipfhir.adapter.store import SqlRepository, make_engine, migrate
from ipfhir.adapter.store.audit_log import append
from ipfhir.adapter.store.unit import begin_write
from tests.api.conftest import audit_event, patient
from tests.pg import PG_URL, postgres_schema

POOL_SIZE = 1  # make_engine: pool_size connections plus as many overflow: 2 in all
READERS = 2 * POOL_SIZE
POOL_WAIT_S = 5.0  # the pool's wait for a connection (30 s by default), shortened for the test


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def small_engine(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}", pool_size=POOL_SIZE)
        migrate(eng)
        eng.pool._timeout = POOL_WAIT_S  # type: ignore[attr-defined]
        yield eng
        eng.dispose()
        return
    with postgres_schema("ipfhir_found20") as schema:
        eng = make_engine(PG_URL, schema=schema, pool_size=POOL_SIZE)
        migrate(eng)
        eng.pool._timeout = POOL_WAIT_S  # type: ignore[attr-defined]
        yield eng
        eng.dispose()


def _together(work: Any) -> None:
    """``work`` on READERS threads at once; returns when every one is done."""
    threads = [threading.Thread(target=work) for _ in range(READERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def test_concurrent_audit_event_reads_in_read_blocks_do_not_exhaust_the_pool(
    small_engine: Engine,
) -> None:
    """As many concurrent AuditEvent searches (each in its ``reading()`` block, as
    ``ConsentRepository.search`` runs them) as the pool has connections, with an audit row
    pending: each must be answered, as each was when the search took a connection of its own
    only after materialising the log."""
    repo = SqlRepository(small_engine, minimal_structural_check)
    pt = repo.create(patient(family="Ravna"))
    with begin_write(small_engine.execution_options(ipfhir_write=True)) as conn:
        append(conn, [audit_event(pt["id"])])
    query = SearchQuery("AuditEvent", (SearchParam("entity", (f"Patient/{pt['id']}",)),))
    together = threading.Barrier(READERS)
    outcomes: list[object] = []

    def auditor() -> None:
        try:
            with repo.reading():  # ConsentRepository._reads(): the block's connection is taken
                together.wait(timeout=10)  # the requests arrive together
                outcomes.append(len(repo.search(query).matches))
        except Exception as err:  # the outcome the request would have been answered with
            outcomes.append(err)

    _together(auditor)
    assert outcomes == [1] * READERS, outcomes


def test_concurrent_audit_event_searches_over_http_are_answered(
    small_engine: Engine, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through the API: the owner's dashboard asks ``GET /AuditEvent`` from two tabs
    at once on a server with ``db_pool_size=1`` (two connections). Both arrive before either
    reads (the barrier holds each request just inside its read block); each is answered 200,
    never IP-4901 (500) after the pool's timeout."""
    from ipfhir.adapter.store import repository
    from tests.security.conftest import _world

    world_iter = _world(small_engine, tmp_path)
    world = next(world_iter)
    try:
        owner = world.as_("owner")
        assert world.client.get("/Patient/ip1-pt", headers=owner).status_code == 200
        # ^ its AuditEvent is a pending row of the audit log now
        original = repository.SqlRepository.reading
        together = threading.Barrier(READERS)

        @contextmanager
        def arriving_together(self: SqlRepository) -> Iterator[None]:
            with original(self):
                if threading.current_thread() is not threading.main_thread():
                    together.wait(timeout=10)
                yield

        monkeypatch.setattr(repository.SqlRepository, "reading", arriving_together)
        answers: list[object] = []

        def tab() -> None:
            try:
                got = world.client.get("/AuditEvent?entity=Patient/ip1-pt", headers=owner)
                answers.append(got.status_code)
            except Exception as err:
                answers.append(err)

        _together(tab)
        assert answers == [200] * READERS, answers
    finally:
        world_iter.close()
