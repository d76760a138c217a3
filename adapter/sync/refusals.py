"""The individuals a person refused outright, carried with a notification so the receiver can
keep to the refusal too (pure reading; the sender's own store).

A sharing Consent in force (status active, its period covering today) that denies named
practitioners everything — a ``deny`` provision naming them (Practitioner, or a
PractitionerRole's practitioner) with no topic, class, code, purpose or data period — refuses
those practitioners wherever they work: the policy matches such a refusal by HPR number alone
(:func:`adapter.consent.context.claimed_refs`). The receiver has no copy of the person's
Consent, so the notification's Task names them (extension ``ip-refused-individual``, one HPR
number each) and the receiver's inbox shows the notification to none of them, even with its
coordinating unit's token (:mod:`adapter.consent.inbox`). Only the HPR number travels: that
this person refused that practitioner is what the receiver needs to keep to it, nothing more.
"""

from __future__ import annotations

from typing import Any

from ipfhir.adapter.errors import NotFound
from ipfhir.adapter.ports import ResourceRepository, SearchParam, SearchQuery
from ipfhir.mappings.codes import ext_url
from ipfhir.mappings.identifiers import HPR_SYSTEM

__all__ = ["REFUSED_INDIVIDUAL", "carried_refusals", "refused_individuals", "refusal_extensions"]

Resource = dict[str, Any]
REFUSED_INDIVIDUAL = ext_url("ip-refused-individual")
_NARROWING = ("securityLabel", "class", "code", "purpose", "dataPeriod", "data")


def _in_force(consent: Resource, today: str) -> bool:
    period = (consent.get("provision") or {}).get("period") or {}
    start, end = str(period.get("start") or "")[:10], str(period.get("end") or "")[:10]
    return (
        consent.get("status") == "active"
        and (not start or start <= today)
        and (not end or today <= end)
    )


def _provisions(provision: Any) -> list[Resource]:
    found: list[Resource] = []
    stack = [provision]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.append(item)
            stack.extend(item.get("provision") or [])
    return found


def _hprs(repository: ResourceRepository, reference: str) -> set[str]:
    rtype, _, rid = reference.split("/_history/")[0].partition("/")
    try:
        resource = repository.read(rtype, rid) if rtype and rid else None
    except NotFound:
        resource = None
    if resource is None:
        return set()
    if rtype == "PractitionerRole":
        return _hprs(repository, str((resource.get("practitioner") or {}).get("reference", "")))
    if rtype != "Practitioner":
        return set()
    return {
        str(i["value"])
        for i in resource.get("identifier") or []
        if isinstance(i, dict) and i.get("system") == HPR_SYSTEM and i.get("value")
    }


def refused_individuals(repository: ResourceRepository, patient_id: str, today: str) -> list[str]:
    """HPR numbers of the practitioners the person refused outright (sorted)."""
    query = SearchQuery("Consent", (SearchParam("patient", (f"Patient/{patient_id}",)),), count=50)
    hprs: set[str] = set()
    for consent in repository.search(query).matches:
        if not _in_force(consent, today):
            continue
        for provision in _provisions(consent.get("provision")):
            if provision.get("type") != "deny" or any(provision.get(k) for k in _NARROWING):
                continue
            for actor in provision.get("actor") or []:
                reference = str(((actor or {}).get("reference") or {}).get("reference", ""))
                if reference.startswith(("Practitioner/", "PractitionerRole/")):
                    hprs |= _hprs(repository, reference)
    return sorted(hprs)


def carried_refusals(task: Resource) -> set[str]:
    """The HPR numbers a queued notification's Task names as refused."""
    return {
        str((ext.get("valueIdentifier") or {}).get("value"))
        for ext in task.get("extension") or []
        if isinstance(ext, dict) and ext.get("url") == REFUSED_INDIVIDUAL
    }


def refusal_extensions(hprs: list[str]) -> list[Resource]:
    return [
        {"url": REFUSED_INDIVIDUAL, "valueIdentifier": {"system": HPR_SYSTEM, "value": hpr}}
        for hpr in hprs
    ]
