"""Plan → FHIR R4: a transaction Bundle of CarePlan, CareTeam, Goals, two Consents and the
no-basis Patient, Practitioner, PractitionerRole, Organization and RelatedPerson they reference.

The table in ``profiles/mapping-table.md`` is the contract; :mod:`mappings.from_fhir` is the
inverse.
"""

from __future__ import annotations

from ipfhir.mappings import codes
from ipfhir.mappings.evidence import approvals_to_fhir, decision_to_fhir, legal_basis_to_fhir
from ipfhir.mappings.fhir_common import (
    Json,
    ext,
    full_url,
    patient_id,
    period_to_fhir,
    ref,
    scoped_id,
)
from ipfhir.mappings.free_text import free_text_to_fhir, text_extension
from ipfhir.mappings.model import (
    CoordinatorAssignment,
    FreeText,
    Goal,
    Measure,
    NeedOrResource,
    PartyHolder,
    Plan,
)
from ipfhir.mappings.to_fhir_consent import consent_resource
from ipfhir.mappings.to_fhir_parties import party_reference, party_resources, patient_resource

__all__ = [
    "IP_CATEGORY",
    "ROLE_BY_KIND",
    "coordinator_participant",
    "participant_role",
    "plan_resources",
    "plan_to_bundle",
    "team_participant",
]

IP_CATEGORY = {
    "system": codes.SYSTEM_9602,
    "code": codes.IP_PLAN_CODE,
    "display": "Individuell plan",
}
# The responsibility group lives as long as the plan does.
_CARE_TEAM_STATUS = {
    "draft": "proposed",
    "active": "active",
    "on-hold": "suspended",
    "revoked": "inactive",
    "completed": "inactive",
}
ROLE_BY_KIND = {
    "relative": "parorende",
    "guardian": "verge",
    "support-person": "stotteperson",
    "practitioner": "tjenesteyter",
    "organisation": "samarbeidspart",
}


def plan_to_bundle(plan: Plan) -> Json:
    """The plan as a FHIR transaction Bundle (PUT of every resource, relative references)."""
    entries = []
    for resource in plan_resources(plan):
        rtype, rid = resource["resourceType"], resource["id"]
        entries.append(
            {
                "fullUrl": full_url(rtype, rid),
                "resource": resource,
                "request": {"method": "PUT", "url": f"{rtype}/{rid}"},
            }
        )
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def plan_resources(plan: Plan) -> list[Json]:
    consents = [plan.plan_consent] + ([plan.sharing_consent] if plan.sharing_consent else [])
    return [
        patient_resource(plan.person, plan.id),
        *party_resources(plan),
        *(_goal(plan, g) for g in plan.goals),
        *(consent_resource(plan, c) for c in consents),
        _care_team(plan),
        _care_plan(plan),
    ]


def _topic_coding(topic: str) -> Json:
    return {"system": codes.cs_url("ip-information-topic"), "code": topic}


def _goal(plan: Plan, goal: Goal) -> Json:
    meta: Json = {"profile": [codes.profile_url("ip-goal")]}
    if goal.topic is not None:
        meta["security"] = [_topic_coding(goal.topic)]
    resource: Json = {"resourceType": "Goal", "id": scoped_id(plan.id, goal.id), "meta": meta}
    if goal.part_of is not None:
        resource["extension"] = [
            ext("ip-goal-parent", "valueReference", ref("Goal", scoped_id(plan.id, goal.part_of)))
        ]
    resource["lifecycleStatus"] = goal.status
    resource["category"] = [
        {"coding": [{"system": codes.cs_url("ip-goal-level"), "code": goal.level}]}
    ]
    resource["description"] = {"text": goal.text}
    resource["subject"] = ref("Patient", patient_id(plan.id))
    if goal.start is not None:
        resource["startDate"] = goal.start.isoformat()
    if goal.target_date is not None:
        resource["target"] = [{"dueDate": goal.target_date.isoformat()}]
    resource["expressedBy"] = party_reference(plan, goal.expressed_by)
    return resource


def team_participant(
    role: Json, member: Json, contribution: FreeText | None, topic: str | None
) -> Json:
    """A participant (item b) with its contribution (item d) and the topic of both."""
    participant: Json = {}
    extensions = []
    if contribution is not None:
        extensions.append(text_extension(codes.ext_url("ip-contribution"), contribution))
    if topic is not None:
        extensions.append(ext("ip-security-label", "valueCoding", _topic_coding(topic)))
    if extensions:
        participant["extension"] = extensions
    participant["role"] = [role]
    participant["member"] = member
    return participant


def participant_role(code: str) -> Json:
    return {"coding": [{"system": codes.cs_url("ip-participant-role"), "code": code}]}


def coordinator_participant(plan: PartyHolder, assignment: CoordinatorAssignment) -> Json:
    system, code, display = codes.COORDINATOR_ROLE[(assignment.kind, assignment.service_level)]
    participant: Json = {"id": assignment.id}
    extensions = []
    if assignment.handover_from is not None:
        extensions.append(ext("ip-coordinator-handover", "valueString", assignment.handover_from))
    if assignment.contact_frequency is not None:
        extensions.append(ext("ip-contact-frequency", "valueString", assignment.contact_frequency))
    if extensions:
        participant["extension"] = extensions
    participant["role"] = [{"coding": [{"system": system, "code": code, "display": display}]}]
    participant["member"] = party_reference(plan, assignment.party)
    period = period_to_fhir(assignment.period)
    if period:
        participant["period"] = period
    return participant


