"""The last line of defence: any exception no handler turned into an answer becomes one.

Starlette's own catch-all (``ServerErrorMiddleware``) answers and then *re-raises* the exception
for the server to log; uvicorn, seeing an exception after the answer started, closes the
keep-alive connection without saying ``Connection: close``, so the client's next request on that
connection fails and pipelined requests are never answered. This middleware sits inside it and
does not re-raise: the answer is an OperationOutcome (IP-4901 with a reference), the traceback is
logged server-side under the same reference, and the connection stays usable. A PostgreSQL
statement timeout (``statement_timeout``, Settings ``db_statement_timeout_s``) is 503 IP-4130.

Not reached by any of this: requests uvicorn's HTTP parser refuses before the app sees them.
With httptools (uvicorn's default) an unknown method (``FOO / HTTP/1.1``) or an over-long
request line is answered ``400`` in ``text/plain`` with ``Connection: close``; with h11 an
unknown method reaches the app (405, OperationOutcome) and request heads over 16 KiB
(``h11_max_incomplete_event_size``) get the same plain 400. httptools sets no limit on header
size: put a reverse proxy with header limits in front of a server exposed to the internet.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["InternalErrorGuard", "internal_error_response"]

log = logging.getLogger("ipfhir.api")


_QUERY_CANCELED = "57014"  # PostgreSQL: statement_timeout (or a cancel request)


def _statement_timeout(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == _QUERY_CANCELED


def internal_error_response(scope: Scope, exc: BaseException) -> Any:
    """The answer for an exception no handler took: a database statement timeout is 503
    (IP-4130), anything else IP-4901 (logged with its traceback under a fresh reference)."""
    from ipfhir.adapter.api.formats import render, response_format
    from ipfhir.adapter.errors import NotAcceptable, issue
    from ipfhir.mappings.errors import operation_outcome

    try:
        fmt = response_format(Request(scope), strict=False)
    except (NotAcceptable, ValueError, KeyError):
        fmt = "json"
    if _statement_timeout(exc):
        log.warning("statement timeout on %s %s", scope.get("method"), scope.get("path"))
        out = operation_outcome([issue("IP-4130", None, "timeout")])
        return render(out, fmt, 503, headers={"Retry-After": "30"})
    ref = uuid.uuid4().hex[:12]
    log.error("unhandled error %s", ref, exc_info=exc)
    out = operation_outcome([issue("IP-4901", None, "exception", ref=ref)])
    return render(out, fmt, 500)


class InternalErrorGuard:
    """ASGI middleware: an unhandled exception before the answer started becomes IP-4901."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if started:  # part of an answer is on the wire: only closing the connection is honest
                raise
            await internal_error_response(scope, exc)(scope, receive, send)
