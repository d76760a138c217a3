"""The one place real implementations are wired to ports (engine, store, validator, app).

:func:`build_app` is the only public way to build the server: bearer authentication (refuses to
start without an issuer and JWKS outside dev mode), consent enforcement around every repository
a route can obtain, and audit. There is deliberately no builder of an unenforced app here, and
no bare store factory at all: served over HTTP it would disclose plans without the person's
consent, so ``create_app`` takes only a :class:`SecureRepositoryFactory` (:func:`secure_factory`).
The server's own writes (the audit trail) go through :func:`system_repository`, the one named
way to write without a caller's limits, which is never served. Tests of store and HTTP mechanics
declare a permit-all factory under tests/ (``tests/permit_all.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from ipfhir.adapter.consent.enforce import ConsentRepositoryFactory
from ipfhir.adapter.errors import StartupError, issue
from ipfhir.adapter.fhir.validation import default_validator
from ipfhir.adapter.ports import OutboxWriter
from ipfhir.adapter.settings import Settings, shown_url
from ipfhir.adapter.startup import check_definitions, one_line, prepare_database
from ipfhir.adapter.store import SqlRepository, make_engine
from ipfhir.adapter.store.outbox import Outbox

__all__ = [
    "Wiring",
    "build_app",
    "build_secure_app",
    "build_wiring",
    "secure_factory",
    "system_repository",
]


@dataclass
class Wiring:
    engine: Engine
    repository: SqlRepository  # the store itself: wrapped by secure_factory before any caller
    validate: Callable[..., dict[str, Any]]
    validator_name: str
    outbox: OutboxWriter  # messages to other servers, queued on the write that causes them


def build_wiring(
    settings: Settings,
    *,
    engine: Engine | None = None,
    validate: Callable[..., dict[str, Any]] | None = None,
    run_migrations: bool = True,
) -> Wiring:
    """Engine (migrated, proven writable), store repository and the validator (built once,
    reused by every request); tests may pass their own. Raises :class:`StartupError` (one line
    for the operator) when the database or the installation cannot serve."""
    if engine is None:
        url = settings.effective_database_url()
        try:
            engine = make_engine(
                url,
                pool_size=settings.db_pool_size,
                statement_timeout_s=settings.db_statement_timeout_s,
            )
        except (OSError, ValueError, TypeError, SQLAlchemyError) as err:
            shown = shown_url(url)
            raise StartupError(
                [issue("IP-4601", None, "exception", url=shown, detail=one_line(err))]
            ) from None
    if run_migrations:
        prepare_database(engine)
    name = "injected"
    if validate is None:
        name, validate, missing = default_validator()
        check_definitions(missing)
        validate({"resourceType": "Patient"})  # loads the profiles now, not on the first create
    repository = SqlRepository(engine, validate)
    return Wiring(engine, repository, validate, name, Outbox(engine))


def system_repository(wiring: Wiring) -> SqlRepository:
    """The server's own repository: it may write what no client may (AuditEvent, the audit
    trail) and answers without any caller's limits. Named so that every use is visible (the
    consent point appends the trail through the store's SQL audit sink, not through this); it is
    never handed to a route or a discloser (they take a :class:`SecureRepositoryFactory`, which
    this is not)."""
    return SqlRepository(wiring.engine, wiring.validate, system=True)


def secure_factory(
    wiring: Wiring, *, enforce_scopes: bool = True, cache_size: int | None = None
) -> ConsentRepositoryFactory:
    """The store's repositories behind the consent enforcement point: audit appended to the
    store's audit log (AuditEvent resources when read), recipients in the store's database, and
    a Consent withdrawn or narrowed through them queues its revocation notices in the same
    transaction (:mod:`adapter.services.revoke`); the exchange's Tasks are written by the
    exchange only (:mod:`adapter.sync.exchange_only`)."""
    from ipfhir.adapter.consent.cache import DEFAULT_SIZE, ContextCache
    from ipfhir.adapter.consent.operation import Enforcement
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.services.revoke import RevocationNotices
    from ipfhir.adapter.store.audit_log import SqlAuditSink
    from ipfhir.adapter.store.ledger import SqlLedger
    from ipfhir.adapter.store.writes import SystemClock
    from ipfhir.adapter.sync.exchange_only import exchange_only

    enforcement = Enforcement(
        wiring.repository,
        SqlAuditSink(wiring.engine),
        SqlLedger(wiring.engine),
        SystemClock(),
        enforce_scopes=enforce_scopes,
        cache=ContextCache(DEFAULT_SIZE if cache_size is None else cache_size),
        on_writes=RevocationNotices(SqlDirectory(wiring.engine)),  # a Consent withdrawn: tell
        write_rules=(exchange_only,),  # the exchange's Tasks: the exchange's alone (IP-6117)
    )
    return ConsentRepositoryFactory(enforcement)


def build_app(settings: Settings, wiring: Wiring | None = None) -> FastAPI:
    """The server as ``ipfhir serve`` runs it: bearer tokens, consent enforcement on every
    repository, audit, and the consent explanation operations."""
    from ipfhir.adapter.api.app import add_routes, create_app
    from ipfhir.adapter.api.consent_ops import router as consent_router
    from ipfhir.adapter.api.message_routes import install as install_messaging
    from ipfhir.adapter.api.token_routes import install as install_token_endpoint
    from ipfhir.adapter.api.token_routes import token_service
    from ipfhir.adapter.auth.http import resolver_from_settings

    resolver = resolver_from_settings(settings)
    wiring = wiring or build_wiring(settings)
    tokens = token_service(settings, wiring.engine)  # server-to-server login (directory)
    if tokens is not None:
        resolver = tokens.trusting(resolver, settings)
    factory = secure_factory(wiring, cache_size=settings.consent_cache_size)
    app = create_app(
        settings,
        factory,
        validate=wiring.validate,
        validator_name=wiring.validator_name,
        actor_resolver=resolver,
    )
    add_routes(app, consent_router)
    if tokens is not None:
        install_token_endpoint(app, tokens)
    install_messaging(app, wiring, settings, factory)  # $process-message (adapter/sync/receiver.py)
    return app


build_secure_app = build_app  # the earlier name; both build the same, enforced app
