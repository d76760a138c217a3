"""uvicorn's HTTP protocols with the one answer the server gives to a request it cannot parse.

uvicorn's parsers (httptools, and h11 when chosen) answer a request they cannot parse — an
unknown or malformed method, a broken request line or header, a bad chunk — with a plain-text
``400 Invalid HTTP request received.`` before the app sees anything. These subclasses send the
same status as an OperationOutcome (IP-4117, ``application/fhir+json``) instead; the connection
is closed after it, as uvicorn does (the byte stream cannot be trusted past the error). The
classes are handed to uvicorn as ``http=`` (``ipfhir serve``). Only the answer changes:
what the parsers accept is theirs.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ipfhir.adapter.errors import issue
from ipfhir.mappings.errors import operation_outcome

__all__ = ["FhirH11Protocol", "FhirHttpToolsProtocol", "parse_error_answer", "protocol_class"]


def _body() -> bytes:
    import orjson

    return orjson.dumps(operation_outcome([issue("IP-4117", None, "structure")]))


def parse_error_answer(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole HTTP/1.1 answer to a request that could not be parsed."""
    body = _body()
    lines = [b"HTTP/1.1 400 Bad Request"]
    lines += [name + b": " + value for name, value in default_headers]
    lines += [
        b"content-type: application/fhir+json; charset=utf-8",
        b"content-length: " + str(len(body)).encode("ascii"),
        b"connection: close",
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class FhirHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        self.transport.write(parse_error_answer(self.server_state.default_headers))
        self.transport.close()


class FhirH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        self.transport.write(parse_error_answer(self.server_state.default_headers))
        self.transport.close()


def protocol_class() -> type[Any]:
    """What ``http="auto"`` would pick (httptools when installed), answering as above."""
    try:
        import httptools  # noqa: F401
    except ImportError:  # pragma: no cover - httptools is a dependency
        return FhirH11Protocol
    return FhirHttpToolsProtocol
