"""Client assertions (RFC 7523, private_key_jwt as HelseID and SMART Backend Services use them):
made by the sender, verified by the receiver's token endpoint.

An assertion is a JWT signed with the sender organisation's key: ``iss`` = ``sub`` = the client
id (here the organisation's organisasjonsnummer, its directory key), ``aud`` = the receiver's
token endpoint URL, a fresh ``jti``, ``exp`` at most five minutes ahead. The receiver verifies
it against the JWKS its directory names for that organisation, refuses a ``jti`` it has seen,
and an asymmetric signature only (``none`` and HMAC are not in the accepted algorithms).

Every refusal is one :class:`InvalidClient`, whatever was wrong: an unknown organisation, a
wrong key, audience, lifetime or a replay answer alike, so a stranger learns nothing about who
is in the directory. ``reason`` is for the server log only.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Connection

from ipfhir.adapter.auth.orgkey import SigningKey
from ipfhir.adapter.auth.replay import SqlReplayGuard
from ipfhir.adapter.auth.tokens import ALGORITHMS, TokenVerifier, jwks_loader
from ipfhir.adapter.directory.model import DirectoryEntry
from ipfhir.adapter.security_errors import Unauthenticated
from ipfhir.mappings.identifiers import is_valid_orgnr

__all__ = [
    "ASSERTION_TYPE",
    "MAX_LIFETIME",
    "AssertionVerifier",
    "InvalidClient",
    "client_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFETIME = 300  # seconds an assertion may be valid ahead (SMART Backend Services)
SKEW = 10  # seconds of clock difference tolerated on exp and iat


class InvalidClient(Exception):
    """Client authentication failed; ``reason`` goes to the log, never to the client."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def client_assertion(key: SigningKey, client_id: str, audience: str, lifetime: int = 60) -> str:
    """A signed assertion of ``client_id`` for the token endpoint ``audience``."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": uuid.UUID(bytes=os.urandom(16)).hex,
        "iat": now,
        "exp": now + min(lifetime, MAX_LIFETIME),
    }
    return key.sign(claims)


class AssertionVerifier:
    """Verifies assertions sent to ``token_url`` by organisations of ``lookup`` (the directory)."""

    def __init__(
        self,
        lookup: Callable[[str], DirectoryEntry | None],
        replay: SqlReplayGuard,
        token_url: str,
    ) -> None:
        self._lookup = lookup
        self._replay = replay
        self.token_url = token_url
        self._verifiers: dict[tuple[str, str], TokenVerifier] = {}
        self._lock = threading.Lock()
        self._decoy = ec.generate_private_key(ec.SECP256R1()).public_key()

    def verify(
        self,
        assertion: str,
        client_id: str | None = None,
        record: Callable[[Connection, str], None] | None = None,
    ) -> str:
        """The organisasjonsnummer the assertion authenticates, or :class:`InvalidClient`;
        ``record(conn, orgnr)`` runs on the transaction that spends the assertion's ``jti``
        (the grant's audit: both or neither)."""
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError as err:
            raise InvalidClient(f"malformed assertion ({err})") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidClient(f"algorithm {str(header.get('alg'))[:20]!r} refused")
        issuer = claims.get("iss")
        entry = self._entry(issuer, claims.get("sub"), client_id)
        if entry is None:
            self._spend_like_a_check(assertion)
            raise InvalidClient(f"unknown client {str(issuer)[:40]!r}")
        try:
            checked = self._verifier(entry).verify(assertion)
        except Unauthenticated as err:
            raise InvalidClient(f"{entry.orgnr}: {err}") from None
        self._check_claims(entry.orgnr, checked, record)
        return entry.orgnr

    def _entry(self, issuer: Any, subject: Any, client_id: str | None) -> DirectoryEntry | None:
        if not isinstance(issuer, str) or issuer != subject or not is_valid_orgnr(issuer):
            return None
        if client_id is not None and client_id != issuer:
            return None
        entry = self._lookup(issuer)
        if entry is None or not entry.routable or entry.endpoint is None:
            return None
        return None if entry.endpoint.legacy else entry  # a legacy (KITH XML) partner: no login

    def _check_claims(
        self,
        orgnr: str,
        claims: dict[str, Any],
        record: Callable[[Connection, str], None] | None = None,
    ) -> None:
        now = time.time()
        jti, exp, iat = claims.get("jti"), claims.get("exp"), claims.get("iat", now)
        if not isinstance(jti, str) or not 0 < len(jti) <= 255:
            raise InvalidClient(f"{orgnr}: no usable jti")
        if not isinstance(exp, int | float) or exp > now + MAX_LIFETIME + SKEW:
            raise InvalidClient(f"{orgnr}: exp more than {MAX_LIFETIME} s ahead")
        if not isinstance(iat, int | float) or iat > now + SKEW:
            raise InvalidClient(f"{orgnr}: iat in the future")
        if not self._replay.first_use(orgnr, jti, float(exp), now, record):
            raise InvalidClient(f"{orgnr}: jti replayed")

    def _verifier(self, entry: DirectoryEntry) -> TokenVerifier:
        endpoint = entry.endpoint
        assert endpoint is not None
        source = endpoint.jwks_url or json.dumps(endpoint.jwks, sort_keys=True)
        with self._lock:
            found = self._verifiers.get((entry.orgnr, source))
            if found is None:
                inline = endpoint.jwks
                load = jwks_loader(source) if endpoint.jwks_url else (lambda: dict(inline or {}))
                # An assertion is spent once (its jti): nothing to remember it for.
                found = TokenVerifier(
                    load, entry.orgnr, self.token_url, f"JWKS of {entry.orgnr}", cache_size=0
                )
                self._verifiers = {k: v for k, v in self._verifiers.items() if k[0] != entry.orgnr}
                self._verifiers[(entry.orgnr, source)] = found
        return found

    def _spend_like_a_check(self, assertion: str) -> None:
        """An unknown client costs one signature check too (a decoy key that never matches),
        so that the answer's timing does not single out the organisations in the directory."""
        with contextlib.suppress(jwt.PyJWTError):
            jwt.decode(assertion, self._decoy, algorithms=["ES256"], options={"verify_aud": False})
