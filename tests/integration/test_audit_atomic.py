"""Every write is audited in its own database transaction (SQLite and PostgreSQL): a process that
dies right after the commit leaves no resource without its create/update/delete AuditEvent, an
audit that cannot be written stores nothing, and a transaction Bundle is audited per entry with
its action (not as one "read")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store.audit_log import SqlAuditSink
from tests.integration.audit_rows import audit_events, stored_versions
from tests.unit.consent.builders import build
from tests.unit.consent.conftest import HPR, ORGNR, standard_spec

SCOPES = ("system/*.cruds",)
OWNER = Actor(ORGNR["kommune"], HPR["koord"], scopes=SCOPES, purpose="COC")
PT = "Patient/ip1-pt"


class Crash(BaseException):
    """The process dies (kill -9 stands behind this in tests/integration/test_crash_audit.py)."""


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


def _goal(text: str = "Jeg vil gå til Čáhppesjávri i juni") -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": text},
        "subject": {"reference": PT},
    }


@pytest.fixture
def wiring(engine: Engine, tmp_path: Path) -> Wiring:
    wired = build_wiring(
        Settings(data_dir=tmp_path), engine=engine, validate=_accept_all, run_migrations=False
    )
    for res in build(standard_spec()):
        wired.repository.update(res["resourceType"], res["id"], res)
    return wired


def _owner(wiring: Wiring, sink: SqlAuditSink | None = None) -> Any:
    factory = secure_factory(wiring)
    if sink is not None:
        factory.enforcement.audit = sink
    return factory.repository_for(OWNER)


class _DiesAfterCommit(SqlAuditSink):
    """Audit written after the data's transaction never happens: the process is gone."""

    def record(self, event: dict[str, Any]) -> None:
        raise Crash

    def record_with(self, events: list[dict[str, Any]], then: Any) -> bool:
        raise Crash


class _Broken(SqlAuditSink):
    def record_in(self, transaction: Any, events: list[dict[str, Any]]) -> None:
        raise RuntimeError("audit table unavailable")


def test_a_write_and_its_audit_commit_together(wiring: Wiring) -> None:
    repo = _owner(wiring, _DiesAfterCommit(wiring.engine))
    stored = repo.create(_goal())
    updated = repo.update("Goal", stored["id"], {**_goal("Gå på ski"), "id": stored["id"]})
    ref = f"Goal/{stored['id']}"
    assert updated.resource["meta"]["versionId"] == "2"
    assert stored_versions(wiring.engine, ref) == {"1", "2"}
    audited = audit_events(wiring.engine, ref)
    assert {(e["action"], e["outcome"]) for e in audited.values()} == {("C", "0"), ("U", "0")}
    assert set(audited) == {f"{ref}/_history/1", f"{ref}/_history/2"}
    event = audited[f"{ref}/_history/1"]
    assert event["subtype"][0]["code"] == "create"
    assert event["entity"][0]["what"]["reference"] == PT
    assert event["entity"][0]["what"]["identifier"]["value"] == standard_spec().fnr()
    assert {a["who"]["identifier"]["value"] for a in event["agent"]} == {
        ORGNR["kommune"],
        HPR["koord"],
    }


def test_an_audit_that_cannot_be_written_stores_nothing(wiring: Wiring) -> None:
    repo = _owner(wiring, _Broken(wiring.engine))
    with pytest.raises(RuntimeError, match="audit table unavailable"):
        repo.update("Goal", "ip1-ny", {**_goal(), "id": "ip1-ny"})
    with pytest.raises(NotFound):
        wiring.repository.read("Goal", "ip1-ny")
    assert stored_versions(wiring.engine, "Goal/ip1-ny") == set()


def test_a_transaction_is_audited_per_entry_with_its_action(wiring: Wiring) -> None:
    repo = _owner(wiring)
    task = repo.create(
        {"resourceType": "Task", "status": "requested", "intent": "order", "for": {"reference": PT}}
    )
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "POST", "url": "Goal"}, "resource": _goal("Svømme")},
            {"request": {"method": "POST", "url": "Goal"}, "resource": _goal("Sykle")},
            {
                "request": {"method": "PUT", "url": "Goal/ip1-g1"},
                "resource": {**_goal("Lage middag selv"), "id": "ip1-g1"},
            },
            {"request": {"method": "DELETE", "url": f"Task/{task['id']}"}},
            {"request": {"method": "GET", "url": "CarePlan/ip1"}},
        ],
    }
    answer = repo.transaction(bundle)
    made = [e["response"]["location"].split("/_history")[0] for e in answer["entry"][:3]]
    actions = {
        ref: {
            (e["action"], e["subtype"][0]["code"])
            for e in audit_events(wiring.engine, ref).values()
        }
        for ref in [*made, f"Task/{task['id']}"]
    }
    assert actions[made[0]] == {("C", "create")}
    assert actions[made[1]] == {("C", "create")}
    assert actions[made[2]] == {("U", "update")}
    assert actions[f"Task/{task['id']}"] == {("C", "create"), ("D", "delete")}
    plan_reads = audit_events(wiring.engine, "CarePlan/ip1")
    assert any(e["action"] == "R" for e in plan_reads.values())  # the GET entry is a read
