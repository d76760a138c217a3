"""The audit trail of an operation: AuditEvents and recipients-ledger rows in one transaction of
the store (all or nothing), and the AuditEvent shapes the server writes without re-validating
them on every request are valid R4 — checked here, once, with the project's validator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ipfhir.adapter.audit import (
    Disclosure,
    RepositoryAuditSink,
    audit_event,
    write_trail,
)
from ipfhir.adapter.fhir.validation import default_validator
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store import SqlRepository, make_engine, migrate
from ipfhir.adapter.store.ledger import SqlLedger
from ipfhir.adapter.store.schema import resources
from ipfhir.mappings.identifiers import FNR_SYSTEM
from tests.pg import PG_URL, postgres_schema
from tests.unit.consent.conftest import HPR, ORGNR

NOW = "2026-06-01T10:00:00.000000Z"


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def trail(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[RepositoryAuditSink, SqlLedger, Any]]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            engine = make_engine(Settings(data_dir=tmp_path).effective_database_url())
        else:
            schema = stack.enter_context(postgres_schema("ipfhir_trail"))
            engine = make_engine(PG_URL, schema=schema, pool_size=2)
        migrate(engine)
        sink = RepositoryAuditSink(SqlRepository(engine, _accept_all, system=True))
        yield sink, SqlLedger(engine), engine
        engine.dispose()


def _events(engine: Any) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(resources)
        return int(conn.execute(query.where(resources.c.res_type == "AuditEvent")).scalar_one())


def _event(outcome: str = "disclosed") -> dict[str, Any]:
    item = Disclosure("read", "Patient/ip1-pt", None, outcome, ["CarePlan/ip1/_history/1"])  # type: ignore[arg-type]
    return audit_event(Actor(organisation=ORGNR["sykehus"]), item, NOW)


def test_events_and_ledger_rows_are_written_together(trail: Any) -> None:
    sink, ledger, engine = trail
    rows = [("Consent/ip1-sharing", ORGNR["sykehus"], NOW), ("Consent/ip1-b", ORGNR["nav"], NOW)]
    write_trail(sink, ledger, [_event(), _event("refused")], rows)
    assert _events(engine) == 2
    assert [r.organisation for r in ledger.recipients("Consent/ip1-sharing")] == [ORGNR["sykehus"]]
    later = "2026-06-02T08:30:00.000000Z"
    write_trail(sink, ledger, [_event()], [(*rows[0][:2], later)])  # a second disclosure
    again = ledger.recipients("Consent/ip1-sharing")
    assert len(again) == 1 and (again[0].first_disclosed, again[0].last_disclosed) == (NOW, later)


def test_a_failing_event_writes_nothing_at_all(trail: Any) -> None:
    sink, ledger, engine = trail
    broken = {**_event(), "extension": [{"url": "x", "valueString": {1, 2}}]}  # not JSON
    with pytest.raises(TypeError):
        write_trail(sink, ledger, [_event(), broken], [("Consent/c", ORGNR["skole"], NOW)])
    assert _events(engine) == 0
    assert ledger.recipients("Consent/c") == []


@pytest.mark.parametrize(
    ("actor", "item"),
    [
        (
            Actor(organisation=ORGNR["sykehus"], practitioner=HPR["fysio"], purpose="COC"),
            Disclosure(
                "search",
                "Patient/ip1-pt",
                {"system": FNR_SYSTEM, "value": "17059012345"},
                "disclosed",
                ["Goal/ip1-g1/_history/2", "CarePlan/ip1/_history/1"],
                ["Consent/ip1-sharing"],
                "consent",
            ),
        ),
        (
            Actor(organisation=ORGNR["annen"], roles=("sykepleier", "koordinator")),
            Disclosure(
                "read",
                "Patient/ip1-pt",
                None,
                "refused",
                ["Goal/ip1-g2/_history/1"],
                [],
                "none",
                "refused topic (rus) by Consent/ip1-sharing Consent.provision.provision[0]",
            ),
        ),
        (Actor(), Disclosure("update", "Patient/ip1-pt", None, "refused", basis="write")),
    ],
)
def test_audit_events_the_server_writes_are_valid(actor: Actor, item: Disclosure) -> None:
    _name, validate, _missing = default_validator()
    outcome = validate(audit_event(actor, item, NOW))
    errors = [i for i in outcome["issue"] if i["severity"] in ("error", "fatal")]
    assert errors == []
