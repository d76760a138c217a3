"""Transaction (atomic) and batch Bundles.

Transaction: ids are assigned and ``urn:uuid`` references rewritten first, every resource is
validated before the write transaction opens, then all entries are written in ONE database
transaction in FHIR order (DELETE, POST, PUT, GET); any failure rolls everything back.
Batch: each entry on its own; failures become entry outcomes.

Conditional create (``ifNoneExist``) is searched first, to know the ids that references are
rewritten to; inside the write transaction every entry that is to be created locks its criteria
and searches again (as the REST conditional create, :mod:`adapter.store.conditional`). When a
concurrent writer created a match in between, the transaction is rolled back and planned again
from the start (it then finds that match); after three such rounds it answers IP-4404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from ipfhir.adapter.errors import BadRequest, Conflict, PreconditionFailed, issue, status_for
from ipfhir.adapter.fhir.search_params import RESOURCE_TYPES
from ipfhir.adapter.fhir.search_parsing import parse_search_string
from ipfhir.adapter.ports import SearchQuery
from ipfhir.adapter.store.conditional import lock_criteria
from ipfhir.adapter.store.retry import retrying
from ipfhir.mappings.errors import IpError

__all__ = ["process_bundle"]

Resource = dict[str, Any]
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "GET": 3}
_LOCKED = frozenset({"PUT", "DELETE"})  # entries whose existing rows are locked up front, sorted
_REASON = {200: "OK", 201: "Created", 204: "No Content"}
_ROUNDS = 3


class _Raced(Exception):
    """A conditional create's criteria matched inside the write transaction: plan again."""


@dataclass
class _Entry:
    index: int
    method: str
    rtype: str
    rid: str | None
    version: str | None
    resource: Resource | None
    full_url: str | None
    if_none_exist: str | None
    if_match: str | None
    create_only: bool = False  # a PUT with ifNoneMatch "*": create, never update


def _bad(index: int, detail: str) -> BadRequest:
    return BadRequest([issue("IP-4111", f"Bundle.entry[{index}]", index=index, detail=detail)])


def _parse_entry(index: int, raw: Any) -> _Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise _bad(index, "entry.request is missing")
    req = raw["request"]
    method, url = str(req.get("method", "")).upper(), str(req.get("url", ""))
    if method not in _ORDER:
        raise _bad(index, f"method {method!r} is not supported")
    path = url.split("?", 1)[0].strip("/").split("/")
    rtype = path[0]
    if rtype not in RESOURCE_TYPES:
        raise _bad(index, f"resource type {rtype!r} is not supported")
    rid = path[1] if len(path) > 1 else None
    version = path[3] if len(path) == 4 and path[2] == "_history" else None
    resource = raw.get("resource")
    if method in ("POST", "PUT") and (
        not isinstance(resource, dict) or resource.get("resourceType") != rtype
    ):
        raise _bad(index, f"entry.resource must be a {rtype}")
    if method in ("PUT", "DELETE", "GET") and rid is None:
        raise _bad(index, f"{method} needs a url like {rtype}/id")
    match = req.get("ifMatch")
    return _Entry(
        index,
        method,
        rtype,
        rid,
        version,
        resource,
        raw.get("fullUrl"),
        req.get("ifNoneExist"),
        _etag_version(index, match) if match else None,
        method == "PUT" and req.get("ifNoneMatch") == "*",
    )


def _etag_version(index: int, value: str) -> str:
    v = value.strip()
    if v.startswith("W/"):
        v = v[2:]
    v = v.strip('"')
    if not v.isdigit():
        raise _bad(index, f"ifMatch {value!r} is not an ETag")
    return v


def _rewrite(node: Any, ids: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: (ids.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, ids))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(x, ids) for x in node]
    return node


def _response(status: int, resource: Resource | None = None) -> Resource:
    out: Resource = {"status": f"{status} {_REASON.get(status, '')}".strip()}
    if resource is not None:
        meta = resource.get("meta") or {}
        out["location"] = (
            f"{resource['resourceType']}/{resource['id']}/_history/{meta.get('versionId')}"
        )
        out["etag"] = f'W/"{meta.get("versionId")}"'
        out["lastModified"] = meta.get("lastUpdated")
    return out


def _criteria(e: _Entry) -> SearchQuery:
    crit = parse_search_string(e.rtype, str(e.if_none_exist).split("?", 1)[-1]).query
    return SearchQuery(crit.resource_type, crit.params, count=2, total_wanted=True)


def _one(found: Any, e: _Entry) -> Resource | None:
    """The one match of a conditional create, or None (several → 412)."""
    if found.total and found.total > 1:
        raise PreconditionFailed(
            [
                issue(
                    "IP-4403",
                    f"Bundle.entry[{e.index}].request.ifNoneExist",
                    "multiple-matches",
                    count=found.total,
                )
            ]
        )
    return found.matches[0] if found.matches else None


def _existing(repo: Any, e: _Entry) -> Resource | None:
    """Conditional create, before the write transaction: the one existing match, or None."""
    return _one(repo.search(_criteria(e)), e) if e.if_none_exist else None


