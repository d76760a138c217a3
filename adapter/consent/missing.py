"""What the store answers for a resource that does not exist — given for one the caller may
not see, so that a refusal never tells that the resource exists (docs/threat-model.md; STYLE
"never leak around the body").

Each answer here is the store's own for a missing id (``adapter.store.repository`` /
``writes``): same class (so the same HTTP status), message id, text and expression. Writes go
further and ask the store itself, with a precondition no version meets (``If-Match: "0"``;
versions start at 1): it runs every check it runs for a missing id before it looks at the
version — type writable or deletable, body valid — and then refuses, so nothing is written.

The one answer that cannot be the same: an update without ``If-Match`` of a hidden id would
create the resource if the id were free. It is answered as the store answers a creation with a
client id that a concurrent writer took first (409, IP-4404), which a missing id can get too.
"""

from __future__ import annotations

from typing import Any, NoReturn

from ipfhir.adapter.errors import Conflict, NotFound, PreconditionFailed, issue
from ipfhir.adapter.ports import ResourceRepository
from ipfhir.mappings.errors import Issue

__all__ = [
    "NO_VERSION",
    "as_missing_delete",
    "as_missing_update",
    "missing",
    "missing_version",
    "missing_version_issue",
]

Resource = dict[str, Any]
NO_VERSION = "0"  # an If-Match no stored version meets


def missing(rtype: str, rid: str) -> NotFound:
    """read, instance history, delete of a deletable type: ``Type/id was not found``."""
    return NotFound([issue("IP-4201", rtype, "not-found", rtype=rtype, rid=rid)])


def missing_version_issue(rtype: str, rid: str, vid: str) -> Issue:
    return issue("IP-4203", "Resource.meta.versionId", "not-found", rtype=rtype, rid=rid, vid=vid)


def missing_version(rtype: str, rid: str, vid: str) -> NotFound:
    """vread: ``Type/id has no version v``."""
    return NotFound([missing_version_issue(rtype, rid, vid)])


def as_missing_update(
    repo: ResourceRepository, rtype: str, rid: str, resource: Resource, if_match: str | None
) -> NoReturn:
    """Raise the store's answer to an update of ``rtype/rid`` as if it did not exist."""
    try:
        repo.update(rtype, rid, resource, NO_VERSION)
    except PreconditionFailed:
        pass  # every check before the version passed; the version check refused
    else:  # a store that ignored If-Match wrote: never answer as if nothing happened
        raise RuntimeError(f"the store ignored If-Match on {rtype}/{rid}")
    if if_match is not None:
        raise PreconditionFailed(
            [
                issue(
                    "IP-4402",
                    "Resource.meta.versionId",
                    "conflict",
                    expected=if_match,
                    current=None,
                )
            ]
        )
    raise Conflict([issue("IP-4404", "Resource.id", "conflict")])


def as_missing_delete(repo: ResourceRepository, rtype: str, rid: str) -> NoReturn:
    """Raise the store's answer to a delete of ``rtype/rid`` as if it did not exist."""
    try:
        repo.delete(rtype, rid, NO_VERSION)
    except PreconditionFailed:
        raise missing(rtype, rid) from None
    raise RuntimeError(f"the store ignored If-Match on {rtype}/{rid}")
