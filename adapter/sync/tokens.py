"""The worker's access tokens: for each destination, a :class:`~adapter.auth.token_client
.TokenClient` logging in at the token endpoint of the organisation whose directory endpoint
the destination is under (``[base]/$process-message`` → ``[base]/auth/token``), with this
data folder's organisation key (private_key_jwt), asking for the message scope only
(``system/MessageHeader.c``: what ``$process-message`` needs, and nothing the REST API
honours). A destination the directory does not hold
gets no token (the receiver refuses the message; it ends dead, visibly)."""

from __future__ import annotations

import logging
import threading

from ipfhir.adapter.auth.orgkey import SigningKey
from ipfhir.adapter.auth.token_client import TokenClient
from ipfhir.adapter.directory.messages import TokenRequestFailed
from ipfhir.adapter.directory.store import SqlDirectory
from ipfhir.adapter.sync.guard_messages import MESSAGE_SCOPE

__all__ = ["DirectoryTokens"]

_log = logging.getLogger(__name__)


class DirectoryTokens:
    def __init__(self, directory: SqlDirectory, key: SigningKey, client_id: str) -> None:
        self._directory = directory
        self._key = key
        self._client_id = client_id
        self._clients: dict[str, TokenClient] = {}
        self._lock = threading.Lock()

    def _client(self, destination: str) -> TokenClient | None:
        for entry in self._directory.entries():
            endpoint = entry.endpoint
            if endpoint is None or not entry.routable:
                continue
            if destination == endpoint.address.rstrip("/") + "/$process-message":
                with self._lock:
                    client = self._clients.get(endpoint.token_url)
                    if client is None:
                        client = TokenClient(
                            self._key, self._client_id, endpoint.token_url, scope=MESSAGE_SCOPE
                        )
                        self._clients[endpoint.token_url] = client
                return client
        return None

    def __call__(self, destination: str) -> str | None:
        client = self._client(destination)
        if client is None:
            _log.warning("no directory endpoint for %s: sent without a token", destination[:200])
            return None
        try:
            return client.token()
        except TokenRequestFailed as err:
            _log.warning("no access token for %s: %s", destination[:200], err)
            return None
