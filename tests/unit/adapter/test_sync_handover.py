"""The pure core of the plan transfer (``adapter/sync/handover.py``, ``adapter/fhir/handover.py``):
what a transfer carries of the plan as B sees it, and how coordination passes over the overlap."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ipfhir.adapter.fhir.handover import HANDOVER_SYSTEM, handover_state, marked
from ipfhir.adapter.sync.handover import NOT_CARRIED, carried_plan, pass_coordination

KOORD = {"coding": [{"system": "urn:oid:2.16.578.1.12.4.1.1.9034", "code": "8"}]}
REDACTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "REDACTED",
}


def _seen() -> list[dict[str, Any]]:
    return [
        {
            "resourceType": "CarePlan",
            "id": "ip1",
            "meta": {"versionId": "3", "security": [REDACTED], "tag": [{"code": "x"}]},
            "status": "active",
            "subject": {"reference": "Patient/ip1-pt"},
            "goal": [{"reference": "Goal/ip1-g1"}],
            "activity": [{"detail": {"performer": [{"reference": "Practitioner/skjult"}]}}],
            "careTeam": [{"reference": "CareTeam/ip1", "display": "Teamet"}],
        },
        {"resourceType": "Patient", "id": "ip1-pt", "name": [{"family": "Nilsen Áilu"}]},
        {"resourceType": "Goal", "id": "ip1-g1", "subject": {"reference": "Patient/ip1-pt"}},
        {"resourceType": "CareTeam", "id": "ip1", "subject": {"reference": "Patient/ip1-pt"}},
        {"resourceType": "Consent", "id": "delvis", "meta": {"security": [REDACTED]}},
        {"resourceType": "Task", "id": "varsel", "for": {"reference": "Patient/ip1-pt"}},
        {"resourceType": "Provenance", "id": "p", "target": [{"reference": "CarePlan/ip1"}]},
    ]


def test_a_transfer_carries_the_plan_under_fresh_ids_and_nothing_else() -> None:
    carried, fresh = carried_plan(_seen())
    kinds = [r["resourceType"] for r in carried]
    assert kinds == [
        "CarePlan",
        "Patient",
        "Goal",
        "CareTeam",
    ]  # no Task, Provenance, partial Consent
    plan = carried[0]
    assert plan["id"] == fresh["CarePlan/ip1"] and plan["id"] != "ip1"
    assert plan["subject"] == {"reference": f"urn:uuid:{fresh['Patient/ip1-pt']}"}
    assert plan["goal"] == [{"reference": f"urn:uuid:{fresh['Goal/ip1-g1']}"}]
    assert plan["careTeam"] == [
        {"display": "Teamet", "reference": f"urn:uuid:{fresh['CareTeam/ip1']}"}
    ]
    assert plan["activity"][0]["detail"]["performer"] == [{"display": NOT_CARRIED}]
    assert plan["meta"] == {"security": [REDACTED]}  # no versions, no tags travel
    assert "ip1" not in str(carried)


def test_coordination_passes_over_the_declared_overlap() -> None:
    team = {
        "resourceType": "CareTeam",
        "participant": [
            {"id": "nå", "role": [KOORD], "period": {"start": "2026-01-01"}},
            {"id": "før", "role": [KOORD], "period": {"start": "2025-01-01", "end": "2025-06-30"}},
            {"id": "annen", "role": [{"coding": [{"system": "x", "code": "tjenesteyter"}]}]},
        ],
    }
    passed = pass_coordination(team, dt.date(2026, 12, 1), 14, "Áslat Nilsen")
    now, before, other, new = passed["participant"]
    assert now["period"] == {"start": "2026-01-01", "end": "2026-12-15"}
    assert before["period"]["end"] == "2025-06-30" and "period" not in other
    assert new["member"] == {"display": "Áslat Nilsen"} and new["period"] == {"start": "2026-12-01"}
    assert team["participant"][0]["period"] == {"start": "2026-01-01"}  # the input is unchanged
    assert len(pass_coordination(team, dt.date(2026, 12, 1), 0, None)["participant"]) == 3


def test_handover_marks_replace_each_other_and_keep_other_tags() -> None:
    plan = {"resourceType": "CarePlan", "meta": {"versionId": "2", "tag": [{"code": "annet"}]}}
    pending = marked(plan, "handover-pending")
    assert handover_state(pending) == "handover-pending" and "versionId" not in pending["meta"]
    done = marked(pending, "handed-over")
    assert handover_state(done) == "handed-over"
    assert [t.get("system") for t in done["meta"]["tag"]] == [None, HANDOVER_SYSTEM]
    assert handover_state(marked(done, None)) is None
    assert marked(done, None)["meta"] == {"tag": [{"code": "annet"}]}
