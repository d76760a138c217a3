"""The generic element redaction (adapter.consent.redact): one list, any labelled element."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ipfhir.adapter.consent.redact import (
    element_labels,
    mark_redacted,
    strip_elements,
    strip_list,
    strip_participants,
)
from tests.unit.consent.builders import TOPIC, topic_label

Resource = dict[str, Any]


def _refuse(topic: str) -> Any:
    def judge(element: Mapping[str, Any], path: str) -> str | None:
        return f"refused {topic} at {path}" if (TOPIC, topic) in element_labels(element) else None

    return judge


def _team(*labels: str | None) -> Resource:
    participants = []
    for i, label in enumerate(labels):
        p: Resource = {"member": {"reference": f"RelatedPerson/ip1-r{i}"}}
        if label:
            p["extension"] = [
                {"url": "https://ip-fhir-adapter.no/fhir/StructureDefinition/ip-contribution",
                 "valueString": f"Kjører meg til Tromsø ({i})"},
                topic_label(label),
            ]  # fmt: skip
        participants.append(p)
    return {"resourceType": "CareTeam", "id": "ip1", "participant": participants}


def test_strip_list_names_the_original_positions() -> None:
    team = _team(None, "familie", "rus", "familie")
    removed = strip_list(team, "participant", _refuse("familie"))
    assert [r.path for r in removed] == ["CareTeam.participant[1]", "CareTeam.participant[3]"]
    assert removed[0].reason == "refused familie at CareTeam.participant[1]"
    assert [p["member"]["reference"][-2:] for p in team["participant"]] == ["r0", "r2"]


def test_an_emptied_list_goes_and_a_missing_one_is_left_alone() -> None:
    team = _team("familie")
    assert len(strip_list(team, "participant", _refuse("familie"))) == 1
    assert "participant" not in team
    assert strip_list(team, "participant", _refuse("familie")) == []


def test_strip_participants_leaves_the_stored_resource_untouched() -> None:
    team = _team("familie", None)
    before = copy.deepcopy(team)
    out, removed = strip_participants(team, _refuse("familie"))
    assert team == before
    assert [r.path for r in removed] == ["CareTeam.participant[0]"]
    assert "Tromsø" not in str(out) and len(out["participant"]) == 1


def _refuse_goal(ref: str) -> str | None:
    return "hidden goal" if ref == "Goal/ip1-g2" else None


def _keep(_element: Mapping[str, Any], _path: str) -> str | None:
    return None


def _plan() -> Resource:
    activity = [
        {"detail": {"description": "Støttekontakt på fritida", "goal": [{"reference": g}]}}
        for g in ("Goal/ip1-g1", "Goal/ip1-g2")
    ]
    return {
        "resourceType": "CarePlan",
        "id": "ip1",
        "meta": {"versionId": "3"},
        "activity": activity,
        "goal": [{"reference": "Goal/ip1-g1"}, {"reference": "Goal/ip1-g2"}],
    }


def test_strip_elements_and_mark_redacted_leave_the_original_untouched() -> None:
    plan = _plan()
    before = copy.deepcopy(plan)
    out, removed = strip_elements(plan, _keep, _keep, _refuse_goal)
    marked = mark_redacted(out)
    assert plan == before
    assert [r.path for r in removed] == ["CarePlan.activity[1].detail.goal", "CarePlan.goal[1]"]
    assert "goal" not in marked["activity"][1]["detail"]
    assert marked["goal"] == [{"reference": "Goal/ip1-g1"}]
    assert marked["meta"]["security"][0]["code"] == "REDACTED" and "security" not in plan["meta"]


def test_nothing_removed_gives_back_the_resource_itself() -> None:
    plan, team = _plan(), _team(None, "rus")
    assert strip_elements(plan, _keep, _keep, lambda _ref: None) == (plan, [])
    assert strip_elements(plan, _keep, _keep, lambda _ref: None)[0] is plan
    assert strip_participants(team, _refuse("familie"))[0] is team
