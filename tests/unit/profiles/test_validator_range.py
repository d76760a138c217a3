"""minValue[x] / maxValue[x] of an element definition are checked (IP-3029): numbers, dates and
Quantities of the same unit; values that cannot be ordered against the bound pass unjudged."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ipfhir.profiles.validator import Validator
from ipfhir.profiles.validator.engine import Engine
from ipfhir.profiles.validator.registry import CORE_SD, Registry

URL = "https://ip-fhir-adapter.no/fhir/StructureDefinition/test-goal-range"
UCUM = "http://unitsofmeasure.org"


@pytest.fixture(scope="module")
def validator() -> Validator:
    base = Registry()
    goal = base.structure(CORE_SD + "Goal")
    assert goal is not None
    sd = copy.deepcopy(goal)
    sd.update(url=URL, id="test-goal-range", name="TestGoalRange", derivation="constraint")
    for element in sd["snapshot"]["element"]:
        if element["path"] == "Goal.start[x]":
            element["minValueDate"] = "2020-01-01"
        if element["path"] == "Goal.target.detail[x]":
            element["maxValueInteger"] = 10
        if element["path"] == "Goal.target.due[x]":  # dueDate or dueDuration (a Quantity)
            element["maxValueQuantity"] = {"value": 365, "system": UCUM, "code": "d"}
    registry = base.overlay()
    registry.add(sd)
    return Validator(Engine(registry))


def _goal(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Goal",
        "meta": {"profile": [URL]},
        "lifecycleStatus": "active",
        "description": {"text": "Gå tur til Čáhcesuolu to ganger i uka"},
        "subject": {"reference": "Patient/ip-pasient-1"},
        **extra,
    }


def _ranges(validator: Validator, goal: dict[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    return [
        (i.message_id, i.expression) for i in validator.issues(goal) if i.message_id == "IP-3029"
    ]


def test_a_date_before_the_minimum_is_refused(validator: Validator) -> None:
    found = validator.issues(_goal(startDate="2019-12-31"))
    [issue] = [i for i in found if i.message_id == "IP-3029"]
    assert issue.expression == ("Goal.startDate",) and issue.severity == "error"
    assert "2019-12-31" in issue.text and "min" in issue.text


@pytest.mark.parametrize("day", ["2020-01-01", "2024-05-17"])
def test_a_date_on_or_after_the_minimum_passes(validator: Validator, day: str) -> None:
    assert _ranges(validator, _goal(startDate=day)) == []


def test_an_integer_above_the_maximum_is_refused(validator: Validator) -> None:
    over = _goal(target=[{"detailInteger": 11}])
    assert _ranges(validator, over) == [("IP-3029", ("Goal.target[0].detailInteger",))]
    assert _ranges(validator, _goal(target=[{"detailInteger": 10}])) == []


def test_a_quantity_is_compared_in_the_bound_s_unit_only(validator: Validator) -> None:
    def due(value: float, code: str) -> dict[str, Any]:
        duration = {"value": value, "system": UCUM, "code": code}
        return _goal(target=[{"measure": {"text": "Turer"}, "dueDuration": duration}])

    assert _ranges(validator, due(400, "d")) == [("IP-3029", ("Goal.target[0].dueDuration",))]
    assert _ranges(validator, due(364.5, "d")) == []
    assert _ranges(validator, due(40, "wk")) == []  # another unit: not judged
    assert _ranges(validator, _goal(target=[{"dueDate": "2031-01-01"}])) == []
