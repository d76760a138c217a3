"""The sender's side of server-to-server login: :func:`discover_token_url` reads where the
receiver's token endpoint is from its SMART configuration (``[base]/.well-known/
smart-configuration``, ``token_endpoint``: SMART Backend Services; never assumed from the
base); :class:`TokenClient` signs a client assertion with the organisation key, asks that
token endpoint (client_credentials) for an access token, and keeps it until shortly before it
expires."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from ipfhir.adapter.auth.assertion import ASSERTION_TYPE, client_assertion
from ipfhir.adapter.auth.orgkey import SigningKey
from ipfhir.adapter.directory.guard_messages import issue_guard
from ipfhir.adapter.directory.messages import TokenRequestFailed, issue6
from ipfhir.adapter.directory.model import usable_url

__all__ = ["SMART_CONFIGURATION", "TokenClient", "discover_token_url"]

SMART_CONFIGURATION = "/.well-known/smart-configuration"

_MAX_ANSWER = 64 * 1024


class TokenClient:
    """Access tokens for one receiver. ``margin``: seconds before expiry a token is renewed."""

    def __init__(
        self,
        key: SigningKey,
        client_id: str,
        token_url: str,
        *,
        scope: str | None = None,
        margin: float = 30.0,
        timeout: tuple[float, float] = (5.0, 10.0),
        session: requests.Session | None = None,
    ) -> None:
        self.key = key
        self.client_id = client_id
        self.token_url = token_url
        self.scope = scope
        self.margin = margin
        self.timeout = timeout
        self._session = session or requests.Session()
        self._token: str | None = None
        self._valid_until = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        """A current access token (fetched now if the kept one is missing or nearly expired)."""
        with self._lock:
            if self._token is None or time.monotonic() >= self._valid_until:
                self._token, lifetime = self._fetch()
                self._valid_until = time.monotonic() + max(lifetime - self.margin, 0.0)
            return self._token

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def forget(self) -> None:
        """Drop the kept token (e.g. after the receiver answered 401)."""
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(self.key, self.client_id, self.token_url),
        }
        if self.scope:
            form["scope"] = self.scope
        try:
            answer = self._session.post(
                self.token_url, data=form, timeout=self.timeout, allow_redirects=False
            )
            body: Any = answer.json() if len(answer.content) <= _MAX_ANSWER else None
        except (requests.RequestException, ValueError) as err:
            raise self._failed(f"{type(err).__name__}") from None
        if not isinstance(body, dict):
            raise self._failed(f"HTTP {answer.status_code}, not a JSON object")
        if answer.status_code != 200:
            error = str(body.get("error") or f"HTTP {answer.status_code}")[:60]
            url = self.token_url
            raise TokenRequestFailed([issue6("IP-6040", None, "security", url=url, error=error)])
        token, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not isinstance(lifetime, int) or lifetime <= 0:
            raise self._failed("no access_token and expires_in in the answer")
        return token, float(lifetime)

    def _failed(self, detail: str) -> TokenRequestFailed:
        return TokenRequestFailed(
            [issue6("IP-6041", None, "exception", url=self.token_url, detail=detail)]
        )


def discover_token_url(
    base: str,
    session: requests.Session | None = None,
    timeout: tuple[float, float] = (5.0, 10.0),
) -> str:
    """The token endpoint the FHIR server at ``base`` names in its SMART configuration: an
    https URL (http only on this machine, as the directory's addresses), reached without
    redirects, offering ``private_key_jwt`` when it lists methods at all; IP-6123 otherwise."""
    url = base.rstrip("/") + SMART_CONFIGURATION

    def unusable(detail: str) -> TokenRequestFailed:
        return TokenRequestFailed(
            [issue_guard("IP-6123", None, "exception", url=url, detail=detail)]
        )

    try:
        answer = (session or requests).get(
            url, timeout=timeout, allow_redirects=False, headers={"Accept": "application/json"}
        )
        body: Any = answer.json() if len(answer.content) <= _MAX_ANSWER else None
    except (requests.RequestException, ValueError) as err:
        raise unusable(type(err).__name__) from None
    if answer.status_code != 200 or not isinstance(body, dict):
        raise unusable(f"HTTP {answer.status_code}, not a JSON object")
    token_url = body.get("token_endpoint")
    if not usable_url(token_url):
        raise unusable(f"token_endpoint {str(token_url)[:120]!r} is not an https URL")
    methods = body.get("token_endpoint_auth_methods_supported")
    if methods is not None and (not isinstance(methods, list) or "private_key_jwt" not in methods):
        raise unusable("private_key_jwt is not among token_endpoint_auth_methods_supported")
    return str(token_url)
