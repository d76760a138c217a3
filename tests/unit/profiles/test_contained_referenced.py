"""dom-3's shortcut (every contained resource referenced somewhere in the resource) stops
looking once all are found, with the answer of reading the whole resource."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ipfhir.profiles.validator.engine import contained_are_referenced
from tests.unit.profiles.reference import reference_dir


def _whole_resource(res: dict[str, Any]) -> bool:
    """The shortcut's answer from every reference in the resource, all read first."""
    contained = res.get("contained")
    if not isinstance(contained, list):
        return False
    found: set[str] = set()
    todo: list[Any] = [res]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            if isinstance(item.get("reference"), str):
                found.add(item["reference"])
            todo.extend(v for k, v in item.items() if not k.startswith("_"))
        elif isinstance(item, list):
            todo.extend(item)
    return all(
        isinstance(c, dict) and isinstance(c.get("id"), str) and "#" + c["id"] in found
        for c in contained
    )


def _with_contained() -> list[dict[str, Any]]:
    found = []
    for path in sorted(reference_dir("r4-examples", "json").glob("*.json")):
        res = json.loads(path.read_bytes())
        if isinstance(res.get("contained"), list):
            found.append(res)
    return found


def _variants(res: dict[str, Any]) -> list[dict[str, Any]]:
    unreferenced = copy.deepcopy(res)
    unreferenced["contained"].append({"resourceType": "Basic", "id": "nobody-points-here"})
    without_id = copy.deepcopy(res)
    without_id["contained"].append({"resourceType": "Basic"})
    only_in_extension = copy.deepcopy(res)
    only_in_extension["_status"] = {"extension": [{"valueReference": {"reference": "#x"}}]}
    only_in_extension["contained"].append({"resourceType": "Basic", "id": "x"})
    return [res, unreferenced, without_id, only_in_extension]


def test_every_example_with_contained_resources_answers_as_the_whole_resource() -> None:
    examples = _with_contained()
    assert len(examples) > 5
    answers = []
    for res in examples:
        for variant in _variants(res):
            answers.append(contained_are_referenced(variant))
            assert answers[-1] is _whole_resource(variant)
    # Not trivially true: it fails when the examples and variants never reach one of the two
    # answers, and the comparison above would then have checked one branch only.
    assert True in answers and False in answers


@pytest.mark.parametrize(
    ("res", "expected"),
    [
        ({"contained": []}, True),
        ({"contained": None}, False),
        ({"contained": [{"id": "a"}], "subject": {"reference": "#a"}}, True),
        ({"contained": [{"id": "a"}, {"id": "b"}], "x": [{"reference": "#b"}]}, False),
        ({"contained": [{"id": "a"}], "_x": {"reference": "#a"}}, False),
        ({"contained": [{"id": 1}], "x": {"reference": "#1"}}, False),
    ],
)
def test_small_cases(res: dict[str, Any], expected: bool) -> None:
    assert contained_are_referenced(res) is expected is _whole_resource(res)
