"""The last line of defence: any exception no handler turned into an answer becomes one.

Starlette's own catch-all (``ServerErrorMiddleware``) answers and then *re-raises* the exception
for the server to log; uvicorn, seeing an exception after the answer started, closes the
keep-alive connection without saying ``Connection: close``, so the client's next request on that
connection fails and pipelined requests are never answered. This middleware sits inside it and
does not re-raise: the answer is an OperationOutcome (IP-4901 with a reference), the traceback is
logged server-side under the same reference, and the connection stays usable. A database that
did not answer in time is transient, 503 IP-4130 with ``Retry-After``, never 500: a PostgreSQL
statement timeout (``statement_timeout``, Settings ``db_statement_timeout_s``), or a SQLite file
whose lock another process held past the busy timeout (a backup, a shell, a second server: every
request meets it, since a read writes its AuditEvent too), or a connection pool with no
connection free within its timeout.

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

from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["InternalErrorGuard", "internal_error_response"]

log = logging.getLogger("ipfhir.api")


_QUERY_CANCELED = "57014"  # PostgreSQL: statement_timeout (or a cancel request)


_SQLITE_BUSY = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)


def _statement_timeout(exc: BaseException) -> bool:
    """The database did not answer in time: PostgreSQL cancelled the statement, SQLite's
    lock stayed with another connection past the busy timeout, or no connection of the pool
    came free within its timeout (every one busy: a burst, or a database that hangs)."""
    if isinstance(exc, PoolTimeout):
        return True
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) == _QUERY_CANCELED:
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in _SQLITE_BUSY


def internal_error_response(scope: Scope, exc: BaseException) -> Any:
    """The answer for an exception no handler took: a database that did not answer in time is
    503 (IP-4130), anything else IP-4901 (logged with its traceback under a fresh reference)."""
    from ipfhir.adapter.api.formats import render, response_format
    from ipfhir.adapter.errors import NotAcceptable, issue
    from ipfhir.mappings.errors import operation_outcome

    try:
        fmt = response_format(Request(scope), strict=False)
    except (NotAcceptable, ValueError, KeyError):
        fmt = "json"
    if _statement_timeout(exc):
        log.warning("database timeout on %s %s: %s", scope.get("method"), scope.get("path"), exc)
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