def _recheck(repo: Any, conn: Connection, e: _Entry, own: set[str]) -> None:
    """Inside the write transaction: lock the criteria, search again; a match now → plan again
    (a match this Bundle created itself → two entries with one condition, 400)."""
    crit = _criteria(e)
    lock_criteria(conn, crit)
    found = _one(repo._search(conn, crit), e)
    if found is None:
        return
    if found["id"] in own:
        raise _bad(e.index, "another entry's ifNoneExist matches the resource this one creates")
    raise _Raced


def _apply(
    repo: Any, conn: Connection, e: _Entry, existing: Resource | None, own: set[str]
) -> Resource:
    w = repo.writer
    if e.method == "DELETE":
        w.delete(conn, e.rtype, e.rid, e.if_match)
        return {"response": _response(204)}
    if e.method == "POST":
        if existing is not None:
            return {"resource": existing, "response": _response(200, existing)}
        if e.if_none_exist:
            _recheck(repo, conn, e, own)
        stored = w.create(conn, e.resource, e.rid, checked=True)
        return {"resource": stored, "response": _response(201, stored)}
    if e.method == "PUT":
        stored, created = w.update(
            conn, e.rtype, e.rid, e.resource, e.if_match, checked=True, create_only=e.create_only
        )
        return {"resource": stored, "response": _response(201 if created else 200, stored)}
    got = repo.vread(e.rtype, e.rid, e.version) if e.version else repo.read(e.rtype, e.rid)
    return {"resource": got, "response": _response(200, got)}


def _transaction(repo: Any, entries: list[_Entry]) -> Resource:
    for _ in range(_ROUNDS):
        try:
            return retrying(lambda: _transaction_once(repo, [replace(e) for e in entries]))
        except _Raced:
            continue
    raise Conflict([issue("IP-4404", "Bundle.entry.request.ifNoneExist", "conflict")])


def _transaction_once(repo: Any, entries: list[_Entry]) -> Resource:
    ids: dict[str, str] = {}
    existing: dict[int, Resource | None] = {}
    for e in entries:
        if e.method == "POST":
            existing[e.index] = found = _existing(repo, e)
            e.rid = found["id"] if found else str(uuid.uuid4())
        if e.full_url and e.method in ("POST", "PUT") and e.rid:
            ids[e.full_url] = f"{e.rtype}/{e.rid}"
    for e in entries:
        if e.resource is not None:
            e.resource = _rewrite(e.resource, ids)
            if e.method in ("POST", "PUT") and existing.get(e.index) is None:
                _wrapped(e, lambda e=e: repo.writer.check(e.resource, e.rid))
    results: dict[int, Resource] = {}
    own = {str(e.rid) for e in entries if e.method == "POST" and existing.get(e.index) is None}
    with repo.begin_write() as conn:
        repo.writer.lock(conn, {(e.rtype, e.rid) for e in entries if e.method in _LOCKED and e.rid})
        for e in sorted(entries, key=lambda x: _ORDER[x.method]):
            results[e.index] = _wrapped(
                e, lambda e=e: _apply(repo, conn, e, existing.get(e.index), own)
            )
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [results[e.index] for e in entries],
    }


def _wrapped(e: _Entry, action: Any) -> Any:
    try:
        return action()
    except IpError as err:
        head = issue(
            "IP-4112",
            f"Bundle.entry[{e.index}]",
            "processing",
            index=e.index,
            detail=f"{e.method} {e.rtype}",
        )
        raise type(err)([head, *err.issues]) from err


def _batch(repo: Any, entries: list[_Entry]) -> Resource:
    out: list[Resource] = []
    for e in entries:
        try:
            res = _transaction(repo, [e])["entry"][0]
        except IpError as err:
            res = {"response": {"status": str(status_for(err)), "outcome": err.outcome()}}
        out.append(res)
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}


def process_bundle(repo: Any, bundle: Resource) -> Resource:
    btype = bundle.get("type")
    if bundle.get("resourceType") != "Bundle" or btype not in ("transaction", "batch"):
        raise BadRequest([issue("IP-4110", "Bundle.type", btype=btype)])
    raw = bundle.get("entry") or []
    if btype == "batch":
        parsed: list[_Entry | IpError] = []
        for i, r in enumerate(raw):
            try:
                parsed.append(_parse_entry(i, r))
            except IpError as err:
                parsed.append(err)
        return _batch_mixed(repo, parsed)
    return _transaction(repo, [_parse_entry(i, r) for i, r in enumerate(raw)])


def _batch_mixed(repo: Any, parsed: list[Any]) -> Resource:
    out: list[Resource] = []
    for p in parsed:
        if isinstance(p, IpError):
            out.append({"response": {"status": str(status_for(p)), "outcome": p.outcome()}})
        else:
            out.extend(_batch(repo, [p])["entry"])
    return {"resourceType": "Bundle", "type": "batch-response", "entry": out}
