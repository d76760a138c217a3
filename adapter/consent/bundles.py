"""Transaction and batch through the enforcement point.

First every entry's ``request.url`` is normalised (:func:`entry_url`: a leading ``/`` or
``./``, an absolute URL's base) and the store runs the normalised bundle, so that one request
gets the same checks in every spelling and the store does exactly what was checked.
Before: every write entry passes :func:`check_write` / :func:`check_delete` (a transaction is
refused as a whole; a batch loses only the refused entries, answered as the store answers a
failed entry). GET entries need the read scope.
Entries naming a resource the caller may not see (judged on its newest version with content,
with the current consent) are answered before anything runs exactly as the store answers them
for a missing resource, in its entry shape (IP-4112 naming the entry, then the store's issue): a
GET is not found (IP-4201/4203), a PUT or DELETE gets what :mod:`adapter.consent.missing` asks of
the store. A transaction then fails as a whole, a batch entry is answered in place.
A conditional create (``ifNoneExist``) whose criteria match resources the caller may not see
is rewritten to get the answer of a store without them (:func:`_if_none_exist`).
After: every resource in the response (a GET's resource, a write's returned body) is judged
like any read; a hidden GET is answered like a missing one, a write the caller may not see
keeps its outcome (status, location, etag) without the body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ipfhir.adapter.consent.missing import missing, missing_version_issue
from ipfhir.adapter.consent.operation import Operation
from ipfhir.adapter.consent.writes import check_delete, check_write
from ipfhir.adapter.errors import NotFound, PreconditionFailed, issue, status_for
from ipfhir.adapter.fhir.search_parsing import parse_search_string
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.security_errors import Forbidden, issue5
from ipfhir.mappings.errors import IpError, Issue

__all__ = ["Stored", "entry_url", "filter_response", "split_batch"]

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


@dataclass(frozen=True)
class Stored:
    """What the checks read of the store: ``current`` (the stored current version; writes are
    checked on it), ``latest`` (the newest version with content; whether the caller may see
    the resource is decided on it) and ``as_missing(method, type, id, resource, if_match)``
    (raises the store's answer to that write of a missing id, :mod:`adapter.consent.missing`),
    ``matches`` (:func:`adapter.consent.conditional.visible_matches`)."""

    current: Callable[[str, str], Resource | None]
    latest: Callable[[str, str], Resource | None]
    as_missing: Callable[[str, str, str, Resource | None, str | None], None]
    # (matches the caller may see, whether there are others) of conditional-create criteria
    matches: Callable[[SearchQuery], tuple[list[Resource], bool]]


def _check_entry(
    op: Operation, index: int, entry: Resource, others: list[Resource], stored: Stored
) -> tuple[Resource | None, bool]:
    """(what to store of the entry's resource — a whole resource when the check merged a
    member's change into the stored version, else only the ``meta`` the check requires; None
    when it carries none —, whether it was judged as a creation by PUT: then it is stored as
    a creation only)."""
    request = entry.get("request") or {}
    method = str(request.get("method", "")).upper()
    url = str(request.get("url", "")).split("?", 1)[0]
    rtype, _, rid = url.partition("/")
    resource = entry.get("resource")
    if isinstance(resource, dict):
        rtype = str(resource.get("resourceType", rtype))
    op.require(rtype, _INTERACTION.get(method, "read"))
    existing = None
    if method in ("PUT", "DELETE") and rid:
        rid = rid.split("/")[0]
        _hidden_write(op, index, method, rtype, rid, entry, others, stored)
        existing = stored.current(rtype, rid)
    if method == "DELETE" and existing is not None:
        check_delete(op, existing)
    if method in ("POST", "PUT") and isinstance(resource, dict):
        checked = check_write(op, resource, others, old=existing)
        if existing is not None and _content(checked) != _content(resource):
            # a care-team member's change carried into the stored version: store that one
            # (what it sent lacks what it may not see), not what it sent
            return checked, False
        return {"meta": checked.get("meta")}, method == "PUT" and existing is None
    return None, False


def _content(resource: Resource) -> Resource:
    return {k: v for k, v in resource.items() if k != "meta"}


def _hidden_write(
    op: Operation,
    index: int,
    method: str,
    rtype: str,
    rid: str,
    entry: Resource,
    others: list[Resource],
    stored: Stored,
) -> None:
    """A PUT or DELETE of a resource the caller may not see: the store's answer for a
    missing id, shaped as the store shapes a failed entry (IP-4112 first)."""
    last = stored.latest(rtype, rid)
    if last is None or op.see(last, record=False).resource is not None:
        return
    op.see(last)  # the refusal is audited
    resource = entry.get("resource")
    if method == "PUT" and isinstance(resource, dict):
        check_write(op, resource, others)  # what a write to a free id is checked for
    raw = (entry.get("request") or {}).get("ifMatch")
    if_match = str(raw).strip().removeprefix("W/").strip('"') if raw else None
    if if_match is not None and not if_match.isdigit():
        return  # the store refuses the entry before it looks at the resource (IP-4111)
    try:
        stored.as_missing(
            method, rtype, rid, resource if isinstance(resource, dict) else None, if_match
        )
    except IpError as err:
        raise type(err)([_entry_head(index, method, rtype), *err.issues]) from None


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


def _entry_head(index: int, method: str, rtype: str) -> Issue:
    """The store's first issue for a failed entry (``adapter.store.bundles``)."""
    detail = f"{method} {rtype}"
    return issue("IP-4112", f"Bundle.entry[{index}]", "processing", index=index, detail=detail)


def _check_get(
    op: Operation,
    index: int,
    entry: Resource,
    latest: Callable[[str, str], Resource | None],
) -> None:
    """A GET of a resource the caller may not see: the store's answer for a missing one."""
    request = entry.get("request") or {}
    if str(request.get("method", "")).upper() != "GET":
        return
    path = str(request.get("url", "")).split("?", 1)[0].strip("/").split("/")
    if len(path) < 2 or not path[1]:
        return  # the store refuses it (IP-4111)
    rtype, rid = path[0], path[1]
    last = latest(rtype, rid)
    if last is None or op.see(last, record=False).resource is not None:
        return
    op.see(last)  # the refusal is audited
    if len(path) == 4 and path[2] == "_history":
        why = missing_version_issue(rtype, rid, path[3])
    else:
        why = missing(rtype, rid).issues[0]
    raise NotFound([_entry_head(index, "GET", rtype), why])


def split_batch(
    op: Operation, bundle: Resource, stored: Stored
) -> tuple[Resource, dict[int, IpError]]:
    """(the bundle to run, refused entry positions → error). A refused transaction raises."""
    entries = _normalised(list(bundle.get("entry") or []))
    names = _resolver(entries)
    judged = _provisional(_resolved(entries, names), names)
    others = [e["resource"] for e in judged if isinstance(e.get("resource"), dict)]
    refused: dict[int, IpError] = {}
    for index, entry in enumerate(judged):
        try:
            _check_get(op, index, entry, stored.latest)
            checked, create = _check_entry(op, index, entry, others, stored)
            checked_entry = _as_checked(entries[index], checked, create)
            entries[index] = _if_none_exist(index, checked_entry, stored)
        except IpError as err:
            if bundle.get("type") != "batch":
                raise
            refused[index] = err
    kept = dict(bundle)
    kept["entry"] = [e for i, e in enumerate(entries) if i not in refused]
    return kept, refused


def _as_checked(original: Resource, checked: Resource | None, create: bool) -> Resource:
    """The entry as sent, with the profiles the check requires in its resource's meta (or
    the merged version the check returned in place of its resource); a PUT
    judged as a creation marked ``ifNoneMatch: *`` so that the store creates or refuses it
    (a concurrent writer's version is never overwritten by it)."""
    if create:
        original = {**original, "request": {**original["request"], "ifNoneMatch": "*"}}
    resource = original.get("resource")
    if checked is None or not isinstance(resource, dict):
        return original
    if "resourceType" in checked:  # a member's merged version (see _check_entry)
        return {**original, "resource": checked}
    meta = checked.get("meta")
    if meta == resource.get("meta"):
        return original
    return {**original, "resource": {**resource, "meta": meta}}


def _if_none_exist(index: int, entry: Resource, stored: Stored) -> Resource:
    """A conditional create whose criteria match resources the caller may not see, made to
    get the answer of a store without them: no visible match → created (the condition
    dropped), one → that one (the condition narrowed to its id), several → 412 counting
    only those."""
    request = entry.get("request") or {}
    condition = request.get("ifNoneExist")
    if str(request.get("method", "")).upper() != "POST" or not condition:
        return entry
    rtype = str(request.get("url", "")).split("?", 1)[0].strip("/")
    try:
        criteria = parse_search_string(rtype, str(condition).split("?", 1)[-1]).query
    except IpError:
        return entry  # the store refuses the entry itself
    seen, others = stored.matches(criteria)
    if not others:
        return entry
    if len(seen) > 1:
        where = f"Bundle.entry[{index}].request.ifNoneExist"
        raise PreconditionFailed([issue("IP-4403", where, "multiple-matches", count=len(seen))])
    narrowed = {k: v for k, v in request.items() if k != "ifNoneExist"}
    if seen:
        narrowed["ifNoneExist"] = f"_id={seen[0]['id']}"
    return {**entry, "request": narrowed}


def _forbidden_entry(err: IpError) -> Resource:
    """A refused batch entry, shaped as the store shapes a failed one."""
    return {"response": {"status": str(status_for(err)), "outcome": err.outcome()}}


def _judged(op: Operation, index: int, request: Resource, entry: Resource) -> Resource:
    resource = entry.get("resource")
    if not isinstance(resource, dict):
        return entry
    decision = op.see(resource)
    if decision.resource is not None:
        return {**entry, "resource": decision.resource}
    rtype, rid = str(resource.get("resourceType")), str(resource.get("id"))
    method = str((request.get("request") or {}).get("method", "GET")).upper()
    if method != "GET":  # the caller's own write, stored: its outcome without the body
        return {"response": entry.get("response") or {}}
    head = _entry_head(index, method, rtype)
    return _forbidden_entry(NotFound([head, *missing(rtype, rid).issues]))


def filter_response(
    op: Operation, bundle: Resource, response: Resource | None, refused: dict[int, IpError]
) -> Resource:
    """The response as the caller may see it, refused batch entries put back in place."""
    kind = "batch-response" if bundle.get("type") == "batch" else "transaction-response"
    answered = (response or {}).get("entry") or []
    op.prepare(e.get("resource") for e in answered if isinstance(e.get("resource"), dict))
    done = iter(answered)
    total = len(bundle.get("entry") or [])
    asked = list(bundle.get("entry") or [])
    out = [
        _forbidden_entry(refused[i]) if i in refused else _judged(op, i, asked[i], next(done, {}))
        for i in range(total)
    ]
    if not out and refused:
        raise Forbidden([issue5("IP-5101", "Bundle", "forbidden", rtype="Bundle")])
    return {"resourceType": "Bundle", "type": kind, "entry": out}
