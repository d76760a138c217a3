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

__all__ = ["Wiring", "build_app", "build_wiring"]


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
