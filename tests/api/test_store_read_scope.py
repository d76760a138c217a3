"""One connection per read-only operation (SQLite and PostgreSQL): ``SqlRepository.reading()``
shares one connection among the reads of its block, the consent-enforced reads use it (a
secure read took four connections of the pool), and a read inside the block still sees what
the store itself wrote during it (AuditEvents made resources before they are read)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from ipfhir.adapter.bootstrap import Wiring
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import ReadScope
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.audit_log import append
from ipfhir.adapter.store.unit import begin_write
from tests.api.conftest import audit_event, careplan, patient
from tests.api.test_server_secure import owned_plan


@pytest.fixture
def repo(engine: Engine) -> SqlRepository:
    return SqlRepository(engine, minimal_structural_check)


class _Checkouts:
    """Connections taken from ``engine``'s pool while the block runs."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.n = engine, 0

    def _count(self, *_: Any) -> None:
        self.n += 1

    def __enter__(self) -> _Checkouts:
        event.listen(self.engine, "engine_connect", self._count)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "engine_connect", self._count)


def test_the_store_offers_a_read_scope(repo: SqlRepository) -> None:
    assert isinstance(repo, ReadScope)


def test_reads_in_a_block_share_one_connection(repo: SqlRepository, engine: Engine) -> None:
    pt = repo.create(patient(family="Sárá"))
    plan = repo.create(careplan(pt["id"]))
    with _Checkouts(engine) as outside:
        repo.read("Patient", pt["id"])
        repo.read("CarePlan", plan["id"])
        repo.stamps([f"Patient/{pt['id']}"])
    with _Checkouts(engine) as inside, repo.reading():
        assert repo.read("Patient", pt["id"])["id"] == pt["id"]
        assert repo.read("CarePlan", plan["id"])["id"] == plan["id"]
        repo.stamps([f"Patient/{pt['id']}"])
        with repo.reading():  # nested: the outer block's
            assert [r["id"] for r in repo.fetch([("Patient", pt["id"])])] == [pt["id"]]
    assert outside.n == 3
    assert inside.n == 1


def test_the_shared_connection_is_this_context_s_only(repo: SqlRepository) -> None:
    """Another thread (another request) never gets the block's connection."""
    import threading

    pt = repo.create(patient(family="Ávjovárri"))
    seen: list[object] = []
    with repo.reading():
        assert repo._shared() is None  # taken at the block's first read
        assert repo.read("Patient", pt["id"])["id"] == pt["id"]
        mine = repo._shared()
        worker = threading.Thread(target=lambda: seen.append(repo._shared()))
        worker.start()
        worker.join()
    assert mine is not None and seen == [None]
    assert repo._shared() is None  # closed with the block


def test_audit_events_made_resources_in_a_block_are_seen_by_its_later_reads(
    repo: SqlRepository, engine: Engine
) -> None:
    """The block's first read starts its transaction (a SQLite snapshot); events appended after
    it are made resources when AuditEvents are read, and that read sees them."""
    pt = repo.create(patient(family="Guttorm"))
    event_body = audit_event(pt["id"])
    from ipfhir.adapter.ports import SearchParam, SearchQuery

    query = SearchQuery("AuditEvent", (SearchParam("entity", (f"Patient/{pt['id']}",)),))
    with repo.reading():
        repo.read("Patient", pt["id"])  # the shared transaction is open from here
        before = repo.search(query).matches
        with begin_write(engine.execution_options(ipfhir_write=True)) as conn:
            append(conn, [event_body])
        after = repo.search(query).matches
    assert len(after) == len(before) + 1


def test_a_secure_read_takes_one_connection_for_its_reads(
    secure_client: TestClient, wiring: Wiring
) -> None:
    """The read, the stamps and the plan context on one connection; the audit row on its
    write transaction: two in all (four before)."""
    _person, plan = owned_plan(secure_client)
    wiring.engine.dispose()  # the counting starts from an empty pool
    with _Checkouts(wiring.engine) as seen:
        got = secure_client.get(f"/CarePlan/{plan['id']}")
    assert got.status_code == 200, got.text
    assert seen.n == 2
