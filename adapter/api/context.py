"""What every route shares, kept on ``app.state.ctx``: settings, the caller's repository factory,
the validator, the caller resolver and the store's threads. A leaf of the HTTP layer: the app
(:mod:`adapter.api.app`) builds it, routes read it; it imports neither.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from ipfhir.adapter.api.formats import render, response_format
from ipfhir.adapter.consent.secure import SecureRepositoryFactory
from ipfhir.adapter.errors import NotAcceptable, status_for
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.settings import Settings
from ipfhir.mappings.errors import IpError

__all__ = ["ServerContext", "error_response", "in_thread", "request_resource", "server_context"]

T = TypeVar("T")


@dataclass
class ServerContext:
    """What routes need, kept on ``app.state.ctx``."""

    settings: Settings
    factory: SecureRepositoryFactory
    validate: Callable[..., dict[str, Any]]
    validator_name: str
    actor_resolver: Callable[[Request], Actor]
    # Blocking store calls run here (threads start on first use); see :func:`in_thread`.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(16, thread_name_prefix="ipfhir-store")
    )


def server_context(request: Request) -> ServerContext:
    """The context of the app serving ``request``."""
    ctx: ServerContext = request.app.state.ctx
    return ctx


async def in_thread(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the server's store threads (with the caller's context variables).

    The event loop's executor instead of ``run_in_threadpool``: anyio's hop (capacity limiter,
    its own queue) cost 70 µs of CPU against 50 µs here, on every request."""
    call = functools.partial(contextvars.copy_context().run, fn, *args)
    return await asyncio.get_running_loop().run_in_executor(server_context(request).executor, call)


async def request_resource(request: Request) -> dict[str, Any]:
    """The request body as a FHIR JSON dict (JSON or XML), within the server's size and depth
    limits: the one body reader for every route, the consent operations' included."""
    from ipfhir.adapter.api.formats import read_resource

    s = server_context(request).settings
    return await read_resource(request, s.max_body_bytes, s.max_json_depth)


def error_response(request: Request, err: IpError) -> Response:
    """The one place errors become HTTP: an OperationOutcome in the caller's format."""
    status = status_for(err)
    try:
        fmt = response_format(request, strict=not isinstance(err, NotAcceptable))
    except NotAcceptable:
        fmt = "json"
    headers = {"Allow": "GET, HEAD"} if status == 405 else None
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="ipfhir"'}
    return render(err.outcome(), fmt, status, headers=headers)
