"""Explanation operations over HTTP (thin: parse, call the caller's repository, render).

- ``GET /CarePlan/{id}/$disclosure?organisation=ORGNR[&practitioner=HPR][&purpose=...]``
- ``POST /Consent/$evaluate`` with a Parameters body: ``organisation``, ``practitioner``,
  ``purpose`` (valueString) and ``resource`` (valueReference ``Type/id``).

Both answer a ``Parameters`` (:mod:`adapter.consent.explain`); only the plan's owner or
coordinator may ask (IP-5103). Part of the HTTP layer: it reads the server's context
(:mod:`adapter.api.context`) and calls the consent layer below it, never the other way round.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ipfhir.adapter.api.context import request_resource, server_context
from ipfhir.adapter.api.formats import render, response_format
from ipfhir.adapter.consent.enforce import ConsentRepository
from ipfhir.adapter.errors import BadRequest
from ipfhir.adapter.ports import Actor
from ipfhir.adapter.security_errors import issue5

__all__ = ["router"]

router = APIRouter()


def _repo(request: Request) -> ConsentRepository:
    ctx = server_context(request)
    repo = ctx.factory.repository_for(ctx.actor_resolver(request))
    if not isinstance(repo, ConsentRepository):
        raise BadRequest(
            [issue5("IP-5302", None, "not-supported", name="server", value="no consent")]
        )
    return repo


def _subject(values: dict[str, Any]) -> Actor:
    org = values.get("organisation")
    if not org:
        raise BadRequest([issue5("IP-5301", "organisation", "required", name="organisation")])
    return Actor(
        organisation=str(org),
        practitioner=values.get("practitioner") or None,
        purpose=values.get("purpose") or None,
    )


def _render(request: Request, body: dict[str, Any]) -> Response:
    return render(body, response_format(request), 200)


@router.get("/CarePlan/{rid}/$disclosure")
async def careplan_disclosure(request: Request, rid: str) -> Response:
    repo = _repo(request)
    subject = _subject(dict(request.query_params))
    return _render(request, await run_in_threadpool(repo.disclosure, rid, subject))


@router.post("/Consent/$evaluate")
async def consent_evaluate(request: Request) -> Response:
    repo = _repo(request)
    body = await request_resource(request)
    values: dict[str, Any] = {}
    for p in body.get("parameter") or ():
        values[p.get("name")] = p.get("valueString") or (p.get("valueReference") or {}).get(
            "reference"
        )
    subject = _subject(values)
    target = str(values.get("resource") or "")
    rtype, _, rid = target.partition("/")
    if not rid:
        raise BadRequest([issue5("IP-5302", "resource", "value", name="resource", value=target)])
    return _render(request, await run_in_threadpool(repo.evaluate, rtype, rid, subject))
