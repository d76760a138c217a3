"""Which person a resource belongs to (``patient_of``) and which change stamps its write bumps
(``stamps.ties``) are two statements of one fact: every person ``patient_of`` finds is bumped."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.adapter.consent.context import PERSON_TYPES, patient_of
from ipfhir.adapter.store.stamps import CONTEXT_TYPES, ties

PT, OTHER = "Patient/ip1-pt", "Patient/ip2-pt"
CASES: list[tuple[dict[str, Any], str | None]] = [
    ({"resourceType": "Goal", "subject": {"reference": PT}}, PT),
    ({"resourceType": "Consent", "patient": {"reference": f"{PT}/_history/2"}}, PT),
    ({"resourceType": "Task", "for": {"reference": PT}}, PT),
    ({"resourceType": "Task", "focus": {"reference": "Goal/ip1-g1"}}, None),
    ({"resourceType": "Task", "for": {"reference": "Group/ip1"}}, None),
    (
        {
            "resourceType": "Provenance",
            "target": [{"reference": "Goal/ip1-g1/_history/1"}, {"reference": PT}],
        },
        PT,
    ),
    ({"resourceType": "Provenance", "target": [{"reference": "Goal/ip1-g1"}]}, None),
    (
        {"resourceType": "Provenance", "target": [{"reference": PT}, {"reference": OTHER}]},
        None,  # two persons: nobody's (hidden from all, refused as a write)
    ),
]


@pytest.mark.parametrize(("resource", "person"), CASES)
def test_patient_of_and_the_stamps_agree(resource: dict[str, Any], person: str | None) -> None:
    assert patient_of({**resource, "id": "x"}) == person
    bumped = ties(resource["resourceType"], "x", resource)
    if person is not None and resource["resourceType"] in CONTEXT_TYPES:
        assert person in bumped
    elif person is not None:  # no cached context holds it: its write bumps nothing
        assert bumped == set()


def test_task_and_provenance_are_person_data() -> None:
    assert {"Task", "Provenance"} <= PERSON_TYPES
