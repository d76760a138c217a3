"""Earlier versions are judged as the resource is labelled now (pure, but for :func:`newest`).

A topic the owner labels a resource (or one of its elements) with later applies to every
earlier version too: ``vread`` and ``_history`` must not show the text a label now hides. So a
version is judged with :func:`with_newest_labels` — its own labels **and** those of the newest
version with content (union: a label on any of the two hides; deny beats permit, and a label
removed later does not expose an older version that carried it). Element labels (the
``ip-security-label`` extension of a CarePlan activity, need or resource item, a CareTeam
participant) are matched by element ``id``, which the mapping keeps stable across versions.

The newest version with content is the current one, or for a deleted resource the last
version before its deletion (:func:`newest`). Whether the caller may see the resource at all
is decided on it, with the current consent; an earlier version is shown only when that holds
and the version itself passes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ipfhir.adapter.consent.loader import fetch_refs
from ipfhir.adapter.errors import Gone, NotFound
from ipfhir.adapter.ports import ResourceRepository
from ipfhir.mappings.codes import ext_url

__all__ = ["newest", "newest_of", "with_newest_labels"]

Resource = dict[str, Any]
_LABEL_EXT = ext_url("ip-security-label")
_PART_EXT = ext_url("ip-text-part")
_PAGE = 20


def newest(repo: ResourceRepository, rtype: str, rid: str) -> Resource | None:
    """The newest version of ``rtype/rid`` that has content; ``None`` when it never existed.
    Only "not found" means absent: any other failure of the store is raised (fail closed)."""
    try:
        return repo.read(rtype, rid)
    except NotFound:
        return None
    except Gone:
        pass
    cursor: str | None = None
    while True:
        page = repo.history(rtype, rid, count=_PAGE, cursor=cursor)
        for entry in page.entries:
            if entry.resource is not None:
                return entry.resource
        cursor = page.next_cursor
        if cursor is None or not page.entries:
            return None  # deleted and no version with content: nothing to show of it


def newest_of(repo: ResourceRepository, rtype: str, ids: set[str]) -> dict[str, Resource]:
    """:func:`newest` of each of ``ids`` (by id): the current ones in one bulk read, the deleted
    ones from their history; ids that never existed are left out."""
    found = {str(r["id"]): r for r in fetch_refs(repo, (f"{rtype}/{i}" for i in ids)).values()}
    for rid in sorted(ids - found.keys()):
        last = newest(repo, rtype, rid)
        if last is not None:
            found[rid] = last
    return found


def _labelled_elements(node: Any, top: bool = True) -> Iterator[tuple[str, list[Resource]]]:
    """(element id, its label extensions) for every nested element with an id."""
    if isinstance(node, dict):
        if not top and isinstance(node.get("id"), str):
            labels = [
                e
                for e in node.get("extension") or ()
                if isinstance(e, dict) and e.get("url") == _LABEL_EXT
            ]
            if labels:
                yield str(node["id"]), labels
        for key, value in node.items():
            if key != "meta":
                yield from _labelled_elements(value, False)
    elif isinstance(node, list):
        for item in node:
            yield from _labelled_elements(item, False)


def _add_element_labels(node: Any, labels: dict[str, list[Resource]], top: bool = True) -> None:
    if isinstance(node, dict):
        eid = node.get("id")
        if not top and isinstance(eid, str) and eid in labels:
            own = node.setdefault("extension", [])
            own.extend(copy.deepcopy(e) for e in labels[eid] if e not in own)
        for key, value in node.items():
            if key != "meta":
                _add_element_labels(value, labels, False)
    elif isinstance(node, list):
        for item in node:
            _add_element_labels(item, labels, False)


def _version_id(resource: Resource) -> Any:
    return (resource.get("meta") or {}).get("versionId")


def _text_part_labels(node: Any) -> Iterator[Resource]:
    """The topics of every labelled free-text part (``ext:ip-text-part``) in ``node``. An earlier
    version's free text cannot be split by parts labelled later, so it carries them all, as
    labels of the whole version: it is shown only to whom may see every topic its text now has."""
    if isinstance(node, dict):
        if node.get("url") == _PART_EXT:
            for sub in node.get("extension") or ():
                if isinstance(sub, dict) and sub.get("url") == _LABEL_EXT:
                    coding = sub.get("valueCoding")
                    if isinstance(coding, dict):
                        yield {"system": coding.get("system"), "code": coding.get("code")}
        for value in node.values():
            yield from _text_part_labels(value)
    elif isinstance(node, list):
        for item in node:
            yield from _text_part_labels(item)


def with_newest_labels(version: Resource, latest: Resource | None) -> Resource:
    """``version`` carrying its own labels and those of ``latest`` (a copy when any are added)."""
    if latest is None or latest is version:
        return version
    if _version_id(version) is not None and _version_id(latest) == _version_id(version):
        return version  # the newest version itself, read again
    security = list((version.get("meta") or {}).get("security") or [])
    wanted = [*((latest.get("meta") or {}).get("security") or []), *_text_part_labels(latest)]
    added = [s for s in wanted if s not in security]
    elements: dict[str, list[Resource]] = {}
    for eid, labels in _labelled_elements(latest):
        elements.setdefault(eid, []).extend(labels)
    if not added and not elements:
        return version
    out = copy.deepcopy(version)
    if added:
        out["meta"] = {**(out.get("meta") or {}), "security": security + added}
    _add_element_labels(out, elements)
    return out
