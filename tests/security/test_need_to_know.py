"""Need to know inside the owning organisation (issues 9 and 16): a token of the municipality
that owns the plan is its owner only with the coordinating unit's role claim
(``koordinerende-enhet``); the coordinator is the HPR number *and* organisation of the current
coordinator; every other employee of the municipality (``colleague``: its orgnr and an HPR
number, or its orgnr alone) gets exactly what a stranger gets — before, any such token was
"owner" and read the goal the person refused and the Consents themselves."""

from __future__ import annotations

from typing import Any

import pytest

from ipfhir.adapter.auth.devkey import mint_token
from ipfhir.adapter.consent.policy import OWNER_ROLE
from tests.security.conftest import PT, SecureWorld
from tests.security.test_hidden_like_missing import _normal
from tests.unit.consent.conftest import HPR, ORGNR

PATHS = (
    "/Goal/ip1-g2",
    "/Goal/ip1-g1",
    "/Consent/ip1-sharing",
    "/CarePlan/ip1",
    "/RelatedPerson/ip1-mor",
    f"/Goal?patient={PT}",
    f"/Goal?patient={PT}&_summary=count",
    "/CarePlan/ip1/$everything",
)


def _token(world: SecureWorld, org: str, hpr: str | None, *roles: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(world.data, org, hpr=hpr, roles=roles)}"}


def _answers(world: SecureWorld, headers: dict[str, str]) -> list[tuple[int, str]]:
    out = []
    for path in PATHS:
        got = world.client.get(path, headers=headers)
        out.append((got.status_code, _normal(got.text, "")))
    return out


@pytest.mark.parametrize(
    "who",
    [
        (ORGNR["kommune"], None, ()),  # the municipality's system, no role
        (ORGNR["kommune"], "9100010", ()),  # an employee
        (ORGNR["kommune"], "9100010", ("saksbehandler",)),  # another role
        (ORGNR["kommune"], HPR["fysio"], ()),  # a team member's HPR at the wrong organisation
    ],
    ids=["system", "employee", "other-role", "foreign-hpr"],
)
def test_the_owning_municipalitys_other_employees_get_what_a_stranger_gets(
    world: SecureWorld, who: tuple[str, str | None, tuple[str, ...]]
) -> None:
    org, hpr, roles = who
    colleague = _answers(world, _token(world, org, hpr, *roles))
    assert colleague == _answers(world, world.as_("outsider"))
    assert [status for status, _ in colleague][:5] == [404] * 5


def test_the_coordinating_unit_and_the_coordinator_hold_the_plan(world: SecureWorld) -> None:
    for headers in (
        _token(world, ORGNR["kommune"], None, OWNER_ROLE),
        _token(world, ORGNR["kommune"], "9100010", OWNER_ROLE),
        world.as_("coordinator"),
    ):
        assert [s for s, _ in _answers(world, headers)] == [200] * len(PATHS)
    # the role claim names the coordinating unit of the *owning* organisation only
    elsewhere = _token(world, ORGNR["annen"], None, OWNER_ROLE)
    assert _answers(world, elsewhere) == _answers(world, world.as_("outsider"))


def test_a_colleague_writes_nothing_for_the_person(world: SecureWorld) -> None:
    goal: dict[str, Any] = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "Jeg vil på tur til Ráisa"},
        "subject": {"reference": PT},
    }
    answers = []
    for headers in (world.as_("colleague"), world.as_("outsider")):
        got = world.client.post(
            "/Goal", json=goal, headers={**headers, "Content-Type": "application/fhir+json"}
        )
        answers.append((got.status_code, got.text))
    assert answers[0] == answers[1] and answers[0][0] == 403
    renamed = world.wiring.repository.read("Organization", "ip1-kommune")
    renamed["name"] = "Bærum kommune, IT"
    got = world.client.put(
        "/Organization/ip1-kommune",
        json=renamed,
        headers={**world.as_("colleague"), "Content-Type": "application/fhir+json"},
    )
    assert got.status_code == 403, got.text
