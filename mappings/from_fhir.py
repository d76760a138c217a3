"""FHIR R4 → plan: the inverse of :mod:`mappings.to_fhir` (see ``profiles/mapping-table.md``).

:func:`bundle_to_plan` accepts the transaction Bundle the adapter writes, a ``$everything`` or
searchset Bundle of the same resources, with relative or ``urn:uuid`` references, and returns a
checked :class:`~mappings.model.Plan` (the plan's rules apply to what comes from FHIR as well).
"""

from __future__ import annotations

from typing import Any

from ipfhir.mappings import codes
from ipfhir.mappings.errors import MappingError
from ipfhir.mappings.evidence import approvals_from_fhir, decision_from_fhir
from ipfhir.mappings.fhir_common import Json, ext_values, find_ext, period_from_fhir
from ipfhir.mappings.free_text import free_text_from_fhir, free_text_of_extension
from ipfhir.mappings.from_fhir_consent import consent_from_fhir
from ipfhir.mappings.from_fhir_index import BundleIndex
from ipfhir.mappings.from_fhir_parties import (
    contribution_of,
    element_topic,
    parties_from_fhir,
    person_from_fhir,
    topic_code,
)
from ipfhir.mappings.model import Plan
from ipfhir.mappings.rules import load_plan

__all__ = ["bundle_to_plan", "bundle_to_plan_json", "coordinators_from_fhir"]

_COORDINATOR = {(system, code): key for key, (system, code, _d) in codes.COORDINATOR_ROLE.items()}


def bundle_to_plan(bundle: Any) -> Plan:
    return load_plan(bundle_to_plan_json(bundle))


def bundle_to_plan_json(bundle: Any) -> Json:
    """Plan JSON read from a Bundle, not yet checked against the plan's rules."""
    index = BundleIndex(bundle)
    plans = [
        r
        for r in index.of_type("CarePlan")
        if any(
            c.get("system") == codes.SYSTEM_9602 and c.get("code") == codes.IP_PLAN_CODE
            for cat in r.get("category", [])
            for c in cat.get("coding", [])
        )
    ]
    if len(plans) != 1:
        raise MappingError.single(
            "IP-2105",
            "Expected exactly one individual plan (CarePlan with category "
            f"9602#{codes.IP_PLAN_CODE}), found {len(plans)}.",
            "Bundle.entry.resource.ofType(CarePlan)",
            "structure",
        )
    care_plan = plans[0]
    index.plan_id = str(care_plan.get("id", ""))
    care_team = index.resolve((care_plan.get("careTeam") or [None])[0], "CarePlan.careTeam[0]")
    patient = index.resolve(care_plan.get("subject"), "CarePlan.subject")
    plan: dict[str, Any] = {
        "id": index.plan_id,
        "status": care_plan.get("status"),
        "title": care_plan.get("title"),
        "language": care_plan.get("language"),
        "created": care_plan.get("created"),
        "person": person_from_fhir(patient),
        "responsible_organisation": index.party_id(care_plan.get("author"), "CarePlan.author"),
        "parties": parties_from_fhir(index, care_team),
        "coordinators": coordinators_from_fhir(index, care_team),
        "goals": [
            _goal(index, r, f"CarePlan.goal[{i}]") for i, r in enumerate(care_plan.get("goal", []))
        ],
        "resources": _needs(care_plan, "ip-resource"),
        "needs": _needs(care_plan, "ip-need"),
        "measures": [
            _measure(index, a, f"CarePlan.activity[{i}]")
            for i, a in enumerate(care_plan.get("activity", []))
        ],
        "period": period_from_fhir(care_plan.get("period")),
        "evaluation_dates": ext_values(care_plan, "ip-evaluation-date", "valueDate"),
        "revision_dates": ext_values(care_plan, "ip-revision-date", "valueDate"),
        "cooperation": _cooperation(index, care_plan),
        "legal_basis": [
            c.get("code") for c in ext_values(care_plan, "ip-legal-basis", "valueCoding")
        ],
        "approvals": approvals_from_fhir(index, care_plan),
        "in_cooperation_with": [
            index.party_id(c, f"CarePlan.contributor[{i}]")
            for i, c in enumerate(care_plan.get("contributor", []))
        ],
    }
    made_by = ext_values(care_plan, "ip-made-by", "valueReference")
    if made_by:
        plan["made_by"] = index.party_id(made_by[0], "CarePlan.extension:madeBy")
    _optional(plan, "situation", free_text_from_fhir(care_plan, "description", "CarePlan"))
    _optional(
        plan,
        "complaint_information",
        _first(ext_values(care_plan, "ip-complaint-information", "valueString")),
    )
    person = _person_participant(care_team)
    if person is not None:
        _optional(plan, "person_contribution", contribution_of(person))
        _optional(plan, "person_contribution_topic", element_topic(person))
    for i, reference in enumerate(care_plan.get("supportingInfo", [])):
        consent = index.resolve(reference, f"CarePlan.supportingInfo[{i}]")
        if consent["resourceType"] == "Consent":
            key, value = consent_from_fhir(index, consent, f"CarePlan.supportingInfo[{i}]")
            plan[key] = value
    return {k: v for k, v in plan.items() if v is not None}


def _first(values: list[Any]) -> Any:
    return values[0] if values else None


