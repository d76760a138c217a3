"""Server-to-server login: ``POST [base]/auth/token`` (OAuth 2.0 client_credentials with a
private_key_jwt client assertion, RFC 6749 § 4.4, RFC 7523) and ``GET
[base]/.well-known/jwks.json`` (the organisation key that signs this adapter's own assertions).

Answers are OAuth JSON, not OperationOutcomes (an OAuth client reads ``error``): RFC 6749 § 5.1
on success, § 5.2 on refusal, ``Cache-Control: no-store`` on both; ``error_description`` carries
the IP-603x message id. Every failed client authentication is the same 401 ``invalid_client``;
ten of them from one address within a minute lock it out for a minute (429 IP-6121 with
``Retry-After``, :mod:`adapter.auth.lockout`), its requests unread meanwhile.
Installed by :func:`install` from ``adapter/bootstrap.py``; absent outside dev mode when no
``base_url`` is configured (an audience taken from the request's Host header would let a
server that received an assertion replay it here).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, FastAPI
from sqlalchemy import Connection, Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ipfhir.adapter.api.context import in_thread
from ipfhir.adapter.auth.assertion import ASSERTION_TYPE, AssertionVerifier, InvalidClient
from ipfhir.adapter.auth.issuer import AccessTokenIssuer, server_base, trusting_own_tokens
from ipfhir.adapter.auth.lockout import FailureLockout
from ipfhir.adapter.auth.orgkey import SigningKey, organisation_key
from ipfhir.adapter.auth.replay import SqlReplayGuard
from ipfhir.adapter.auth.tokens import ALGORITHMS, PurposePolicy
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.directory.guard_messages import MESSAGES as GUARD_MESSAGES
from ipfhir.adapter.directory.messages import MESSAGES
from ipfhir.adapter.directory.model import TOKEN_PATH
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.sync.recorded import record_operation

__all__ = ["DEFAULT_SCOPE", "TokenService", "grantable", "install", "router", "token_service"]

router = APIRouter()
log = logging.getLogger("ipfhir.auth")
DEFAULT_SCOPE = "system/*.rs"  # what an organisation gets when it asks for no scope
_MAX_FORM = 16 * 1024
_GRANTABLE = re.compile(r"system/(\*|[A-Z][A-Za-z]{1,63})\.(read|rs|r|s)")
Resolver = Callable[[Request], Actor]
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass
class TokenService:
    verifier: AssertionVerifier
    issuer: AccessTokenIssuer
    organisation_key: SigningKey
    lockout: FailureLockout = field(default_factory=FailureLockout)

    def trusting(self, configured: Resolver, settings: Any) -> Resolver:
        """``configured`` (the settings' issuer) and the tokens this server issues."""
        purposes = PurposePolicy.of(settings.auth_purposes, settings.auth_default_purpose)
        return trusting_own_tokens(configured, self.issuer.verifier(), purposes)


def token_service(settings: Any, engine: Engine) -> TokenService | None:
    """The token endpoint's parts over ``engine`` (directory, replay memory, issuer key) and
    the organisation key in ``settings.data_dir``; ``None`` without a public base URL."""
    base = server_base(settings)
    if base is None:
        log.warning("no base_url configured: the token endpoint %s is not served", TOKEN_PATH)
        return None
    directory = SqlDirectory(engine)
    verifier = AssertionVerifier(directory.get, SqlReplayGuard(engine), base + TOKEN_PATH)
    key = organisation_key(Path(settings.data_dir))
    return TokenService(verifier, AccessTokenIssuer(engine, base), key)


class _Refusal(Exception):
    def __init__(self, error: str, message_id: str, status: int = 400, **kw: object) -> None:
        super().__init__(error)
        self.error, self.status = error, status
        text = {**MESSAGES, **GUARD_MESSAGES}[message_id].format(**kw)
        self.description = f"{message_id}: {text}"
        self.retry_after: int | None = None


def install(app: FastAPI, service: TokenService) -> None:
    """The routes ahead of the FHIR routes (``GET /{type}/{id}`` would take the JWKS path)."""
    app.state.token_service = service
    app.router.routes[:0] = router.routes


def grantable(scope: str) -> bool:
    """Organisations read and search (SMART v2 ``rs``, v1 ``read``), and send messages
    (``system/MessageHeader.c``, only when asked for: the scope ``$process-message`` needs,
    which reads and writes nothing through the REST API); no other write."""
    return scope == MESSAGE_SCOPE or _GRANTABLE.fullmatch(scope) is not None


@router.post(TOKEN_PATH)
async def token_endpoint(request: Request) -> Response:
    service: TokenService = request.app.state.token_service
    address = request.client.host if request.client else "unknown"
    wait = service.lockout.retry_after(address)
    if wait is not None:  # IP-6121: not even read (adapter/auth/lockout.py)
        return _refused(_locked(wait))
    try:
        form = await _form(request)
        token, lifetime, scope = await in_thread(request, _grant, service, form)
    except _Refusal as no:
        if no.status == 401:
            service.lockout.failed(address)
        return _refused(no)
    body: dict[str, Any] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
    }
    return JSONResponse(body, 200, headers=_NO_STORE)


