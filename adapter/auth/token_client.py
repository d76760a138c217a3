"""The sender's side of server-to-server login: :class:`TokenClient` signs a client assertion
with the organisation key, asks the receiver's token endpoint (client_credentials) for an
access token, and keeps it until shortly before it expires."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from ipfhir.adapter.auth.assertion import ASSERTION_TYPE, client_assertion
from ipfhir.adapter.auth.orgkey import SigningKey
from ipfhir.adapter.directory.messages import TokenRequestFailed, issue6

__all__ = ["TokenClient"]

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
