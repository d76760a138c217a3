"""Loads a person's :class:`PlanContext` from the store, in bulk.

What the decision needs (and nothing more):

- the person's CarePlans, CareTeams and Consents: one search each by ``subject`` / ``patient``
  (who owns the plan, who coordinates it, what the person consented to);
- the Patient and every party those reference (Organization, Practitioner, PractitionerRole,
  RelatedPerson), then the practitioners and organisations of the referenced roles: two bulk
  fetches (:func:`fetch_refs`: the store's ``fetch`` when it has one, else one ``_id=a,b,c``
  search per type);
- the PractitionerRoles of the Practitioners named without one (a Consent names the teacher,
  not her role at the school): one search, only when there are such practitioners;
- Goals only when a CarePlan is judged, and then only the goals that CarePlan references (in
  the parties' bulk fetch when the CarePlan is the first thing judged, else :func:`goals_for`).
  Other Goals and RelatedPersons are judged on their own content; a RelatedPerson named as a
  Consent performer is fetched as a party of the Consent.

What is loaded is kept across operations only by :mod:`adapter.consent.cache`, and only while
the store's change stamps of the person and the directory are unchanged (one query instead of
these searches); a store without stamps gets a fresh load on every operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from ipfhir.adapter.consent.context import (
    PARTY_TYPES,
    PlanContext,
    patient_of,
    ref_of,
    references_in,
)
from ipfhir.adapter.ports import (  # the loader's ports, re-exported under their old home
    BulkReader,
    ContextReader,
    Reads,
    ResourceRepository,
    SearchParam,
    SearchQuery,
    implements,
)

__all__ = [
    "BulkReader",
    "ContextReader",
    "fetch_refs",
    "goals_for",
    "load_context",
    "with_parties",
    "with_roles",
]

Resource = dict[str, Any]
_BY_PATIENT = (("CarePlan", "subject"), ("CareTeam", "subject"), ("Consent", "patient"))
_PAGE = 500
_ID_CHUNK = 100


def _all(repo: ResourceRepository, query: SearchQuery) -> list[Resource]:
    found: list[Resource] = []
    cursor: str | None = None
    while True:
        page = repo.search(replace(query, cursor=cursor))
        found += page.matches
        cursor = page.next_cursor
        if cursor is None or not page.matches:
            return found


def _pairs(refs: Iterable[str]) -> list[tuple[str, str]]:
    return [(t, i) for t, _, i in (r.partition("/") for r in dict.fromkeys(refs)) if t and i]


def fetch_refs(repo: ResourceRepository | Reads, refs: Iterable[str]) -> dict[str, Resource]:
    """Current resources for ``Type/id`` references (missing or deleted ones are left out)."""
    pairs = _pairs(refs)
    if not pairs:
        return {}
    if implements(repo, BulkReader):
        return {ref_of(res): res for res in repo.fetch(pairs)}
    by_type: dict[str, list[str]] = {}
    for rtype, rid in pairs:
        by_type.setdefault(rtype, []).append(rid)
    found: dict[str, Resource] = {}
    for rtype, ids in by_type.items():
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = tuple(ids[start : start + _ID_CHUNK])
            query = SearchQuery(rtype, (SearchParam("_id", chunk),), count=len(chunk))
            found.update((ref_of(res), res) for res in _all(repo, query))
    return found


def load_context(
    repo: ResourceRepository, patient: str, plan: Resource | None = None
) -> PlanContext:
    """The person's plan, consents and the parties they reference (see the module docstring);
    with ``plan`` (a CarePlan about to be judged) its goals too, in the same bulk fetch."""
    goals = {r for r in references_in(plan) if r.startswith("Goal/")} if plan else set()
    also = (patient, *sorted(goals))
    if implements(repo, ContextReader):
        with repo.reader() as reads:
            mine = reads.by_patient(patient.partition("/")[2], _BY_PATIENT)
            found = with_parties(reads, {ref_of(res): res for res in mine}, also)
    else:
        found = {}
        for rtype, param in _BY_PATIENT:
            query = SearchQuery(rtype, (SearchParam(param, (patient,)),), count=_PAGE)
            for res in _all(repo, query):
                found[ref_of(res)] = res
        found = with_parties(repo, found, also)
    found = with_roles(repo, found)
    for ref in goals & found.keys():
        if patient_of(found[ref]) != patient:  # a goal outside the person's plan
            del found[ref]
    return PlanContext(patient, found)


def _wanted(resources: Iterable[Resource], found: dict[str, Resource]) -> set[str]:
    return {
        ref
        for res in resources
        for ref in references_in(res)
        if ref.partition("/")[0] in PARTY_TYPES and ref not in found
    }


def with_parties(
    repo: ResourceRepository | Reads, found: dict[str, Resource], also: Iterable[str] = ()
) -> dict[str, Resource]:
    """``found`` plus the Organization/Practitioner/PractitionerRole/RelatedPerson resources it
    references (two levels: a PractitionerRole's practitioner and organisation too), and the
    references in ``also``; one bulk fetch per level."""
    first = _wanted(found.values(), found) | {ref for ref in also if ref not in found}
    fetched = fetch_refs(repo, first)
    found.update(fetched)
    found.update(fetch_refs(repo, _wanted(fetched.values(), found) - first))
    return found


def with_roles(repo: ResourceRepository, found: dict[str, Resource]) -> dict[str, Resource]:
    """``found`` plus the PractitionerRoles (and their organisations) of every Practitioner in
    it that no loaded role names: a practitioner is an HPR number *at an organisation*
    (:func:`~adapter.consent.context.actor_refs`), and a Consent names the practitioner, not
    the role. One search, and one bulk fetch of the organisations, only when needed."""
    have = {
        str(res.get("practitioner", {}).get("reference", "")).split("/_history/")[0]
        for res in found.values()
        if res.get("resourceType") == "PractitionerRole"
    }
    bare = sorted(
        ref
        for ref, res in found.items()
        if res.get("resourceType") == "Practitioner" and ref not in have
    )
    if not bare:
        return found
    query = SearchQuery(
        "PractitionerRole", (SearchParam("practitioner", tuple(bare)),), count=_PAGE
    )
    roles = {ref_of(res): res for res in _all(repo, query)}
    found.update(roles)
    found.update(fetch_refs(repo, _wanted(roles.values(), found)))
    return found


def goals_for(repo: ResourceRepository, ctx: PlanContext, plan: Resource) -> PlanContext:
    """``ctx`` with the person's Goals that ``plan`` (any version of a CarePlan) references;
    a referenced Goal of another person stays out (it is "a goal outside the plan")."""
    wanted = {r for r in references_in(plan) if r.startswith("Goal/") and r not in ctx.resources}
    if not wanted:
        return ctx
    fetched = fetch_refs(repo, wanted)
    mine = {ref: res for ref, res in fetched.items() if patient_of(res) == ctx.patient}
    if not mine:
        return ctx
    return PlanContext(ctx.patient, {**ctx.resources, **mine})