def _optional(plan: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        plan[key] = value


def _person_participant(care_team: Json) -> Json | None:
    """The person's own participant (role tjenestemottaker) of the CareTeam, if any."""
    for participant in care_team.get("participant", []):
        codings = [c for role in participant.get("role", []) for c in role.get("coding", [])]
        if any(c.get("code") == "tjenestemottaker" for c in codings):
            found: Json = participant
            return found
    return None


def coordinators_from_fhir(index: BundleIndex, care_team: Json) -> list[Json]:
    """The coordinator assignments among a CareTeam's participants (item c)."""
    out = []
    for i, participant in enumerate(care_team.get("participant", [])):
        codings = [c for role in participant.get("role", []) for c in role.get("coding", [])]
        key = next(
            (
                _COORDINATOR[(c.get("system"), c.get("code"))]
                for c in codings
                if (c.get("system"), c.get("code")) in _COORDINATOR
            ),
            None,
        )
        if key is None:
            continue
        path = f"CareTeam.participant[{i}]"
        assignment: dict[str, Any] = {
            "id": participant.get("id"),
            "party": index.party_id(participant.get("member"), f"{path}.member"),
            "kind": key[0],
            "service_level": key[1],
            "period": period_from_fhir(participant.get("period")),
        }
        _optional(
            assignment,
            "handover_from",
            _first(ext_values(participant, "ip-coordinator-handover", "valueString")),
        )
        _optional(
            assignment,
            "contact_frequency",
            _first(ext_values(participant, "ip-contact-frequency", "valueString")),
        )
        out.append(assignment)
    return out


def _goal(index: BundleIndex, reference: Json, path: str) -> Json:
    goal = index.resolve(reference, path)
    level = [
        c.get("code")
        for cat in goal.get("category", [])
        for c in cat.get("coding", [])
        if c.get("system") == codes.cs_url("ip-goal-level")
    ]
    out: dict[str, Any] = {
        "id": index.local_id(goal, path),
        "text": goal.get("description", {}).get("text"),
        "status": goal.get("lifecycleStatus"),
    }
    _optional(out, "level", _first(level))
    parents = ext_values(goal, "ip-goal-parent", "valueReference")
    if parents:
        out["part_of"] = index.local_id(index.resolve(parents[0], f"{path}.extension"), path)
    _optional(out, "start", goal.get("startDate"))
    _optional(
        out,
        "target_date",
        _first([t.get("dueDate") for t in goal.get("target", []) if "dueDate" in t]),
    )
    _optional(out, "topic", topic_code(goal.get("meta", {}).get("security", [])))
    if goal.get("expressedBy") is not None:
        out["expressed_by"] = index.party_id(goal["expressedBy"], f"{path}.expressedBy")
    return out


def _needs(care_plan: Json, name: str) -> list[Json]:
    out = []
    for extension in find_ext(care_plan, name):
        parts = extension.get("extension", [])
        item: dict[str, Any] = {
            "id": extension.get("id"),
            "text": next((p.get("valueString") for p in parts if p.get("url") == "text"), None),
        }
        _optional(item, "topic", element_topic(extension))
        out.append(item)
    return out


def _measure(index: BundleIndex, activity: Json, path: str) -> Json:
    detail = activity.get("detail", {})
    code = detail.get("code", {})
    measure: dict[str, Any] = {
        "id": activity.get("id"),
        "title": code.get("text"),
        "responsible": index.party_id(
            (detail.get("performer") or [None])[0], f"{path}.detail.performer[0]"
        ),
        "status": detail.get("status"),
        "goals": [
            index.local_id(index.resolve(g, f"{path}.detail.goal[{i}]"), path)
            for i, g in enumerate(detail.get("goal", []))
        ],
    }
    _optional(measure, "how", detail.get("description"))
    _optional(measure, "extent", _first(ext_values(detail, "ip-measure-extent", "valueString")))
    repeat = detail.get("scheduledTiming", {}).get("repeat")
    if repeat is not None:
        measure["frequency"] = {
            "count": repeat.get("frequency"),
            "period": repeat.get("period"),
            "unit": repeat.get("periodUnit"),
        }
        measure["period"] = period_from_fhir(repeat.get("boundsPeriod"))
    else:
        measure["period"] = period_from_fhir(detail.get("scheduledPeriod"))
    service = [
        c.get("code") for c in code.get("coding", []) if c.get("system") == codes.SYSTEM_9151
    ]
    _optional(measure, "service_type", _first(service))
    _optional(measure, "topic", element_topic(activity))
    if ext_values(activity, "ip-aimed-at-parents", "valueBoolean") == [True]:
        measure["aimed_at_parents"] = True
    measure["needs"] = ext_values(activity, "ip-meets-need", "valueString")
    _optional(measure, "decision", decision_from_fhir(index, detail, path))
    return measure


def _cooperation(index: BundleIndex, care_plan: Json) -> list[Json]:
    out = []
    for i, extension in enumerate(find_ext(care_plan, "ip-cooperation")):
        parts = {p.get("url"): p for p in extension.get("extension", [])}
        out.append(
            {
                "party": index.party_id(
                    parts.get("organization", {}).get("valueReference"),
                    f"CarePlan.extension:cooperation[{i}]",
                ),
                "description": free_text_of_extension(parts.get("description", {})),
                "necessity": parts.get("necessity", {}).get("valueCode", "necessary"),
            }
        )
    return out
