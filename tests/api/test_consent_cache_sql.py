"""The plan-context cache on the real store (SQLite, and PostgreSQL when reachable): two engines
on one database stand for two server processes; what one writes (a revocation, a directory
change) takes effect on the other's next request, and a cached decision is audited like any."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from ipfhir.adapter.bootstrap import Wiring, build_wiring, secure_factory
from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store import make_engine
from ipfhir.adapter.store.schema import audit_log, resources
from ipfhir.mappings.identifiers import HPR_SYSTEM
from tests.pg import PG_URL, postgres_schema
from tests.unit.consent.builders import Sharing, build, sharing_consent
from tests.unit.consent.conftest import HPR, ORGNR, standard_spec

SCOPES = ("system/*.cruds",)
FYSIO = Actor(ORGNR["sykehus"], HPR["fysio"], scopes=SCOPES, purpose="COC")
TEACHER = Actor(ORGNR["skole"], HPR["laerer"], scopes=SCOPES, purpose="COC")
OWNER = Actor(ORGNR["kommune"], HPR["koord"], scopes=SCOPES, purpose="COC")


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}


@dataclass
class Two:
    first: Wiring
    second: Wiring
    factories: tuple[Any, Any]

    def as_(self, process: int, actor: Actor) -> Any:
        return self.factories[process].repository_for(actor)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Two]:
    settings = Settings(data_dir=tmp_path)
    with ExitStack() as stack:
        if request.param == "sqlite":
            engines = [make_engine(settings.effective_database_url()) for _ in range(2)]
        else:
            schema = stack.enter_context(postgres_schema("ipfhir_cache"))
            engines = [make_engine(PG_URL, schema=schema, pool_size=2) for _ in range(2)]
        first = build_wiring(settings, engine=engines[0], validate=_accept_all)
        second = build_wiring(
            settings, engine=engines[1], validate=_accept_all, run_migrations=False
        )
        for res in build(standard_spec()):
            first.repository.update(res["resourceType"], res["id"], res)
        yield Two(first, second, (secure_factory(first), secure_factory(second)))
        for engine in engines:
            engine.dispose()


def _audit_events(engine: Engine) -> int:
    """AuditEvent resources and the audit log's rows not yet made resources."""
    with engine.connect() as conn:
        query = select(func.count()).select_from(resources)
        made = conn.execute(query.where(resources.c.res_type == "AuditEvent")).scalar_one()
        logged = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        return int(made) + int(logged)


def test_revocation_by_another_process_takes_effect_on_the_next_request(two: Two) -> None:
    assert two.as_(0, FYSIO).read("CarePlan", "ip1")["id"] == "ip1"
    assert two.as_(0, FYSIO).read("CarePlan", "ip1")["id"] == "ip1"
    cache = two.factories[0].enforcement.cache
    assert cache.hits >= 1 and len(cache) == 1
    spec = standard_spec()
    revoked = sharing_consent(spec, Sharing(**{**vars(spec.sharing), "status": "inactive"}))
    two.as_(1, OWNER).update("Consent", "ip1-sharing", revoked)
    with pytest.raises(NotFound):
        two.as_(0, FYSIO).read("CarePlan", "ip1")
    with pytest.raises(NotFound):
        two.as_(0, FYSIO).read("Goal", "ip1-g1")


def test_a_directory_change_by_another_process_takes_effect(two: Two) -> None:
    assert two.as_(0, TEACHER).read("Goal", "ip1-g1")["id"] == "ip1-g1"
    teacher = two.second.repository.read("Practitioner", "ip1-laerer")
    teacher["identifier"] = [{"system": HPR_SYSTEM, "value": "9100099"}]
    two.second.repository.update("Practitioner", "ip1-laerer", teacher)
    with pytest.raises(NotFound):
        two.as_(0, TEACHER).read("Goal", "ip1-g1")
    moved = Actor(ORGNR["skole"], "9100099", scopes=SCOPES, purpose="COC")
    assert two.as_(0, moved).read("Goal", "ip1-g1")["id"] == "ip1-g1"


def test_a_cached_decision_is_audited_like_any(two: Two) -> None:
    before = _audit_events(two.first.engine)
    for _ in range(3):
        two.as_(0, FYSIO).read("Goal", "ip1-g1")
    assert two.factories[0].enforcement.cache.hits >= 2
    assert _audit_events(two.first.engine) == before + 3
