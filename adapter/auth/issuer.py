"""This server as an issuer of short-lived access tokens (for organisations that logged in at
its token endpoint), and the API's trust in them.

The signing key is the server's own (EC P-256), kept in the database like the page-token key
(``server_keys``, migration 0005; :class:`~adapter.store.cursors.PageTokens`): the first process
that needs it inserts one and every process reads the same row, so a token issued by one process
is accepted by all of them and survives restarts. The issuer (and audience) is the server's
public base URL (``Settings.base_url``; in dev mode ``http://host:port``).

The API hook: :func:`trusting_own_tokens` wraps the configured caller resolver; a bearer token
whose (unverified) ``iss`` is this server is verified with this server's key, audience and
issuer, every other token goes to the configured resolver unchanged.
"""

from __future__ import annotations

import functools
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, select
from starlette.requests import Request

from ipfhir.adapter.auth.orgkey import SigningKey, jwk_thumbprint
from ipfhir.adapter.auth.tokens import CLAIM_ORG, PurposePolicy, TokenVerifier, actor_from_claims
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.store.driver_sql import insert_rows
from ipfhir.adapter.store.engine import WRITE_OPTION
from ipfhir.adapter.store.schema import server_keys

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "KEY_NAME",
    "AccessTokenIssuer",
    "server_base",
    "trusting_own_tokens",
]

KEY_NAME = "access-token-es256"
ACCESS_TOKEN_LIFETIME = 300  # seconds


def server_base(settings: Any) -> str | None:
    """The server's public base URL, or ``None`` outside dev mode without ``base_url`` (then
    there is no audience to check assertions against, and no token endpoint)."""
    if settings.base_url:
        return str(settings.base_url).rstrip("/")
    if settings.dev_mode:
        return f"http://{settings.host}:{settings.port}"
    return None


class AccessTokenIssuer:
    def __init__(self, engine: Engine, issuer: str) -> None:
        self._engine = engine
        self.issuer = issuer
        self._key: SigningKey | None = None
        self._lock = threading.Lock()

    def key(self) -> SigningKey:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    secret = int(self._load_secret(), 16)
                    private = ec.derive_private_key(secret, ec.SECP256R1())
                    self._key = SigningKey(
                        private, "access-" + jwk_thumbprint(private.public_key())
                    )
        return self._key

    def _load_secret(self) -> str:
        query = select(server_keys.c.secret).where(server_keys.c.name == KEY_NAME)
        with self._engine.connect() as conn:
            found = conn.execute(query).scalar_one_or_none()
        if found is not None:
            return str(found)
        private = ec.generate_private_key(ec.SECP256R1())
        value = f"{private.private_numbers().private_value:064x}"
        writer = self._engine.execution_options(**{WRITE_OPTION: True})
        with writer.begin() as conn:
            insert_rows(
                conn, server_keys, {"name": KEY_NAME, "secret": value}, ignore_conflict=True
            )
            return str(conn.execute(query).scalar_one())  # ours, or the one another made first

    def issue(self, organisation: str, scopes: tuple[str, ...]) -> tuple[str, int]:
        """(access token, lifetime in seconds) for ``organisation`` with ``scopes``."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": organisation,
            "client_id": organisation,
            "iat": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "jti": uuid.UUID(bytes=os.urandom(16)).hex,
            CLAIM_ORG: organisation,
            "scope": " ".join(scopes),
        }
        return self.key().sign(claims, typ="at+jwt"), ACCESS_TOKEN_LIFETIME

    def verifier(self) -> TokenVerifier:
        """The API's verifier of these tokens: this key, issuer and audience."""
        return TokenVerifier(lambda: self.key().jwks(), self.issuer, self.issuer, "own key")


def trusting_own_tokens(
    configured: Callable[[Request], Actor], own: TokenVerifier, purposes: PurposePolicy
) -> Callable[[Request], Actor]:
    """``configured``, and in addition the tokens this server issued (see the module doc)."""

    def resolve(request: Request) -> Actor:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token and _issuer(token) == own.issuer:
            return actor_from_claims(own.verify(token), purposes)
        return configured(request)

    return resolve


_ROUTED_MAX = 8192  # longer tokens are decoded each time (the memo's size stays bounded)


def _issuer(token: str) -> Any:
    """The token's ``iss`` as written (unverified: it only picks the verifier), remembered for
    the last 1,024 tokens: a client sends the same token on every request."""
    return _remembered_issuer(token) if len(token) <= _ROUTED_MAX else _read_issuer(token)


@functools.lru_cache(maxsize=1024)
def _remembered_issuer(token: str) -> Any:
    return _read_issuer(token)


def _read_issuer(token: str) -> Any:
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None  # the configured resolver answers it
