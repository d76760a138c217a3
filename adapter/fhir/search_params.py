"""The search parameters the server supports, per resource type, and how to index them.

Paths are simple dotted element paths (no FHIRPath: indexing sits on the write hot path).
Reference parameters index only references to their target types.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ipfhir.adapter.fhir.dates import date_range
from ipfhir.adapter.fhir.references import split_reference

__all__ = [
    "COMMON_PARAMS",
    "RESOURCE_TYPES",
    "SEARCH_PARAMS",
    "ParamDef",
    "extract_dates",
    "extract_references",
    "extract_tokens",
    "param_def",
]

Kind = Literal["token", "reference", "date", "string"]


@dataclass(frozen=True)
class ParamDef:
    name: str
    kind: Kind
    paths: tuple[str, ...]
    targets: tuple[str, ...] = ()  # reference target types; () = any

    @property
    def fhir_type(self) -> str:
        return self.kind


def _p(name: str, kind: Kind, *paths: str, targets: tuple[str, ...] = ()) -> ParamDef:
    return ParamDef(name, kind, paths, targets)


_PAT = ("Patient",)
_IDENT = _p("identifier", "token", "identifier")
_STATUS = _p("status", "token", "status")

SEARCH_PARAMS: dict[str, tuple[ParamDef, ...]] = {
    "CarePlan": (
        _IDENT,
        _STATUS,
        _p("patient", "reference", "subject", targets=_PAT),
        _p("subject", "reference", "subject", targets=("Patient", "Group")),
        _p("category", "token", "category"),
        _p("intent", "token", "intent"),
        _p("date", "date", "period"),
        _p("care-team", "reference", "careTeam", targets=("CareTeam",)),
        _p("goal", "reference", "goal", targets=("Goal",)),
        _p("supporting-info", "reference", "supportingInfo"),
        _p("based-on", "reference", "basedOn", targets=("CarePlan",)),
        _p("replaces", "reference", "replaces", targets=("CarePlan",)),
    ),
    "CareTeam": (
        _IDENT,
        _STATUS,
        _p("patient", "reference", "subject", targets=_PAT),
        _p("subject", "reference", "subject", targets=("Patient", "Group")),
        _p("category", "token", "category"),
        _p("date", "date", "period"),
        _p("participant", "reference", "participant.member"),
    ),
    "Goal": (
        _IDENT,
        _p("patient", "reference", "subject", targets=_PAT),
        _p("subject", "reference", "subject", targets=("Patient", "Group", "Organization")),
        _p("lifecycle-status", "token", "lifecycleStatus"),
        _p("category", "token", "category"),
        _p("start-date", "date", "startDate"),
        _p("target-date", "date", "target.dueDate"),
    ),
    "Consent": (
        _IDENT,
        _STATUS,
        _p("patient", "reference", "patient", targets=_PAT),
        _p("category", "token", "category"),
        _p("date", "date", "dateTime"),
        _p("period", "date", "provision.period"),
        _p("organization", "reference", "organization", targets=("Organization",)),
        _p("actor", "reference", "provision.actor.reference"),
    ),
    "Patient": (
        _IDENT,
        _p("birthdate", "date", "birthDate"),
        _p("gender", "token", "gender"),
        _p("organization", "reference", "managingOrganization", targets=("Organization",)),
    ),
    "Practitioner": (_IDENT,),
    "PractitionerRole": (
        _IDENT,
        _p("practitioner", "reference", "practitioner", targets=("Practitioner",)),
        _p("organization", "reference", "organization", targets=("Organization",)),
        _p("role", "token", "code"),
    ),
    "Organization": (_IDENT, _p("partof", "reference", "partOf", targets=("Organization",))),
    "RelatedPerson": (_IDENT, _p("patient", "reference", "patient", targets=_PAT)),
    "Task": (
        _IDENT,
        _STATUS,
        _p("patient", "reference", "for", targets=_PAT),
        _p("subject", "reference", "for"),
        _p("based-on", "reference", "basedOn"),
        _p("focus", "reference", "focus"),
        _p("owner", "reference", "owner"),
        _p("authored-on", "date", "authoredOn"),
    ),
    "Provenance": (
        _p("target", "reference", "target"),
        _p("patient", "reference", "target", targets=_PAT),
        _p("agent", "reference", "agent.who"),
        _p("recorded", "date", "recorded"),
    ),
    "AuditEvent": (
        _p("date", "date", "recorded"),
        _p("entity", "reference", "entity.what"),
        _p("entity-identifier", "token", "entity.what.identifier"),
        _p("patient", "reference", "entity.what", targets=_PAT),
        _p("agent", "reference", "agent.who"),
        _p("type", "token", "type"),
        _p("action", "token", "action"),
    ),
    "Endpoint": (
        _IDENT,
        _STATUS,
        _p("organization", "reference", "managingOrganization", targets=("Organization",)),
        _p("connection-type", "token", "connectionType"),
    ),
}

RESOURCE_TYPES: tuple[str, ...] = tuple(SEARCH_PARAMS)
COMMON_PARAMS: tuple[ParamDef, ...] = (
    ParamDef("_id", "token", ("id",)),
    ParamDef("_lastUpdated", "date", ("meta.lastUpdated",)),
)


def param_def(resource_type: str, name: str) -> ParamDef | None:
    """The definition of ``name`` on ``resource_type`` (common ones included), or ``None``."""
    for d in COMMON_PARAMS + SEARCH_PARAMS.get(resource_type, ()):
        if d.name == name:
            return d
    return None


def _walk(node: Any, parts: list[str]) -> Iterator[Any]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, parts)
        return
    if not parts:
        yield node
        return
    if isinstance(node, dict) and parts[0] in node:
        yield from _walk(node[parts[0]], parts[1:])


def _values(resource: dict[str, Any], d: ParamDef) -> Iterator[Any]:
    for path in d.paths:
        yield from _walk(resource, path.split("."))


def extract_tokens(resource: dict[str, Any], d: ParamDef) -> Iterator[tuple[str | None, str]]:
    """(system, code) pairs: Identifier, CodeableConcept, Coding, code, boolean."""
    for v in _values(resource, d):
        if isinstance(v, bool):
            yield None, "true" if v else "false"
        elif isinstance(v, str):
            yield None, v
        elif isinstance(v, dict):
            if "coding" in v:
                for c in v["coding"]:
                    if isinstance(c, dict) and "code" in c:
                        yield c.get("system"), str(c["code"])
            elif "code" in v:
                yield v.get("system"), str(v["code"])
            elif "value" in v:
                yield v.get("system"), str(v["value"])


def extract_references(resource: dict[str, Any], d: ParamDef) -> Iterator[tuple[str, str]]:
    """(target type, target id) of relative/absolute literal references, filtered by targets."""
    for v in _values(resource, d):
        if not isinstance(v, dict):
            continue
        ref = v.get("reference")
        if not isinstance(ref, str) or ref.startswith(("#", "urn:")):
            continue
        rtype, rid = split_reference(ref)
        if rtype and (not d.targets or rtype in d.targets):
            yield rtype, rid


def extract_dates(resource: dict[str, Any], d: ParamDef) -> Iterator[tuple[str, str]]:
    """(low, high) UTC ranges of date/dateTime/instant/Period values; bad dates are skipped."""
    from ipfhir.adapter.fhir.dates import FAR_FUTURE, FAR_PAST

    for v in _values(resource, d):
        try:
            if isinstance(v, str):
                yield date_range(v)
            elif isinstance(v, dict) and ("start" in v or "end" in v):
                low = date_range(v["start"])[0] if "start" in v else FAR_PAST
                high = date_range(v["end"])[1] if "end" in v else FAR_FUTURE
                yield low, high
        except ValueError:
            continue
