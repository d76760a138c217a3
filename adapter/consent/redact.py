"""Element-level topics and dates of plan resources, and the redaction of elements (pure).

Topics are security labels from ``cs:ip-information-topic`` (any system is compared as a
(system, code) pair): ``meta.security`` on a resource (Goal), the ``ip-security-label``
extension on ``CarePlan.activity``, on ``CareTeam.participant`` and inside the ``ip-need`` /
``ip-resource`` extensions. :func:`strip_list` removes the rejected elements of one list; the
CarePlan (:func:`strip_elements`) and the CareTeam (:func:`strip_participants`) use it.
Dates used for ``dataPeriod``: ``Goal.startDate``; an activity's ``detail.scheduledPeriod.start``
or ``detail.scheduledTiming.repeat.boundsPeriod.start``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ipfhir.adapter.consent.provisions import Label
from ipfhir.mappings.codes import ext_url
from ipfhir.mappings.identifiers import DNR_SYSTEM, FNR_SYSTEM

__all__ = [
    "REDACTED",
    "Keep",
    "Removal",
    "activity_date",
    "element_labels",
    "element_sources",
    "mark_redacted",
    "resource_date",
    "resource_labels",
    "strip_elements",
    "strip_identifiers",
    "strip_list",
    "strip_participants",
]

Resource = dict[str, Any]
REDACTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "REDACTED",
    "display": "redacted",
}
_LABEL_EXT = ext_url("ip-security-label")
_ITEM_EXTS = (ext_url("ip-need"), ext_url("ip-resource"))
_NEED_LINK = ext_url("ip-meets-need")


@dataclass(frozen=True)
class Removal:
    """An element removed from a disclosed resource, and the rule (if any) that removed it."""

    path: str  # FHIRPath, e.g. "CarePlan.activity[2]"
    reason: str


def resource_labels(resource: Mapping[str, Any]) -> frozenset[Label]:
    return frozenset(
        (str(c.get("system")), str(c.get("code")))
        for c in resource.get("meta", {}).get("security", [])
    )


def element_labels(element: Mapping[str, Any]) -> frozenset[Label]:
    return frozenset(
        (str(e["valueCoding"].get("system")), str(e["valueCoding"].get("code")))
        for e in element.get("extension", [])
        if e.get("url") == _LABEL_EXT and isinstance(e.get("valueCoding"), dict)
    )


def element_sources(
    element: Mapping[str, Any], resolve: Callable[[str], Mapping[str, Any] | None]
) -> frozenset[str]:
    """Where an element's information comes from: a participant's member, an activity's
    performers, and the organisation of each PractitionerRole among them (``resolve`` reads a
    resource of the plan by reference)."""
    refs = [str((element.get("member") or {}).get("reference", ""))]
    detail = element.get("detail")
    if isinstance(detail, Mapping):
        refs += [str(p.get("reference", "")) for p in detail.get("performer", []) or []]
    out = {r.split("/_history/")[0] for r in refs if r}
    for ref in list(out):
        role = resolve(ref) if ref.startswith("PractitionerRole/") else None
        org = (role or {}).get("organization") or {}
        if org.get("reference"):
            out.add(str(org["reference"]).split("/_history/")[0])
    return frozenset(out)


def resource_date(resource: Mapping[str, Any]) -> str | None:
    if resource.get("resourceType") == "Goal" and resource.get("startDate"):
        return str(resource["startDate"])[:10]
    return None


def activity_date(activity: Mapping[str, Any]) -> str | None:
    detail = activity.get("detail", {})
    start = detail.get("scheduledPeriod", {}).get("start") or detail.get("scheduledTiming", {}).get(
        "repeat", {}
    ).get("boundsPeriod", {}).get("start")
    return str(start)[:10] if start else None


# keep(element, path) -> reason to remove, or None to keep
Keep = Callable[[Mapping[str, Any], str], str | None]


def strip_list(resource: Resource, key: str, judge: Keep) -> list[Removal]:
    """Remove from ``resource[key]`` (in place) the elements ``judge`` rejects; an emptied list
    goes altogether. Paths name elements of the list as it was (``CareTeam.participant[3]``)."""
    if key not in resource:
        return []
    base = f"{resource.get('resourceType')}.{key}"
    kept, removed = [], []
    for index, element in enumerate(resource[key]):
        why = judge(element, f"{base}[{index}]")
        if why is None:
            kept.append(element)
        else:
            removed.append(Removal(f"{base}[{index}]", why))
    if not removed:
        return removed
    resource[key] = kept  # a new list: the old one (perhaps shared with the original) stays
    if not kept:
        del resource[key]
    return removed


def strip_elements(
    plan: Resource, activity: Keep, item: Keep, reference: Callable[[str], str | None]
) -> tuple[Resource, list[Removal]]:
    """A CarePlan without the activities, need/resource items and references the callbacks
    reject; paths in the result name elements of the *original* resource. The original is never
    changed: the result is a shallow copy whose changed lists and activities are new objects
    (unchanged elements are shared), and ``plan`` itself when nothing was removed."""
    out = dict(plan)
    removed: list[Removal] = []
    if isinstance(out.get("activity"), list):
        out["activity"] = [
            _without_hidden_goals(act, index, reference, removed)
            for index, act in enumerate(out["activity"])
        ]
    removed += strip_list(out, "activity", activity)
    removed += strip_list(out, "extension", lambda e, p: item(e, p) if _is_item(e) else None)
    _without_removed_needs(plan, out, removed)
    removed += strip_list(out, "goal", _ref_judge(reference))
    removed += strip_list(out, "supportingInfo", _ref_judge(reference))
    return (out, removed) if removed else (plan, removed)


def _without_hidden_goals(
    act: Any, index: int, reference: Callable[[str], str | None], removed: list[Removal]
) -> Any:
    """``act`` itself, or a copy (activity and detail) without the goal references rejected."""
    detail = act.get("detail") if isinstance(act, dict) else None
    if not isinstance(detail, dict) or not detail.get("goal"):
        return act
    goals = [g for g in detail["goal"] if reference(str(g.get("reference", ""))) is None]
    if len(goals) == len(detail["goal"]):
        return act
    path = f"CarePlan.activity[{index}].detail.goal"
    removed.append(Removal(path, "reference to a goal the recipient may not see"))
    new_detail = {k: v for k, v in detail.items() if k != "goal"}
    if goals:
        new_detail["goal"] = goals
    return {**act, "detail": new_detail}


def _without_removed_needs(plan: Resource, out: Resource, removed: list[Removal]) -> None:
    """Drop from the kept activities the ip-meets-need links to needs that were removed (a link
    would name what the recipient may not see)."""
    if not removed or not isinstance(out.get("activity"), list):
        return
    kept = {e.get("id") for e in out.get("extension", []) if _is_item(e)}
    gone = {e.get("id") for e in plan.get("extension", []) if _is_item(e)} - kept
    if not gone:
        return
    index = {a.get("id"): i for i, a in enumerate(plan.get("activity", [])) if isinstance(a, dict)}
    acts = []
    for act in out["activity"]:
        links = [e for e in act.get("extension", []) if e.get("url") == _NEED_LINK]
        hidden = [e for e in links if e.get("valueString") in gone]
        if hidden:
            at = f"CarePlan.activity[{index.get(act.get('id'), '?')}].extension"
            removed.append(Removal(at, "link to a need the recipient may not see"))
            act = {**act, "extension": [e for e in act["extension"] if e not in hidden]}
            if not act["extension"]:
                del act["extension"]
        acts.append(act)
    out["activity"] = acts


def strip_participants(team: Resource, participant: Keep) -> tuple[Resource, list[Removal]]:
    """A CareTeam without the participants ``participant`` rejects (a participant labelled with
    a refused topic goes whole: member, role and contribution); ``team`` itself is never
    changed (shallow copy, or ``team`` when nothing was removed)."""
    out = dict(team)
    removed = strip_list(out, "participant", participant)
    return (out, removed) if removed else (team, removed)


def strip_identifiers(person: Resource) -> tuple[Resource, list[Removal]]:
    """A RelatedPerson without its national identity numbers (fødselsnummer, D-nummer);
    ``person`` itself is never changed."""
    out = dict(person)

    def national(element: Mapping[str, Any], _path: str) -> str | None:
        if element.get("system") in (FNR_SYSTEM, DNR_SYSTEM):
            return "a relative's national identity number is shown to the owner and coordinator"
        return None

    removed = strip_list(out, "identifier", national)
    return (out, removed) if removed else (person, removed)


def _ref_judge(reference: Callable[[str], str | None]) -> Keep:
    return lambda e, p: reference(str(e.get("reference", "")))


def _is_item(extension: Mapping[str, Any]) -> bool:
    return extension.get("url") in _ITEM_EXTS


def mark_redacted(resource: Resource) -> Resource:
    """Add ``meta.security`` REDACTED (once) and drop the narrative (``text``: written for the
    whole resource, it may repeat what was removed). ``resource["meta"]`` is replaced, not
    changed: the meta of a shallow copy stays the original's."""
    resource.pop("text", None)
    meta = dict(resource.get("meta") or {})
    security = list(meta.get("security", []))
    if not any(s.get("code") == "REDACTED" for s in security):
        security.append(dict(REDACTED))
    meta["security"] = security
    resource["meta"] = meta
    return resource
