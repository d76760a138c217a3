"""Transaction and batch through the enforcement point.

First every entry's ``request.url`` is normalised (:func:`entry_url`: a leading ``/`` or
``./``, an absolute URL's base) and the store runs the normalised bundle, so that one request
gets the same checks in every spelling and the store does exactly what was checked.
Before: every write entry passes :func:`check_write` / :func:`check_delete` (a transaction is
refused as a whole; a batch loses only the refused entries, answered 403). GET entries need
the read scope.
After: every resource in the response (a GET's resource, a write's returned body) is judged
like any read; a hidden one is answered 404, exactly like a missing resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ipfhir.adapter.consent.errors import Forbidden, issue5
from ipfhir.adapter.consent.operation import Operation
from ipfhir.adapter.consent.writes import check_delete, check_write
from ipfhir.adapter.errors import issue
from ipfhir.mappings.errors import IpError, operation_outcome

__all__ = ["entry_url", "filter_response", "split_batch"]

Resource = dict[str, Any]
_INTERACTION = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}


def entry_url(url: str) -> str:
    """``request.url`` relative to the server's base: ``/Goal/x``, ``./Goal/x``,
    ``https://host/fhir/Goal/x`` → ``Goal/x`` (the query kept). The path starts at its first
    segment that names a resource type (an upper-case letter), as FHIR type names do."""
    path, mark, query = url.partition("?")
    if "://" in path:
        path = urlsplit(path).path
    segments = [s for s in path.split("/") if s not in ("", ".")]
    start = next((i for i, s in enumerate(segments) if s[:1].isupper()), 0)
    return "/".join(segments[start:]) + mark + query


def _normalised(entries: list[Resource]) -> list[Resource]:
    out = []
    for entry in entries:
        request = entry.get("request")
        if isinstance(request, dict) and isinstance(request.get("url"), str):
            entry = {**entry, "request": {**request, "url": entry_url(request["url"])}}
        out.append(entry)
    return out


def _check_entry(
    op: Operation, entry: Resource, others: list[Resource], current: Callable[[str, str], Any]
) -> Resource | None:
    """The entry's resource as it is to be stored (None when it carries none)."""
    request = entry.get("request") or {}
    method = str(request.get("method", "")).upper()
    url = str(request.get("url", "")).split("?", 1)[0]
    rtype, _, rid = url.partition("/")
    resource = entry.get("resource")
    if isinstance(resource, dict):
        rtype = str(resource.get("resourceType", rtype))
    op.require(rtype, _INTERACTION.get(method, "read"))
    existing = current(rtype, rid.split("/")[0]) if method in ("PUT", "DELETE") and rid else None
    if method == "DELETE" and existing is not None:
        check_delete(op, existing)
    if method in ("POST", "PUT") and isinstance(resource, dict):
        return check_write(op, resource, others, old=existing)
    return None


def _resolver(entries: list[Resource]) -> dict[str, str]:
    """fullUrl → ``Type/id``: for entries written to a known id (PUT) that id, so that a
    reference by ``urn:uuid`` to an existing person is judged as a reference to that person; for
    a created entry (POST) a provisional ``Type/uuid``, so that a new person's RelatedPerson,
    Goal or plan is judged as tied to that new person (and never as tied to nobody)."""
    found: dict[str, str] = {}
    for entry in entries:
        request = entry.get("request") or {}
        url = str(request.get("url", "")).split("?", 1)[0]
        method = str(request.get("method", "")).upper()
        full, resource = str(entry.get("fullUrl") or ""), entry.get("resource")
        if full and method == "PUT":
            found[full] = url
        elif full.startswith("urn:uuid:") and method == "POST" and isinstance(resource, dict):
            found[full] = f"{resource.get('resourceType')}/{full.removeprefix('urn:uuid:')}"
    return found


def _provisional(entries: list[Resource], names: dict[str, str]) -> list[Resource]:
    """Created entries carry their provisional id while they are judged (not when stored)."""
    out = []
    for entry in entries:
        resource, full = entry.get("resource"), str(entry.get("fullUrl") or "")
        if isinstance(resource, dict) and "id" not in resource and full in names:
            entry = {**entry, "resource": {**resource, "id": names[full].partition("/")[2]}}
        out.append(entry)
    return out


def _resolved(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: names.get(v, v) if k == "reference" and isinstance(v, str) else _resolved(v, names)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_resolved(item, names) for item in node]
    return node


def split_batch(
    op: Operation, bundle: Resource, current: Callable[[str, str], Any]
) -> tuple[Resource, dict[int, IpError]]:
    """(the bundle to run, refused entry positions → error). A refused transaction raises."""
    entries = _normalised(list(bundle.get("entry") or []))
    names = _resolver(entries)
    judged = _provisional(_resolved(entries, names), names)
    others = [e["resource"] for e in judged if isinstance(e.get("resource"), dict)]
    refused: dict[int, IpError] = {}
    stored: list[Resource] = []
    for index, (entry, original) in enumerate(zip(judged, entries, strict=True)):
        try:
            checked = _check_entry(op, entry, others, current)
        except IpError as err:
            if bundle.get("type") != "batch":
                raise
            refused[index] = err
            continue
        stored.append(_as_checked(original, checked))
    kept = dict(bundle)
    kept["entry"] = stored
    return kept, refused


def _as_checked(original: Resource, checked: Resource | None) -> Resource:
    """The entry as sent, with the profiles the check requires in its resource's meta."""
    resource = original.get("resource")
    if checked is None or not isinstance(resource, dict):
        return original
    meta = checked.get("meta")
    if meta == resource.get("meta"):
        return original
    return {**original, "resource": {**resource, "meta": meta}}


def _forbidden_entry(err: IpError) -> Resource:
    status = "403" if isinstance(err, Forbidden) else "400"
    return {"response": {"status": status, "outcome": err.outcome()}}


def _judged(op: Operation, entry: Resource) -> Resource:
    resource = entry.get("resource")
    if not isinstance(resource, dict):
        return entry
    decision = op.see(resource)
    if decision.resource is not None:
        return {**entry, "resource": decision.resource}
    rtype, rid = str(resource.get("resourceType")), str(resource.get("id"))
    outcome = operation_outcome([issue("IP-4201", rtype, "not-found", rtype=rtype, rid=rid)])
    return {"response": {"status": "404 Not Found", "outcome": outcome}}


def filter_response(
    op: Operation, bundle: Resource, response: Resource | None, refused: dict[int, IpError]
) -> Resource:
    """The response as the caller may see it, refused batch entries put back in place."""
    kind = "batch-response" if bundle.get("type") == "batch" else "transaction-response"
    answered = (response or {}).get("entry") or []
    op.prepare(e.get("resource") for e in answered if isinstance(e.get("resource"), dict))
    done = iter(answered)
    total = len(bundle.get("entry") or [])
    out = [
        _forbidden_entry(refused[i]) if i in refused else _judged(op, next(done, {}))
        for i in range(total)
    ]
    if not out and refused:
        raise Forbidden([issue5("IP-5101", "Bundle", "forbidden", rtype="Bundle")])
    return {"resourceType": "Bundle", "type": kind, "entry": out}
