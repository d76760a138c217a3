"""The worker's access tokens: for each destination, a :class:`~adapter.auth.token_client
.TokenClient` logging in at the token endpoint of the organisation whose directory endpoint
the destination is under (``[base]/$process-message``), with this data folder's organisation
key (private_key_jwt), asking for the message scope only (``system/MessageHeader.c``: what
``$process-message`` needs, and nothing the REST API honours).

Where that token endpoint is, the receiver says itself: ``token_endpoint`` of its SMART
configuration (:func:`~adapter.auth.token_client.discover_token_url`), read once per endpoint
and read again after a failure — never assumed from the base. A destination the directory
does not hold gets no token (the receiver refuses the message; it ends dead, visibly); a token
that cannot be had now (the receiver or its token endpoint away, refusing, locked out) raises
:class:`~adapter.directory.messages.TokenRequestFailed`: the transport makes that a failed
attempt, retried — a message is never sent without the token it should carry."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import requests

from ipfhir.adapter.auth.orgkey import SigningKey
from ipfhir.adapter.auth.token_client import TokenClient, discover_token_url
from ipfhir.adapter.directory.guard_messages import MESSAGE_SCOPE
from ipfhir.adapter.directory.messages import TokenRequestFailed
from ipfhir.adapter.directory.store import SqlDirectory

__all__ = ["DirectoryTokens"]

_log = logging.getLogger(__name__)


class DirectoryTokens:
    def __init__(
        self,
        directory: SqlDirectory,
        key: SigningKey,
        client_id: str,
        discover: Callable[[str], str] | None = None,
    ) -> None:
        self._directory = directory
        self._key = key
        self._client_id = client_id
        self._session = requests.Session()
        self._discover = discover or (lambda base: discover_token_url(base, self._session))
        self._token_urls: dict[str, str] = {}  # endpoint address -> its token endpoint
        self._clients: dict[str, TokenClient] = {}  # token endpoint -> client
        self._lock = threading.Lock()

    def _address(self, destination: str) -> str | None:
        for entry in self._directory.entries():
            endpoint = entry.endpoint
            if endpoint is None or not entry.routable:
                continue
            address = endpoint.address.rstrip("/")
            if destination == address + "/$process-message":
                return address
        return None

    def _client(self, address: str) -> TokenClient:
        with self._lock:
            token_url = self._token_urls.get(address)
        if token_url is None:
            token_url = self._discover(address)  # outside the lock: it waits for the network
        with self._lock:
            self._token_urls[address] = token_url
            client = self._clients.get(token_url)
            if client is None:
                client = TokenClient(
                    self._key,
                    self._client_id,
                    token_url,
                    scope=MESSAGE_SCOPE,
                    session=self._session,
                )
                self._clients[token_url] = client
        return client

    def __call__(self, destination: str) -> str | None:
        address = self._address(destination)
        if address is None:
            _log.warning("no directory endpoint for %s: sent without a token", destination[:200])
            return None
        try:
            return self._client(address).token()
        except TokenRequestFailed as err:
            _log.warning("no access token for %s: %s", destination[:200], err)
            with self._lock:  # where the token endpoint is may have changed: ask again
                self._token_urls.pop(address, None)
            raise

    def forget(self, destination: str) -> None:
        """Drop the token kept for ``destination`` (the receiver answered 401 to it)."""
        address = self._address(destination)
        with self._lock:
            token_url = self._token_urls.pop(address, None) if address else None
            client = self._clients.get(token_url) if token_url else None
        if client is not None:
            client.forget()
