"""One validation run: walk a resource (and a Bundle's entries) against its profiles.

Apart from :mod:`ipfhir.profiles.validator.api` so that the engine's ``conforms`` (FHIRPath
``conformsTo``, slicing by profile) can start a nested run without importing the entry points
that import the engine: the validator's modules import one way at run time
(tests/unit/test_layers.py).
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings.errors import Issue
from ipfhir.profiles.validator.fhirpath import Env
from ipfhir.profiles.validator.messages import issue
from ipfhir.profiles.validator.protocols import EngineRole
from ipfhir.profiles.validator.walker import Walker

__all__ = ["EntryResult", "run"]

_SEVERITY_RANK = {"fatal": 0, "error": 1, "warning": 2, "information": 3}
EntryResult = tuple[dict[str, Any], list[Issue]]


def _sorted(issues: list[Issue]) -> list[Issue]:
    unique = {(i.expression, i.message_id, i.text, i.severity): i for i in issues}
    return sorted(
        unique.values(),
        key=lambda i: (_SEVERITY_RANK[i.severity], i.expression, i.message_id, i.text),
    )


def run(
    engine: EngineRole, resource: Any, profile: str | None = None, split_entries: bool = False
) -> tuple[list[Issue], list[EntryResult]]:
    """Issues for ``resource`` and, with ``split_entries``, one result per Bundle entry."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return [
            issue("IP-3018", None, what="Not a FHIR resource: a JSON object with resourceType")
        ], []
    rtype = resource["resourceType"]
    env = Env(resource, resource, resource if rtype == "Bundle" else None)
    env.member_of = engine.member_of
    env.conforms_to = engine.conforms
    walker = Walker(engine, env, split_entries=split_entries)
    for root in engine.roots_for(resource, profile, walker.issues, rtype):
        walker.resource(resource, root, rtype)
    entries = [(res, _sorted(found)) for res, found in walker.entries]
    return _sorted(walker.issues), entries
