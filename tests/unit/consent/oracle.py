"""An oracle for who may see what, written from the requirements over the *generated plan data*
(builders.PlanSpec), independent of adapter.consent: plain set logic, no FHIR walking.

Rules (shared/domain § 5, seed 002 vedlegg 2, the project's documented choices):
- a sharing consent is in force when active, not revoked by today, and today is in its period;
- a person/organisation the person refused (in force) sees nothing, whoever they are;
- otherwise the owning organisation's coordinating unit (the role claim) and the coordinator
  see everything; the owning organisation's other employees are like anyone else;
- otherwise a recipient named in force (organisation, practitioner, or the care team) sees the
  plan minus refused topics; with a data period only dated goals/measures inside it (and then
  the undated CarePlan and CareTeam are not shared); the CareTeam without the participants
  whose participation carries a refused topic (the coordinator's assignment carries none);
- everyone else sees nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.unit.consent.builders import Item, PlanSpec

TODAY = "2026-06-01"


@dataclass(frozen=True)
class Who:
    org: str  # Org.key ("annen" = not in the plan)
    prac: str | None  # Prac.key working at org, or None
    coordinating_unit: bool = False  # the token carries the coordinating unit's role claim


@dataclass
class Expected:
    privileged: bool = False
    careplan: bool = False
    patient: bool = False
    goals: set[str] = field(default_factory=set)
    measures: set[str] = field(default_factory=set)
    needs: set[str] = field(default_factory=set)
    strengths: set[str] = field(default_factory=set)
    refused_topics: set[str] = field(default_factory=set)
    # CareTeam participants: "person", "coordinator", team members ("org:key" / "prac:key")
    participants: set[str] = field(default_factory=set)


def in_force(spec: PlanSpec) -> bool:
    s = spec.sharing
    if s is None or s.status != "active":
        return False
    if s.revoked_on is not None and s.revoked_on <= TODAY:
        return False
    return (s.start is None or s.start <= TODAY) and (s.end is None or s.end >= TODAY)


def _named(spec: PlanSpec, who: Who) -> bool:
    s = spec.sharing
    assert s is not None
    if f"org:{who.org}" in s.recipients or (who.prac and f"prac:{who.prac}" in s.recipients):
        return True
    in_team = f"org:{who.org}" in spec.team or (
        who.prac is not None and f"prac:{who.prac}" in spec.team
    )
    in_team = in_team or (who.prac is not None and who.prac == spec.coordinator)
    return "careteam" in s.recipients and in_team


def _shared(item: Item, refused: set[str], period: tuple[str | None, str | None] | None) -> bool:
    if item.topic in refused:
        return False
    if period is None:
        return True
    if item.start is None:
        return False
    start, end = period
    return (start is None or start <= item.start) and (end is None or item.start <= end)


def _participants(spec: PlanSpec, refused: set[str]) -> set[str]:
    members = {"person", *spec.team} | ({"coordinator"} if spec.coordinator else set())
    return {m for m in members if spec.team_topics.get(m) not in refused}


def expected(spec: PlanSpec, who: Who) -> Expected:
    everything = Expected(
        True,
        True,
        True,
        {g.key for g in spec.goals},
        {m.key for m in spec.measures},
        {n.key for n in spec.needs},
        {s.key for s in spec.strengths},
        participants=_participants(spec, set()),
    )
    s = spec.sharing
    refused_me = s is not None and (
        who.org in s.refused_orgs or (who.prac is not None and who.prac in s.refused_pracs)
    )
    if in_force(spec) and refused_me:
        return Expected()
    owner = who.org == spec.owner and who.coordinating_unit
    if owner or (who.prac is not None and who.prac == spec.coordinator):
        return everything
    if s is None or not in_force(spec) or not _named(spec, who):
        return Expected()
    refused = set(s.refused_topics)
    period = s.data_period
    out = Expected(refused_topics=refused)
    out.goals = {g.key for g in spec.goals if _shared(g, refused, period)}
    if period is not None:
        return out  # the CarePlan, the Patient and undated items carry no date: not shared
    out.careplan = out.patient = True
    out.measures = {m.key for m in spec.measures if _shared(m, refused, None)}
    out.needs = {n.key for n in spec.needs if _shared(n, refused, None)}
    out.strengths = {n.key for n in spec.strengths if _shared(n, refused, None)}
    out.participants = _participants(spec, refused)
    return out
