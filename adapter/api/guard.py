"""The last line of defence: any exception no handler turned into an answer becomes one.

Starlette's own catch-all (``ServerErrorMiddleware``) answers and then *re-raises* the exception
for the server to log; uvicorn, seeing an exception after the answer started, closes the
keep-alive connection without saying ``Connection: close``, so the client's next request on that
connection fails and pipelined requests are never answered. This middleware sits inside it and
does not re-raise: the answer is an OperationOutcome (IP-4901 with a reference), the traceback is
logged server-side under the same reference, and the connection stays usable.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["InternalErrorGuard", "internal_error_response"]

log = logging.getLogger("ipfhir.api")


def internal_error_response(scope: Scope, exc: BaseException) -> Any:
    """The IP-4901 answer for ``exc`` (logged with its traceback under a fresh reference)."""
    from ipfhir.adapter.api.formats import render, response_format
    from ipfhir.adapter.errors import NotAcceptable, issue
    from ipfhir.mappings.errors import operation_outcome

    ref = uuid.uuid4().hex[:12]
    log.error("unhandled error %s", ref, exc_info=exc)
    try:
        fmt = response_format(Request(scope), strict=False)
    except (NotAcceptable, ValueError, KeyError):
        fmt = "json"
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
