"""Bundles the API answers with: searchset (with paging links) and history."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from ipfhir.adapter.errors import MESSAGES
from ipfhir.adapter.ports import HistoryPage, SearchResult
from ipfhir.mappings.errors import Issue, operation_outcome

__all__ = ["history_bundle", "page_links", "searchset"]

Resource = dict[str, Any]


def _full_url(base: str, res: Resource) -> str:
    return f"{base}/{res['resourceType']}/{res['id']}"


def page_links(
    url: str, items: list[tuple[str, str]], nxt: str | None, prv: str | None
) -> list[dict[str, str]]:
    """self/next/prev links: the query as understood plus an opaque ``_page_token``."""
    kept = [(k, v) for k, v in items if k != "_page_token"]
    links = [{"relation": "self", "url": f"{url}?{urlencode(items)}" if items else url}]
    for rel, token in (("next", nxt), ("previous", prv)):
        if token:
            links.append(
                {"relation": rel, "url": f"{url}?{urlencode([*kept, ('_page_token', token)])}"}
            )
    return links


def searchset(
    base: str,
    url: str,
    items: list[tuple[str, str]],
    result: SearchResult,
    unknown: tuple[str, ...] = (),
) -> Resource:
    bundle: Resource = {"resourceType": "Bundle", "type": "searchset"}
    if result.total is not None:
        bundle["total"] = result.total
    bundle["link"] = page_links(url, items, result.next_cursor, result.prev_cursor)
    entries = [
        {"fullUrl": _full_url(base, r), "resource": r, "search": {"mode": "match"}}
        for r in result.matches
    ]
    entries += [
        {"fullUrl": _full_url(base, r), "resource": r, "search": {"mode": "include"}}
        for r in result.includes
    ]
    if unknown:
        outcome = operation_outcome(
            [
                Issue(
                    "IP-4106",
                    MESSAGES["IP-4106"].format(name=name),
                    (name,),
                    "not-supported",
                    "warning",
                )
                for name in unknown
            ]
        )
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    if entries:
        bundle["entry"] = entries
    return bundle


def history_bundle(
    base: str, url: str, items: list[tuple[str, str]], page: HistoryPage
) -> Resource:
    entries = []
    for e in page.entries:
        full = f"{base}/{e.resource_type}/{e.resource_id}"
        entry: Resource = {"fullUrl": full}
        if e.resource is not None:
            entry["resource"] = e.resource
        entry["request"] = {
            "method": e.method,
            "url": f"{e.resource_type}/{e.resource_id}" if e.method != "POST" else e.resource_type,
        }
        status = {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}[e.method]
        entry["response"] = {
            "status": status,
            "etag": f'W/"{e.version_id}"',
            "lastModified": e.last_updated,
        }
        entries.append(entry)
    bundle: Resource = {"resourceType": "Bundle", "type": "history"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = page_links(url, items, page.next_cursor, page.prev_cursor)
    if entries:
        bundle["entry"] = entries
    return bundle
