"""``X-Request-Id`` on a write: a retry of the same request after a lost answer is answered with
the first attempt's outcome instead of writing again (the key is handed to the store through
:func:`adapter.ports.request_key`; the store keeps outcomes, :mod:`adapter.store.idempotency`).

The key the store keeps is a SHA-256 of the caller's credentials (the ``Authorization`` header),
the request id, the method and the target (path and query): the same id sent by another caller,
or with another target, is another request. The body is not part of the key: a client reuses an
id only to repeat a request. Reads and requests without the header are untouched. An id that
is empty, longer than 200 characters or not printable ASCII is refused (400 IP-4113).
"""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Receive, Scope, Send

from ipfhir.adapter.errors import BadRequest, issue
from ipfhir.adapter.ports import request_key

__all__ = ["HEADER", "IdempotentWrites"]

HEADER = "x-request-id"
_WRITES = frozenset({"POST", "PUT", "DELETE"})
_MAX = 200


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value)
    return None


class IdempotentWrites:
    """ASGI middleware: a write carrying ``X-Request-Id`` runs under its request key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = _header(scope, HEADER.encode()) if scope["type"] == "http" else None
        if given is None or scope.get("method") not in _WRITES:
            await self.app(scope, receive, send)
            return
        if not given or len(given) > _MAX or not all(0x21 <= b <= 0x7E for b in given):
            shown = given[:40].decode("latin-1")
            err = BadRequest([issue("IP-4113", None, "value", header="X-Request-Id", value=shown)])
            from starlette.requests import Request

            from ipfhir.adapter.api.context import error_response

            await error_response(Request(scope), err)(scope, receive, send)
            return
        parts = [
            _header(scope, b"authorization") or b"",
            given,
            str(scope.get("method")).encode(),
            str(scope.get("path")).encode(),
            bytes(scope.get("query_string") or b""),
        ]
        key = hashlib.sha256(b"\0".join(parts)).hexdigest()
        with request_key(key):
            await self.app(scope, receive, send)
