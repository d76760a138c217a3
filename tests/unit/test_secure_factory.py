"""Nothing serves plan data around consent: ``create_app`` takes only a SecureRepositoryFactory
(typed and checked), the adapter's one implementation is the consent enforcement point, the
seam is typed (no ``Any``), and the server's own writes go through the named system repository,
which is never a factory. Store-mechanics tests say ``PermitAll`` by name (tests/permit_all.py)."""

from __future__ import annotations

import ast
import typing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ipfhir.adapter import bootstrap
from ipfhir.adapter.api.app import create_app
from ipfhir.adapter.api.context import ServerContext
from ipfhir.adapter.bootstrap import build_wiring, secure_factory, system_repository
from ipfhir.adapter.consent.enforce import ConsentRepositoryFactory
from ipfhir.adapter.consent.policy import ConsentRules
from ipfhir.adapter.consent.secure import SecureRepositoryFactory
from ipfhir.adapter.fhir.validation import minimal_structural_check
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.services.notify import notify
from ipfhir.adapter.settings import Settings
from ipfhir.adapter.store import make_engine, migrate
from ipfhir.mappings.errors import IpError
from tests.permit_all import PermitAll

ROOT = Path(__file__).resolve().parents[2]
ACTOR = Actor(organisation="974760673", scopes=("system/*.cruds",))


@pytest.fixture
def engine(tmp_path: Path) -> typing.Iterator[Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    migrate(eng)
    yield eng
    eng.dispose()


def _app(settings: Settings, factory: Any) -> Any:
    return create_app(
        settings,
        factory,
        validate=minimal_structural_check,
        validator_name="minimal",
        actor_resolver=lambda _request: ACTOR,
    )


class _LooksLikeAFactory:
    """Has ``repository_for`` like the store's bare factory had: not secure for that."""

    def __init__(self, repository: Any) -> None:
        self.repository = repository

    def repository_for(self, actor: Actor) -> Any:
        return self.repository


def test_create_app_refuses_anything_but_a_secure_factory(tmp_path: Path, engine: Engine) -> None:
    settings = Settings(data_dir=tmp_path)
    wiring = build_wiring(settings, engine=engine, validate=minimal_structural_check)
    for wrong in (wiring.repository, _LooksLikeAFactory(wiring.repository), None):
        with pytest.raises(TypeError, match="SecureRepositoryFactory"):
            _app(settings, wrong)
    assert _app(settings, secure_factory(wiring)).state.ctx.factory is not None
    assert _app(settings, PermitAll(wiring.repository)).state.ctx.factory is not None


def test_the_seam_is_typed_secure_not_any() -> None:
    assert typing.get_type_hints(create_app)["factory"] is SecureRepositoryFactory
    assert typing.get_type_hints(ServerContext)["factory"] is SecureRepositoryFactory
    assert typing.get_type_hints(secure_factory)["return"] is ConsentRepositoryFactory
    assert typing.get_type_hints(notify)["factory"] is SecureRepositoryFactory  # discloses too
    assert issubclass(ConsentRepositoryFactory, SecureRepositoryFactory)
    assert not hasattr(bootstrap.Wiring, "factory")  # no unnamed bare store factory


def _secure_factories_in(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if "SecureRepositoryFactory" in bases:
                    found.add(f"{path.relative_to(ROOT)}:{node.name}")
    return found


def test_the_adapters_only_secure_factory_enforces_consent() -> None:
    assert _secure_factories_in(ROOT / "adapter") == {
        "adapter/consent/enforce.py:ConsentRepositoryFactory"
    }


def test_the_system_repository_writes_the_audit_trail_and_is_no_factory(
    tmp_path: Path, engine: Engine
) -> None:
    wiring = build_wiring(Settings(data_dir=tmp_path), engine=engine, validate=_accept_all)
    system = system_repository(wiring)
    assert not isinstance(system, SecureRepositoryFactory)
    event = {
        "resourceType": "AuditEvent",
        "type": {"code": "rest"},
        "recorded": "2024-03-01T10:00:00Z",
        "agent": [{"requestor": True}],
        "source": {"observer": {"display": "Tromsø"}},
    }
    assert system.create(event)["id"]
    with pytest.raises(IpError) as refused:
        wiring.repository.create(event)  # the store as callers reach it: AuditEvent is read-only
    assert refused.value.issues[0].message_id == "IP-4301"
    factory = secure_factory(wiring)
    assert factory.enforcement.inner is wiring.repository  # callers never get the system one
    assert type(factory.enforcement.policy) is ConsentRules  # the server plugs no other policy


def _accept_all(resource: dict[str, Any], profile: str | None = None) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": []}
