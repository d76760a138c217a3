"""An internal error answers IP-4901 and leaves the keep-alive connection usable (issue 10,
finding 2), on a real uvicorn on 127.0.0.1 with both of its HTTP parsers.

Before: Starlette answered and re-raised, uvicorn then closed the connection without
``Connection: close`` — the client's next request on it failed and pipelined requests were
never answered.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from ipfhir.adapter.api.app import create_app
from ipfhir.adapter.consent.secure import SecureRepositoryFactory
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.settings import Settings
from tests.integration.conftest import free_port


class _BrokenStore(SecureRepositoryFactory):
    """A repository factory whose repositories fail like a bug would (not an IpError)."""

    def repository_for(self, _actor: Actor) -> Any:
        raise RuntimeError("a bug: the store is not what the route expected")


@pytest.fixture(params=["httptools", "h11"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    app = create_app(
        Settings(data_dir=tmp_path),
        _BrokenStore(),
        validate=lambda *_a: {"resourceType": "OperationOutcome", "issue": []},
        validator_name="none",
        actor_resolver=lambda _request: Actor(organisation="999999999", scopes=()),
    )
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=request.param, log_level="critical"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield port
    srv.should_exit = True
    thread.join(10)


def _responses(sock: socket.socket, expected: int) -> list[tuple[int, dict[str, str], bytes]]:
    """Read ``expected`` HTTP/1.1 responses (Content-Length bodies) from ``sock``."""
    sock.settimeout(10)
    buffer = b""
    found: list[tuple[int, dict[str, str], bytes]] = []
    while len(found) < expected:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return found  # the server closed the connection
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        pairs = (x.partition(":") for x in lines[1:])
        headers = {k.strip().lower(): v.strip() for k, _, v in pairs}
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return found
            buffer += chunk
        found.append((int(lines[0].split()[1]), headers, buffer[:length]))
        buffer = buffer[length:]
    return found


def _get(path: str) -> bytes:
    accept = "Accept: application/fhir+json"
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{accept}\r\n\r\n".encode()


def _ip4901(body: bytes) -> str:
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    (found,) = outcome["issue"]
    assert found["code"] == "exception"
    assert found["details"]["coding"][0]["code"] == "IP-4901"
    text: str = found["details"]["text"]
    return text.rsplit("reference ", 1)[1].rstrip(").")


def test_the_next_request_on_the_connection_is_answered(
    server: int, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="ipfhir.api"),
        socket.create_connection(("127.0.0.1", server)) as sock,
    ):
        for _ in range(3):
            sock.sendall(_get("/Patient/1"))
            ((status, headers, body),) = _responses(sock, 1)
            assert status == 500
            assert headers.get("connection", "").lower() != "close"
            ref = _ip4901(body)
            sock.sendall(_get("/metadata"))
            ((status, _, body),) = _responses(sock, 1)
            assert status == 200
            assert json.loads(body)["resourceType"] == "CapabilityStatement"
    logged = [r for r in caplog.records if r.name == "ipfhir.api" and r.exc_info]
    assert logged, "the internal error was not logged with its traceback"
    assert ref in logged[-1].getMessage()
    assert "a bug: the store" in str(logged[-1].exc_info[1] if logged[-1].exc_info else "")


def test_pipelined_requests_after_an_internal_error_are_answered(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(_get("/Patient/1") + _get("/metadata") + _get("/Goal/2") + _get("/metadata"))
        answers = _responses(sock, 4)
    assert [status for status, _, _ in answers] == [500, 200, 500, 200]
    _ip4901(answers[0][2])
    _ip4901(answers[2][2])
