"""``POST [base]/$process-message`` (FHIR messaging, synchronous): thin — authenticate, read the
body, hand it to :class:`~adapter.sync.receiver.Receiver`, render its answer.

The caller is whoever the verified bearer token names (this server's own access tokens from
``/auth/token`` and the configured issuer's alike); the receiver admits only organisations in
the directory. Installed by :func:`install` from ``adapter/bootstrap.py``, ahead of the FHIR
routes (``POST /{type}`` would take the path), and only where the server knows its own base
URL (the address messages must be sent to).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from ipfhir.adapter.api.context import in_thread, request_resource, server_context
from ipfhir.adapter.api.formats import render

__all__ = ["install", "router"]

router = APIRouter()


def install(app: FastAPI, wiring: Any, settings: Any, factory: Any = None) -> None:
    """Serve ``$process-message`` over ``wiring``'s store and directory (``factory``: the
    consent-enforcing repositories, for the plan transfer's reads as the receiver may see)."""
    from ipfhir.adapter.api.input_checks import check_indexable
    from ipfhir.adapter.auth.issuer import server_base
    from ipfhir.adapter.directory.store import SqlDirectory
    from ipfhir.adapter.sync.receiver import Receiver
    from ipfhir.adapter.sync.transfer_back import transfer_handlers

    base = server_base(settings)
    if base is None:
        return
    directory = SqlDirectory(wiring.engine)
    handlers = transfer_handlers(wiring.repository, directory, base, factory) if factory else None
    app.state.message_receiver = Receiver(
        wiring.repository,
        directory,
        base,
        check=lambda body: check_indexable(body, "Bundle"),
        handlers=handlers,
    )
    app.router.routes[:0] = router.routes


@router.post("/$process-message")
async def process_message(request: Request) -> Response:
    ctx = server_context(request)
    actor = await in_thread(request, ctx.actor_resolver, request)
    body = await request_resource(request)
    receiver = request.app.state.message_receiver
    status, answer = await in_thread(
        request, receiver.process, actor.organisation, body, actor.scopes
    )
    return render(answer, "json", status)
