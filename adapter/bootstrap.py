"""The one place real implementations are wired to ports (engine, store, validator, app)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.requests import Request

from adapter.ports import Actor
from adapter.services.validation import default_validator
from adapter.settings import Settings
from adapter.store import SqlRepository, SqlRepositoryFactory, make_engine, migrate

__all__ = ["Wiring", "build_app", "build_secure_app", "build_wiring", "secure_factory"]


@dataclass
class Wiring:
    engine: Engine
    repository: SqlRepository
    factory: SqlRepositoryFactory
    validate: Callable[..., dict[str, Any]]
    validator_name: str


def build_wiring(
    settings: Settings,
    *,
    engine: Engine | None = None,
    validate: Callable[..., dict[str, Any]] | None = None,
    run_migrations: bool = True,
) -> Wiring:
    """Engine (migrated), store repository and the validator; tests may pass their own."""
    engine = engine or make_engine(
        settings.effective_database_url(), pool_size=settings.db_pool_size
    )
    if run_migrations:
        migrate(engine)
    name = "injected"
    if validate is None:
        name, validate = default_validator()
    repository = SqlRepository(engine, validate)
    return Wiring(engine, repository, SqlRepositoryFactory(repository), validate, name)


def build_app(
    settings: Settings,
    wiring: Wiring | None = None,
    actor_resolver: Callable[[Request], Actor] | None = None,
) -> FastAPI:
    from adapter.api import create_app

    wiring = wiring or build_wiring(settings)
    return create_app(
        settings,
        wiring.factory,
        validate=wiring.validate,
        validator_name=wiring.validator_name,
        actor_resolver=actor_resolver,
    )


def secure_factory(wiring: Wiring, *, enforce_scopes: bool = True) -> Any:
    """The store's repositories behind the consent enforcement point: audit through a
    repository allowed to write AuditEvent, recipients in the store's database."""
    from adapter.audit import RepositoryAuditSink, SqlLedger
    from adapter.consent.enforce import ConsentRepositoryFactory
    from adapter.consent.operation import Enforcement
    from adapter.store import SqlRepository
    from adapter.store.writes import SystemClock

    system = SqlRepository(wiring.engine, wiring.validate, system=True)
    enforcement = Enforcement(
        wiring.repository,
        RepositoryAuditSink(system),
        SqlLedger(wiring.engine),
        SystemClock(),
        enforce_scopes=enforce_scopes,
    )
    return ConsentRepositoryFactory(enforcement)


def build_secure_app(settings: Settings, wiring: Wiring | None = None) -> FastAPI:
    """The server as ``ipfhir serve`` runs it: bearer tokens (refuses to start without an
    issuer and JWKS outside dev mode), consent enforcement on every repository, audit."""
    from adapter.api import create_app
    from adapter.auth.http import resolver_from_settings
    from adapter.consent.http import router as consent_router

    resolver = resolver_from_settings(settings)
    wiring = wiring or build_wiring(settings)
    app = create_app(
        settings,
        secure_factory(wiring),
        validate=wiring.validate,
        validator_name=wiring.validator_name,
        actor_resolver=resolver,
    )
    app.include_router(consent_router)
    return app
