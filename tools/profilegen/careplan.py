"""Differentials of ip-careplan (CarePlan), ip-careteam (CareTeam) and ip-goal (Goal).

Each constrains what profiles/mapping-table.md relies on; invariants carry the plan rules that
one resource can show on its own (the rule's message id in ``mappings/rules.py`` is named in the
human text where there is one).
"""

from __future__ import annotations

from ipfhir.mappings import codes
from profilegen.elements import (
    URL_SLICING,
    Element,
    constraint,
    el,
    extension_slice,
    pattern_slicing,
    project_url,
    reference,
    required,
)

__all__ = ["careplan", "careteam", "coordinator_assignment", "goal"]

_PARTIES = ("Patient", "RelatedPerson", "PractitionerRole", "Organization")
_COORDINATOR = (
    f"role.coding.where((system = '{codes.SYSTEM_9034}' and (code = '8' or code = '18')) "
    f"or system = '{codes.cs_url('ip-coordinator-role')}').exists()"
)


def _extensions(at: str, slices: list[tuple[str, str, int, str]]) -> list[Element]:
    elements = [el(at, slicing=URL_SLICING)]
    for name, extension, min_, max_ in slices:
        elements.extend(extension_slice(at, name, extension, min_, max_))
    return elements


def careplan() -> list[Element]:
    return [
        el("CarePlan", short="Individuell plan", definition="One person's individual plan "
           "(the content list, items a–i, of forskrift om individuell plan ved ytelse av "
           "velferdstjenester)."),
        *_extensions("CarePlan.extension", [
            ("evaluationDate", "ip-evaluation-date", 0, "*"),
            ("revisionDate", "ip-revision-date", 0, "*"),
            ("need", "ip-need", 0, "*"),
            ("resource", "ip-resource", 0, "*"),
            ("cooperation", "ip-cooperation", 0, "*"),
            ("complaintInformation", "ip-complaint-information", 0, "1"),
            ("legalBasis", "ip-legal-basis", 0, "*"),
            ("approval", "ip-plan-approval", 0, "*"),
            ("madeBy", "ip-made-by", 0, "1"),
        ]),
        el("CarePlan.intent", fixedCode="plan"),
        el("CarePlan.category", min=1, slicing=pattern_slicing("The document type 9602 A02-2")),
        el("CarePlan.category:individuellPlan", sliceName="individuellPlan", min=1, max="1",
           patternCodeableConcept={"coding": [{"system": codes.SYSTEM_9602, "code": "A02-2"}]}),
        el("CarePlan.subject", type=reference("Patient")),
        el("CarePlan.period", min=1),
        el("CarePlan.created", min=1),
        el("CarePlan.author", min=1, type=reference("Organization")),
        el("CarePlan.careTeam", min=1, max="1", type=reference("ip-careteam")),
        el("CarePlan.supportingInfo", min=1,
           short="The plan consent, then the sharing consent (content list item h)",
           type=reference("ip-plan-consent", "ip-sharing-consent")),
        el("CarePlan.goal", type=reference("ip-goal")),
        el("CarePlan.activity", short="A measure (tiltak, content list items e–f)", constraint=[
            constraint("ip-careplan-1", "A measure carries its local id as element id.",
                       "id.exists()")]),
        *_extensions("CarePlan.activity.extension",
                     [("securityLabel", "ip-security-label", 0, "1"),
                      ("aimedAtParents", "ip-aimed-at-parents", 0, "1"),
                      ("meetsNeed", "ip-meets-need", 0, "*")]),
        el("CarePlan.activity.detail", min=1),
        *_extensions("CarePlan.activity.detail.extension",
                     [("measureExtent", "ip-measure-extent", 0, "1"),
                      ("decision", "ip-decision", 0, "1")]),
        el("CarePlan.activity.detail.code", min=1),
        el("CarePlan.activity.detail.code.text", min=1, short="The measure's title"),
        el("CarePlan.activity.detail.goal", type=reference("ip-goal")),
        el("CarePlan.activity.detail.scheduled[x]", type=[{"code": "Timing"}, {"code": "Period"}]),
        el("CarePlan.activity.detail.performer", min=1,
           short="Who is responsible for the measure (the first performer)",
           type=reference(*_PARTIES)),
    ]  # fmt: skip


