"""The store's audit log (SQLite and PostgreSQL): rows appended in the request's transaction are
made AuditEvent resources exactly once — by concurrent readers too — and a read of AuditEvents
sees every event appended before it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, func, select

from ipfhir.adapter.audit import Disclosure, audit_event
from ipfhir.adapter.ports import Actor, SearchParam, SearchQuery
from ipfhir.adapter.store import SqlRepository
from ipfhir.adapter.store.audit_log import SqlAuditSink, materialise
from ipfhir.adapter.store.schema import audit_log, resources

NOW = "2026-06-01T10:00:00.000000Z"
ACTOR = Actor(organisation="998698790")


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


def _event(n: int) -> dict[str, Any]:
    item = Disclosure("read", f"Patient/p{n % 7}", None, "disclosed", [f"Goal/g{n}/_history/1"])
    return audit_event(ACTOR, item, NOW)


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        made = conn.execute(
            select(func.count()).select_from(resources).where(resources.c.res_type == "AuditEvent")
        ).scalar_one()
        logged = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
    return int(made), int(logged)


def test_concurrent_materialisations_make_each_event_once(engine: Engine) -> None:
    sink = SqlAuditSink(engine)
    sink.record_with([_event(n) for n in range(1234)], lambda _tx: None)
    assert _counts(engine) == (0, 1234)
    system = SqlRepository(engine, _accept_all, system=True)

    def run(_: int) -> int:
        return materialise(engine, lambda c, e, i: system.writer.create(c, e, i, checked=True))

    with ThreadPoolExecutor(4) as pool:
        made = sum(pool.map(run, range(4)))
    assert made == 1234
    assert _counts(engine) == (1234, 0)


def test_a_search_of_audit_events_sees_what_was_appended(engine: Engine) -> None:
    sink = SqlAuditSink(engine)
    for n in range(3):
        sink.record(_event(n))
    repo = SqlRepository(engine, _accept_all)
    query = SearchQuery("AuditEvent", (SearchParam("patient", ("Patient/p1",)),), count=50)
    found = repo.search(query)
    assert [e["entity"][1]["what"]["reference"] for e in found.matches] == ["Goal/g1/_history/1"]
    assert _counts(engine) == (3, 0)
    ids = {e["id"] for e in repo.search(SearchQuery("AuditEvent", count=50)).matches}
    assert len(ids) == 3
    assert repo.read("AuditEvent", sorted(ids)[0])["resourceType"] == "AuditEvent"