def _care_team(plan: Plan) -> Json:
    patient = ref("Patient", patient_id(plan.id))
    participants = [
        team_participant(
            participant_role("tjenestemottaker"),
            patient,
            plan.person_contribution,
            plan.person_contribution_topic,
        )
    ]
    for party in plan.parties:
        if party.takes_part:
            role, member = (
                participant_role(ROLE_BY_KIND[party.kind]),
                party_reference(plan, party.id),
            )
            participants.append(team_participant(role, member, party.contribution, party.topic))
    participants.extend(coordinator_participant(plan, c) for c in plan.coordinators)
    return {
        "resourceType": "CareTeam",
        "id": plan.id,
        "meta": {"profile": [codes.profile_url("ip-careteam")]},
        "status": _CARE_TEAM_STATUS[plan.status],
        "name": "Ansvarsgruppe – individuell plan",
        "subject": patient,
        "participant": participants,
        "managingOrganization": [party_reference(plan, plan.responsible_organisation)],
    }


def _need(name: str, item: NeedOrResource) -> Json:
    parts: list[Json] = [{"url": "text", "valueString": item.text}]
    if item.topic is not None:
        parts.append(ext("ip-security-label", "valueCoding", _topic_coding(item.topic)))
    return {"id": item.id, "url": codes.ext_url(name), "extension": parts}


def _plan_extensions(plan: Plan) -> list[Json]:
    out: list[Json] = []
    out += [ext("ip-evaluation-date", "valueDate", d.isoformat()) for d in plan.evaluation_dates]
    out += [ext("ip-revision-date", "valueDate", d.isoformat()) for d in plan.revision_dates]
    out += [_need("ip-resource", r) for r in plan.resources]
    out += [_need("ip-need", n) for n in plan.needs]
    for co in plan.cooperation:
        parts = [
            {"url": "organization", "valueReference": party_reference(plan, co.party)},
            text_extension("description", co.description),
            {"url": "necessity", "valueCode": co.necessity},
        ]
        out.append({"url": codes.ext_url("ip-cooperation"), "extension": parts})
    if plan.complaint_information is not None:
        out.append(ext("ip-complaint-information", "valueString", plan.complaint_information))
    made_by = []
    if plan.made_by is not None:
        made_by.append(ext("ip-made-by", "valueReference", party_reference(plan, plan.made_by)))
    return [*out, *legal_basis_to_fhir(plan), *approvals_to_fhir(plan), *made_by]


def _activity(plan: Plan, measure: Measure) -> Json:
    code: Json = {"text": measure.title}
    if measure.service_type is not None:
        code["coding"] = [{"system": codes.SYSTEM_9151, "code": measure.service_type}]
    detail: Json = {}
    detail_extensions = []
    if measure.extent is not None:
        detail_extensions.append(ext("ip-measure-extent", "valueString", measure.extent))
    if measure.decision is not None:
        detail_extensions.append(decision_to_fhir(plan, measure.decision))
    if detail_extensions:
        detail["extension"] = detail_extensions
    detail["code"] = code
    if measure.goals:
        detail["goal"] = [ref("Goal", scoped_id(plan.id, g)) for g in measure.goals]
    detail["status"] = measure.status
    period = period_to_fhir(measure.period)
    if measure.frequency is not None:
        repeat: Json = {
            "frequency": measure.frequency.count,
            "period": measure.frequency.period,
            "periodUnit": measure.frequency.unit,
        }
        if period:
            repeat = {"boundsPeriod": period, **repeat}
        detail["scheduledTiming"] = {"repeat": repeat}
    elif period:
        detail["scheduledPeriod"] = period
    detail["performer"] = [party_reference(plan, measure.responsible)]
    if measure.how is not None:
        detail["description"] = measure.how
    activity: Json = {"id": measure.id}
    extensions = []
    if measure.topic is not None:
        extensions.append(ext("ip-security-label", "valueCoding", _topic_coding(measure.topic)))
    if measure.aimed_at_parents:
        extensions.append(ext("ip-aimed-at-parents", "valueBoolean", True))
    extensions += [ext("ip-meets-need", "valueString", need) for need in measure.needs]
    if extensions:
        activity["extension"] = extensions
    activity["detail"] = detail
    return activity


def _care_plan(plan: Plan) -> Json:
    consents = [plan.plan_consent] + ([plan.sharing_consent] if plan.sharing_consent else [])
    resource: Json = {
        "resourceType": "CarePlan",
        "id": plan.id,
        "meta": {"profile": [codes.profile_url("ip-careplan")]},
        "language": plan.language,
    }
    extensions = _plan_extensions(plan)
    if extensions:
        resource["extension"] = extensions
    resource.update(
        {
            "status": plan.status,
            "intent": "plan",
            "category": [{"coding": [dict(IP_CATEGORY)]}],
            "title": plan.title,
        }
    )
    if plan.situation is not None:
        resource.update(free_text_to_fhir("description", plan.situation))
    resource["subject"] = ref("Patient", patient_id(plan.id))
    period = period_to_fhir(plan.period)
    if period:
        resource["period"] = period
    resource["created"] = plan.created.isoformat()
    resource["author"] = party_reference(plan, plan.responsible_organisation)
    if plan.in_cooperation_with:
        resource["contributor"] = [party_reference(plan, p) for p in plan.in_cooperation_with]
    resource["careTeam"] = [ref("CareTeam", plan.id)]
    resource["supportingInfo"] = [ref("Consent", scoped_id(plan.id, c.id)) for c in consents]
    if plan.goals:
        resource["goal"] = [ref("Goal", scoped_id(plan.id, g.id)) for g in plan.goals]
    if plan.measures:
        resource["activity"] = [_activity(plan, m) for m in plan.measures]
    return resource