def _locked(seconds: int) -> _Refusal:
    locked = _Refusal("temporarily_unavailable", "IP-6121", 429, seconds=seconds)
    locked.retry_after = seconds
    return locked


def _refused(no: _Refusal) -> Response:
    body = {"error": no.error, "error_description": no.description}
    headers = dict(_NO_STORE)
    if no.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ipfhir", error="invalid_client"'
    if no.retry_after is not None:
        headers["Retry-After"] = str(no.retry_after)
    return JSONResponse(body, no.status, headers=headers)


@router.get("/.well-known/smart-configuration")
async def smart_configuration(request: Request) -> Response:
    """SMART Backend Services discovery: where and how to ask for a token."""
    service: TokenService = request.app.state.token_service
    body = {
        "token_endpoint": service.verifier.token_url,
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
        "scopes_supported": [DEFAULT_SCOPE, MESSAGE_SCOPE],
        "capabilities": ["client-confidential-asymmetric"],
    }
    return JSONResponse(body)


@router.get("/.well-known/jwks.json")
async def organisation_jwks(request: Request) -> Response:
    service: TokenService = request.app.state.token_service
    return JSONResponse(service.organisation_key.jwks(), media_type="application/jwk-set+json")


async def _form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise _Refusal(
            "invalid_request", "IP-6032", detail="send application/x-www-form-urlencoded"
        )
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > _MAX_FORM:
            raise _Refusal("invalid_request", "IP-6032", detail=f"more than {_MAX_FORM} bytes")
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise _Refusal("invalid_request", "IP-6032", detail="not a form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # RFC 6749 § 3.2: no parameter more than once
            raise _Refusal("invalid_request", "IP-6032", detail=f"{name[:40]} given twice")
        form[name] = value
    return form


def _grant(service: TokenService, form: dict[str, str]) -> tuple[str, int, str]:
    grant = form.get("grant_type")
    if not grant:
        raise _Refusal("invalid_request", "IP-6032", detail="grant_type is missing")
    if grant != "client_credentials":
        raise _Refusal("unsupported_grant_type", "IP-6031")
    if not form.get("client_assertion"):
        raise _Refusal("invalid_request", "IP-6032", detail="client_assertion is missing")
    scopes = tuple(dict.fromkeys((form.get("scope") or DEFAULT_SCOPE).split()))
    refused = [s for s in scopes if not grantable(s)]
    shown = " ".join(refused)[:120] or "(empty)"

    def audit(conn: Connection, orgnr: str) -> None:
        """The grant (or the scope refused after authentication), on the transaction that
        spends the assertion: no token is issued unrecorded."""
        if refused or not scopes:
            detail = f"access token refused: IP-6033 scope {shown}"
            record_operation(conn, organisation=orgnr, outcome="refused", detail=detail)
        else:
            detail = f"access token granted: scope {' '.join(scopes)}"
            record_operation(conn, organisation=orgnr, outcome="stored", detail=detail)

    try:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise InvalidClient("client_assertion_type is not jwt-bearer")
        orgnr = service.verifier.verify(form["client_assertion"], form.get("client_id"), audit)
    except InvalidClient as why:
        log.warning("token endpoint refused a client: %s", why.reason)
        raise _Refusal("invalid_client", "IP-6030", 401) from None
    if refused or not scopes:  # told only after authentication
        raise _Refusal("invalid_scope", "IP-6033", detail=shown)
    token, lifetime = service.issuer.issue(orgnr, scopes)
    log.info("token endpoint issued an access token to %s (%s)", orgnr, " ".join(scopes))
    return token, lifetime, " ".join(scopes)