def careteam() -> list[Element]:
    handover = project_url("ip-coordinator-handover")
    frequency = project_url("ip-contact-frequency")
    return [
        el("CareTeam", short="Who takes part in the plan work (content list items b, c)",
           constraint=[
            constraint("ip-careteam-1", "An active plan has a coordinator (IP-1012, item c).",
                       f"status = 'active' implies participant.where({_COORDINATOR}).exists()")]),
        el("CareTeam.subject", min=1, type=reference("Patient")),
        el("CareTeam.participant", min=1, constraint=[
            constraint("ip-careteam-2", "A coordinator assignment carries its local id as element "
                       "id and a period with a start (IP-1012).",
                       f"{_COORDINATOR} implies (id.exists() and period.start.exists())"),
            constraint("ip-careteam-3", "Handover and contact frequency belong to coordinators.",
                       f"(extension('{handover}').exists() or extension('{frequency}').exists()) "
                       f"implies {_COORDINATOR}")]),
        *_extensions("CareTeam.participant.extension", [
            ("contribution", "ip-contribution", 0, "1"),
            ("coordinatorHandover", "ip-coordinator-handover", 0, "1"),
            ("contactFrequency", "ip-contact-frequency", 0, "1"),
            ("securityLabel", "ip-security-label", 0, "1"),
        ]),
        el("CareTeam.participant.role", min=1, max="1",
           binding=required("ip-careteam-participant-role")),
        el("CareTeam.participant.member", min=1, type=reference(*_PARTIES)),
        el("CareTeam.managingOrganization", min=1, max="1", type=reference("Organization")),
    ]  # fmt: skip


def coordinator_assignment() -> list[Element]:
    """A coordinator assignment on its own (seed 004_feb800c0c7d43aa8.txt): a barnekoordinator
    for a family, before birth, without a plan — one team per person covered, sharing the
    assignment's identifier; mappings/assignment_fhir.py."""
    category = codes.cs_url("ip-careteam-category")
    return [
        el("CareTeam", short="Tildelt koordinator eller barnekoordinator (uten plan)",
           constraint=[
            constraint("ip-assignment-1", "An active assignment has a coordinator (IP-1012).",
                       f"status = 'active' implies participant.where({_COORDINATOR}).exists()")]),
        *_extensions("CareTeam.extension", [
            ("created", "ip-assignment-created", 1, "1"),
            ("decision", "ip-decision", 0, "1"),
        ]),
        el("CareTeam.identifier", min=1, short="The assignment's id (ASSIGNMENT_ID_SYSTEM), the "
           "same on the team of every person it covers"),
        el("CareTeam.status", min=1),
        el("CareTeam.category", min=1, slicing=pattern_slicing("The assignment's category")),
        el("CareTeam.category:tildeling", sliceName="tildeling", min=1, max="1",
           patternCodeableConcept={"coding": [{"system": category,
                                               "code": "koordinator-tildeling"}]}),
        el("CareTeam.subject", min=1, short="The person covered (one team per child)",
           type=reference("Patient")),
        el("CareTeam.period", short="From when (and until when) the person is covered; for a "
           "child born during the assignment, from before the birth"),
        el("CareTeam.participant", min=1, constraint=[
            constraint("ip-assignment-2", "A coordinator assignment carries its local id as "
                       "element id and a period with a start (IP-1012).",
                       f"{_COORDINATOR} implies (id.exists() and period.start.exists())")]),
        *_extensions("CareTeam.participant.extension", [
            ("contribution", "ip-contribution", 0, "1"),
            ("coordinatorHandover", "ip-coordinator-handover", 0, "1"),
            ("contactFrequency", "ip-contact-frequency", 0, "1"),
        ]),
        el("CareTeam.participant.role", min=1, max="1",
           binding=required("ip-careteam-participant-role")),
        el("CareTeam.participant.member", min=1, type=reference(*_PARTIES)),
        el("CareTeam.managingOrganization", min=1, max="1", type=reference("Organization")),
    ]  # fmt: skip


def goal() -> list[Element]:
    parent = project_url("ip-goal-parent")
    delmal = f"system = '{codes.cs_url('ip-goal-level')}' and code = 'delmal'"
    return [
        el("Goal", short="A goal in the person's own words (content list item a)", constraint=[
            constraint("ip-goal-1", "Only a delmål belongs to a hovedmål (IP-1030).",
                       f"extension('{parent}').exists() implies "
                       f"category.coding.where({delmal}).exists()")]),
        el("Goal.meta.security", short="The goal's information topic",
           binding={"strength": "extensible",
                    "valueSet": f"{codes.BASE}/ValueSet/ip-information-topic"}),
        *_extensions("Goal.extension", [("parent", "ip-goal-parent", 0, "1")]),
        el("Goal.category", min=1, max="1", binding=required("ip-goal-level")),
        el("Goal.description.text", min=1,
           short="The goal as the person wrote it; never rewritten"),
        el("Goal.subject", type=reference("Patient")),
        el("Goal.expressedBy", short="Whose words the goal is: the person, a relative or "
                                      "guardian, or a practitioner writing for them",
           type=reference("Patient", "RelatedPerson", "PractitionerRole")),
    ]  # fmt: skip
