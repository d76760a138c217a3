"""Invariants on elements inside a complex extension's definition are evaluated.

Regression: a constraint on ``Extension.extension:necessity.value[x]`` of ``ip-cooperation`` (a
``code``) never fired, while one on a complex-typed value (``valueReference``) or on the extension
root did: the walker evaluated invariants on complex elements only. It now evaluates a profile's
invariants on primitive elements too (natively or, here with ``matches()``, with fhirpathpy).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ipfhir.profiles.validator import Validator
from ipfhir.profiles.validator.engine import Engine
from ipfhir.profiles.validator.registry import Registry
from tests.unit.profiles.reference import REPO

COOPERATION = REPO / "profiles" / "ip" / "StructureDefinition-ip-cooperation.json"
BUNDLE = REPO / "fixtures" / "bundles" / "child-barnekoordinator.bundle.json"
EXTRA = {
    "Extension.extension:necessity.value[x]": (
        "ip-test-1",
        "$this = 'necessary' or $this = 'desired'",
    ),
    "Extension.extension:description.value[x]": ("ip-test-2", "matches('^[^<>]*$')"),
    "Extension.extension:organization.value[x]": (
        "ip-test-3",
        "reference.startsWith('Organization/')",
    ),
}


@pytest.fixture(scope="module")
def validator() -> Validator:
    sd = json.loads(COOPERATION.read_bytes())
    for element in sd["snapshot"]["element"]:
        if element["id"] in EXTRA:
            key, expression = EXTRA[element["id"]]
            human = f"test invariant {key}"
            element["constraint"].append(
                {"key": key, "severity": "error", "human": human, "expression": expression}
            )
    registry = Registry().overlay()
    registry.add(sd)
    return Validator(Engine(registry))


def _careplan() -> tuple[dict[str, Any], int]:
    bundle = json.loads(BUNDLE.read_bytes())
    careplan = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "CarePlan"
    )
    index = next(
        n for n, e in enumerate(careplan["extension"]) if e["url"].endswith("/ip-cooperation")
    )
    return careplan, index


def _invariant_failures(validator: Validator, resource: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (i.text.split()[1], i.expression[0])
        for i in validator.issues(resource)
        if i.message_id == "IP-3012" and i.text.split()[1].startswith("ip-")
    }


def test_sub_extension_invariants_hold_on_the_valid_plan(validator: Validator) -> None:
    careplan, _ = _careplan()
    assert _invariant_failures(validator, careplan) == set()


@pytest.mark.parametrize(
    ("sub", "key", "value", "expected"),
    [
        ("necessity", "valueCode", "kanskje", "ip-test-1"),
        ("description", "valueString", "Møte <b>hver</b> uke", "ip-test-2"),
        ("organization", "valueReference", {"reference": "Practitioner/ande"}, "ip-test-3"),
    ],
)
def test_invariant_on_sub_extension_value_fires(
    validator: Validator, sub: str, key: str, value: Any, expected: str
) -> None:
    careplan, index = _careplan()
    broken = copy.deepcopy(careplan)
    subs = broken["extension"][index]["extension"]
    position = next(n for n, e in enumerate(subs) if e["url"] == sub)
    subs[position][key] = value
    found = _invariant_failures(validator, broken)
    where = f"CarePlan.extension[{index}].extension[{position}].{key}"
    assert (expected, where) in found
    if sub == "necessity":  # the root invariant says the same thing
        assert ("ip-cooperation-1", f"CarePlan.extension[{index}]") in found
