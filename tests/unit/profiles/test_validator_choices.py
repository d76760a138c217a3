"""A choice element given twice (valueString and valueInteger) is one element found twice,
whichever of its keys the walker checks while reading keys: the count is reported, and every
value is still checked, in either order of the keys, with or without a ``_value`` twin."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.profiles.validator import Validator

OBS: dict[str, Any] = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}
EXT = "http://example.org/e"

CASES: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
    (
        {**OBS, "valueString": "a", "valueInteger": 3},
        [("IP-3003", "Observation.value")],
    ),
    (
        {**OBS, "valueInteger": 3, "valueString": "a"},
        [("IP-3003", "Observation.value")],
    ),
    (
        {
            **OBS,
            "valueString": "a",
            "_valueInteger": {"extension": [{"url": EXT, "valueString": "y"}]},
        },
        [("IP-3003", "Observation.value"), ("IP-3022", "Observation.valueInteger.extension[0]")],
    ),
    (
        {**OBS, "valueCodeableConcept": {"text": "q"}, "valueQuantity": {"value": "1"}},
        [("IP-3003", "Observation.value"), ("IP-3005", "Observation.valueQuantity.value")],
    ),
    (
        {**OBS, "valueQuantity": {"value": "1"}, "valueCodeableConcept": {"text": "q"}},
        [("IP-3003", "Observation.value"), ("IP-3005", "Observation.valueQuantity.value")],
    ),
    (
        {**OBS, "valueString": "a", "_valueString": {"id": "1"}, "valueBoolean": "no"},
        [("IP-3003", "Observation.value"), ("IP-3007", "Observation.valueBoolean")],
    ),
    (
        {
            "resourceType": "Patient",
            "extension": [{"url": EXT, "valueCode": "b c  d", "valueString": "a"}],
        },
        [
            ("IP-3003", "Patient.extension[0].value"),
            ("IP-3005", "Patient.extension[0].valueCode"),
            ("IP-3022", "Patient.extension[0]"),
        ],
    ),
    (
        {
            "resourceType": "Patient",
            "extension": [{"url": EXT, "valueString": "a", "valueCode": "b c  d"}],
        },
        [
            ("IP-3003", "Patient.extension[0].value"),
            ("IP-3005", "Patient.extension[0].valueCode"),
            ("IP-3022", "Patient.extension[0]"),
        ],
    ),
]


@pytest.mark.parametrize(("resource", "expected"), CASES)
def test_a_choice_given_twice(resource: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    found = {
        (i.message_id, i.expression[0])
        for i in Validator().issues(resource)
        if i.message_id != "IP-3012"  # (dom-6: no narrative)
    }
    assert found == set(expected)


def test_a_choice_given_once_is_fine() -> None:
    for value in ({"valueString": "a"}, {"valueInteger": 3}, {"valueQuantity": {"value": 1}}):
        issues = Validator().issues({**OBS, **value})
        assert [i.message_id for i in issues if i.severity == "error"] == []
