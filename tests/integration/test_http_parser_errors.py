"""Requests uvicorn's HTTP parser cannot parse are answered with an OperationOutcome (raw socket
against a real ``ipfhir serve``): an unknown or broken method, a broken request line, header or
chunk, an over-long request line. uvicorn's own answer was a plain-text 400."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, start_server

BAD_REQUESTS = {
    "unknown method": b"BREW /Patient HTTP/1.1\r\nHost: ip\r\n\r\n",
    "method with a space": b"GE T /Patient HTTP/1.1\r\nHost: ip\r\n\r\n",
    "broken request line": b"GET /Patient HTTP/9\x00\r\nHost: ip\r\n\r\n",
    "header without a colon": b"GET /metadata HTTP/1.1\r\nHost: ip\r\nOrnitorynk\r\n\r\n",
    "broken chunk": b"POST /Patient HTTP/1.1\r\nHost: ip\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"zz\r\n",
    "over-long request line": b"GET /Patient?name=" + b"\xc3\xa6" * 600_000 + b" HTTP/1.1\r\n"
    b"Host: ip\r\n\r\n",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for every case (each case closes its own connection)."""
    tmp: Path = tmp_path_factory.mktemp("parser")
    port = free_port()
    proc = start_server(["--data-dir", str(tmp / "data")], port, tmp / "serve.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _exchange(base: str, raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        # the server may answer and close before it has read everything
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
        chunks = []
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            chunks.append(data)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {
        k.strip().lower().decode(): v.strip().decode()
        for k, _, v in (line.partition(b":") for line in lines)
    }
    return status, headers, body


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_an_unparsable_request_gets_an_operation_outcome(base: str, name: str) -> None:
    status, headers, body = _exchange(base, BAD_REQUESTS[name])
    assert status.startswith(b"HTTP/1.1 400"), (status, body[:200])
    assert headers["content-type"].startswith("application/fhir+json")
    assert headers["connection"] == "close"
    outcome = json.loads(body)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["details"]["coding"][0]["code"] == "IP-4117"
    assert outcome["issue"][0]["code"] == "structure"


def test_the_server_still_answers_after_them(base: str) -> None:
    for raw in BAD_REQUESTS.values():
        _exchange(base, raw)
    status, headers, body = _exchange(base, b"GET /metadata HTTP/1.1\r\nHost: ip\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200")
    assert json.loads(body)["resourceType"] == "CapabilityStatement"
