"""Bearer JWT verification against a JWKS and an issuer (HelseID style), and claims → Actor.

Claims read (HelseID names; the dev tokens use the same):
- organisation: ``helseid://claims/client/claims/orgnr_child``, else ``..._parent``
- practitioner: ``helseid://claims/hpr/hpr_number``
- roles: ``helseid://claims/client/claims/roles`` (or ``role``); purpose: ``purpose_of_use``.
  The role ``koordinerende-enhet`` makes a token of a plan's owning organisation its owner
  (:data:`adapter.consent.policy.OWNER_ROLE`); without it the organisation's other employees
  get what any stranger gets.
- scopes: ``scope`` (space separated, or a list)

Purpose of use (:class:`PurposePolicy`, from settings): a token naming a purpose outside the
allowed set — care purposes by default (HL7 v3 PurposeOfUse TREAT, ETREAT, COC, CAREMGT) —
is refused (IP-5107, 403): consent to share for the plan is consent for care, never for
marketing or research. A token with no purpose claim acts for the configured default purpose
(``COC``, care coordination: what a plan participant does); with an empty default such a
token is refused (IP-5111). The purpose reaches the consent policy as ``Actor.purpose``
(provisions bound to a purpose apply only to it).

Verified tokens are remembered (:class:`TokenVerifier`, ``cache_size`` entries, least recently
used first out, keyed by the token's SHA-256): a client sends the same bearer token on every
request, and its signature check (ES256: 11–14 % of a request's CPU) need not run again. A
remembered token answers only while its ``exp``/``nbf``/``iat`` still hold against the clock and
the key that verified it is still the very key the key set holds for its ``kid``: a JWKS refresh
that drops or replaces the key ends it at once. Anything else goes the whole way again, so a
refusal is the same answer with or without the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import orjson
import requests

from ipfhir.adapter.ports import Actor
from ipfhir.adapter.security_errors import Forbidden, Unauthenticated, issue5

__all__ = [
    "CLAIM_HPR",
    "CLAIM_ORG",
    "CLAIM_ORG_PARENT",
    "CLAIM_ROLES",
    "CARE_PURPOSES",
    "JwksUnavailable",
    "PurposePolicy",
    "TokenVerifier",
    "actor_from_claims",
    "jwks_loader",
]

CLAIM_ORG = "helseid://claims/client/claims/orgnr_child"
CLAIM_ORG_PARENT = "helseid://claims/client/claims/orgnr_parent"
CLAIM_HPR = "helseid://claims/hpr/hpr_number"
CLAIM_ROLES = "helseid://claims/client/claims/roles"
CLAIM_PURPOSE = "purpose_of_use"
CARE_PURPOSES = ("TREAT", "ETREAT", "COC", "CAREMGT")  # HL7 v3 PurposeOfUse
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
CACHE_SIZE = 4096  # verified tokens remembered per verifier
_log = logging.getLogger(__name__)


class JwksUnavailable(Exception):
    """The JWKS could not be read or holds no usable key. ``source`` and ``detail`` are for the
    operator (start-up line, server log), never for a client."""

    def __init__(self, source: str, detail: str) -> None:
        super().__init__(f"{source}: {detail}")
        self.source = source
        self.detail = detail


def jwks_loader(source: str, timeout: float = 5.0) -> Callable[[], dict[str, Any]]:
    """A function reading the JWKS from a file path or an http(s) URL."""

    def load() -> dict[str, Any]:
        try:
            if source.startswith(("http://", "https://")):
                response = requests.get(source, timeout=timeout)
                response.raise_for_status()
                data = response.json()
            else:
                data = json.loads(Path(source).read_text(encoding="utf-8"))
        except requests.HTTPError as err:
            raise JwksUnavailable(source, f"HTTP {err.response.status_code}") from err
        except requests.RequestException as err:  # (an OSError too: caught first)
            # requests' own text repeats the URL, query and all: name the failure only
            why = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(err))
            reason = why[1].strip() if why else "no answer"
            raise JwksUnavailable(source, f"{type(err).__name__}: {reason}") from err
        except OSError as err:
            raise JwksUnavailable(source, err.strerror or str(err)) from err
        except ValueError as err:
            raise JwksUnavailable(source, " ".join(str(err).split())[:200]) from err
        if not isinstance(data, dict):
            raise JwksUnavailable(source, "not a JSON Web Key Set (a JSON object with 'keys')")
        return data

    return load


def _key_set(source: str, data: dict[str, Any]) -> dict[str, Any]:
    try:
        keyset = jwt.PyJWKSet.from_dict(data)
    except jwt.PyJWTError as err:
        raise JwksUnavailable(source, f"no usable key ({err})") from err
    return {k.key_id or "": k for k in keyset.keys}


def _unauthenticated(detail: str) -> Unauthenticated:
    return Unauthenticated([issue5("IP-5002", None, "login", detail=detail)])


@dataclass(frozen=True)
class _Verified:
    """A verified token as remembered: its claims (as JSON: every answer gets its own objects,
    nested lists too — a caller changing its ``scope`` list changes nobody else's), the key
    object that verified it (and the ``kid`` it was found by), and its time claims as PyJWT
    read them."""

    claims: bytes
    kid: str | None
    key: Any
    exp: int
    nbf: int | None
    iat: int | None

    def current(self, now: float) -> bool:
        """Still within its time claims (PyJWT's checks, leeway 0: expired when exp <= now,
        immature when nbf or iat > now)."""
        return (
            now < self.exp
            and (self.nbf is None or self.nbf <= now)
            and (self.iat is None or self.iat <= now)
        )


def _time_claim(claims: dict[str, Any], name: str) -> int | None:
    return int(claims[name]) if name in claims else None


class TokenVerifier:
    """Verifies signature (key by ``kid`` from the JWKS, refreshed once on an unknown kid —
    at most once per ``min_refresh`` seconds, so that tokens with made-up key ids cannot make
    the server fetch the JWKS on every request; a failed load counts too: while the JWKS does
    not answer it is asked again at most once per ``min_refresh`` seconds), issuer, expiry
    and — when configured — audience.

    Remembers up to ``cache_size`` verified tokens (0: none; see the module doc): a hit runs
    no signature check, and answers only while the token's time claims hold and its key is
    still the key set's key for its ``kid``."""

    def __init__(
        self,
        load_jwks: Callable[[], dict[str, Any]],
        issuer: str,
        audience: str | None = None,
        source: str = "the configured JWKS",
        min_refresh: float = 10.0,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._load = load_jwks
        self.issuer = issuer
        self.audience = audience
        self.source = source
        self.min_refresh = min_refresh
        self.cache_size = cache_size
        self._keys: dict[str, Any] | None = None
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._verified: OrderedDict[bytes, _Verified] = OrderedDict()
        self._verified_lock = threading.Lock()

    @property
    def cached_tokens(self) -> int:
        """How many verified tokens are remembered now."""
        return len(self._verified)

    def preload(self) -> None:
        """Read the keys now (at start): raises :class:`JwksUnavailable` when they cannot be."""
        with self._lock:
            self._keys = _key_set(self.source, self._load())
            self._loaded_at = time.monotonic()

    def _key(self, kid: str | None, refresh: bool) -> Any:
        with self._lock:
            recent = time.monotonic() - self._loaded_at < self.min_refresh
            if self._keys is None and recent:  # the last attempt failed: not again so soon
                raise Unauthenticated([issue5("IP-5006", None, "security")])
            if self._keys is None or (refresh and not recent):
                self._loaded_at = time.monotonic()  # an attempt, failed or not, counts
                try:
                    self._keys = _key_set(self.source, self._load())
                except JwksUnavailable as err:
                    # The operator learns where and why; the client only that it failed.
                    _log.warning("JWKS could not be refreshed: %s", err)
                    raise Unauthenticated([issue5("IP-5006", None, "security")]) from None
            keys = self._keys
        return _key_for(keys, kid)

    def _held(self, kid: str | None) -> Any:
        """The key the key set holds now for ``kid`` (no load, no refresh); None without one."""
        with self._lock:
            keys = self._keys
        return None if keys is None else _key_for(keys, kid)

    def verify(self, token: str) -> dict[str, Any]:
        if self.cache_size <= 0:
            return self._verify(token)[0]
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        with self._verified_lock:
            hit = self._verified.get(digest)
            if hit is not None:
                self._verified.move_to_end(digest)
        if hit is not None:
            if hit.current(datetime.now(tz=UTC).timestamp()) and self._held(hit.kid) is hit.key:
                return dict(orjson.loads(hit.claims))
            with self._verified_lock:  # expired, or its key is gone: the whole way again
                if self._verified.get(digest) is hit:
                    del self._verified[digest]
        claims, kid, key = self._verify(token)
        try:
            remembered = orjson.dumps(claims)
        except orjson.JSONEncodeError:  # e.g. an integer past 64 bits: valid, not remembered
            return claims
        entry = _Verified(
            remembered,
            kid,
            key,
            int(claims["exp"]),
            _time_claim(claims, "nbf"),
            _time_claim(claims, "iat"),
        )
        with self._verified_lock:
            self._verified[digest] = entry
            self._verified.move_to_end(digest)
            while len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return dict(orjson.loads(remembered))

    def _verify(self, token: str) -> tuple[dict[str, Any], str | None, Any]:
        """(claims, the header's kid, the key that verified them), or :class:`Unauthenticated`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as err:
            raise _unauthenticated(f"malformed token ({err})") from err
        kid = header.get("kid")
        key = self._key(kid, False) or self._key(kid, True)
        if key is None:
            raise _unauthenticated("signed with an unknown key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "iss"], "verify_aud": self.audience is not None},
            )
        except jwt.PyJWTError as err:
            raise _unauthenticated(str(err)) from err
        return claims, kid, key


def _key_for(keys: dict[str, Any], kid: Any) -> Any:
    if kid is None and len(keys) == 1:
        return next(iter(keys.values())).key
    found = keys.get(kid or "")
    return found.key if found is not None else None


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


@dataclass(frozen=True)
class PurposePolicy:
    """Which purposes of use a token may name, and the purpose of a token naming none (empty:
    such a token is refused)."""

    allowed: frozenset[str] = frozenset(CARE_PURPOSES)
    default: str = "COC"

    @classmethod
    def of(cls, allowed: Iterable[str], default: str) -> PurposePolicy:
        return cls(frozenset(allowed), default)

    def purpose(self, claim: Any) -> str:
        """The purpose the token acts for, or :class:`Forbidden`."""
        if claim is None or claim == "" or claim == []:
            if not self.default:
                raise Forbidden([issue5("IP-5111", None, "forbidden")])
            return self.default
        codes = _strings(claim) if isinstance(claim, list) else (str(claim),)
        if len(codes) != 1 or codes[0] not in self.allowed:
            shown = " ".join(codes)[:64]
            raise Forbidden([issue5("IP-5107", None, "forbidden", purpose=shown)])
        return codes[0]


def actor_from_claims(claims: dict[str, Any], purposes: PurposePolicy | None = None) -> Actor:
    organisation = claims.get(CLAIM_ORG) or claims.get(CLAIM_ORG_PARENT)
    if not organisation:
        raise Unauthenticated([issue5("IP-5004", None, "login")])
    hpr = claims.get(CLAIM_HPR)
    return Actor(
        organisation=str(organisation),
        practitioner=str(hpr) if hpr else None,
        roles=_strings(claims.get(CLAIM_ROLES) or claims.get("role")),
        scopes=_strings(claims.get("scope")),
        purpose=(purposes or PurposePolicy()).purpose(claims.get(CLAIM_PURPOSE)),
    )
