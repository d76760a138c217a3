"""IP-4117 promises an OperationOutcome for every request uvicorn answers on its own; a
WebSocket upgrade request (uvicorn's WebSocket protocol, ``websockets`` installed, takes it
before the app) is still answered by uvicorn in plain text (raw socket against a real
``ipfhir serve``, the server of ``tests/integration/test_http_parser_errors.py``)."""

from __future__ import annotations

import pytest

from tests.integration.test_http_parser_errors import _exchange, base

__all__ = ["base"]

UPGRADES = {
    "websocket upgrade": b"GET /Patient HTTP/1.1\r\nHost: ip\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n",
    "broken websocket upgrade": b"GET /Patient HTTP/1.1\r\nHost: ip\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(UPGRADES))
def test_an_upgrade_request_gets_an_operation_outcome(base: str, name: str) -> None:
    status, headers, body = _exchange(base, UPGRADES[name])
    assert not status.startswith(b"HTTP/1.1 101"), status
    assert headers.get("content-type", "").startswith("application/fhir+json"), (status, body)
    assert b"OperationOutcome" in body, (status, body[:200])
