"""The caller resolver for the API: ``Authorization: Bearer <JWT>`` → :class:`Actor`.

Built from settings by :func:`resolver_from_settings`: outside dev mode it refuses (IP-5005)
without an issuer and a JWKS; in dev mode (``ipfhir serve --dev``) it trusts the local dev key
in the data folder only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from ipfhir.adapter.auth.devkey import DEV_ISSUER, ensure_dev_key
from ipfhir.adapter.auth.tokens import (
    JwksUnavailable,
    PurposePolicy,
    TokenVerifier,
    actor_from_claims,
    jwks_loader,
)
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.security_errors import Unauthenticated, issue5
from ipfhir.adapter.settings import shown_url

__all__ = ["AuthNotConfigured", "bearer_resolver", "resolver_from_settings"]


class AuthNotConfigured(Unauthenticated):
    """The server was asked to start without a way to verify tokens."""


def bearer_resolver(
    verifier: TokenVerifier, purposes: PurposePolicy | None = None
) -> Callable[[Request], Actor]:
    def resolve(request: Request) -> Actor:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated([issue5("IP-5001", None, "login")])
        return actor_from_claims(verifier.verify(token.strip()), purposes)

    return resolve


def resolver_from_settings(settings: Any) -> Callable[[Request], Actor]:
    """``settings`` has ``auth_issuer``, ``auth_jwks``, ``auth_audience``, ``dev_mode``,
    ``data_dir`` (and ``auth_purposes``, ``auth_default_purpose``; defaults when absent)."""
    if settings.dev_mode:
        source = str(ensure_dev_key(settings.data_dir))
        verifier = TokenVerifier(jwks_loader(source), DEV_ISSUER, source=source)
    elif not settings.auth_issuer or not settings.auth_jwks:
        raise AuthNotConfigured([issue5("IP-5005", None, "security")])
    else:
        source = settings.auth_jwks
        verifier = TokenVerifier(
            jwks_loader(source), settings.auth_issuer, settings.auth_audience or None, source
        )
    try:
        verifier.preload()  # a JWKS that cannot be read stops the start, not the first request
    except JwksUnavailable as err:
        raise AuthNotConfigured(
            [issue5("IP-5007", None, "security", source=shown_url(err.source), detail=err.detail)]
        ) from None
    defaults = PurposePolicy()
    purposes = PurposePolicy.of(
        getattr(settings, "auth_purposes", defaults.allowed),
        getattr(settings, "auth_default_purpose", defaults.default),
    )
    return bearer_resolver(verifier, purposes)
