"""A coordinator assignment on its own (fixtures/assignments/barnekoordinator-sosken: one
CareTeam per child, sharing the assignment's identifier) through the enforcement point: the
owning municipality's coordinating unit writes it, the unit and the barnekoordinator read it,
the municipality's other staff get what a stranger gets — nothing of either child — and a
colleague cannot write one. Before the younger child's birth as well (a Patient without
identifier). The day is fixed (FixedClock through ``Place``)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from ipfhir.adapter.consent.enforce import ConsentRepository
from ipfhir.adapter.errors import Forbidden, NotFound
from ipfhir.mappings.assignment_fhir import assignment_to_bundle
from ipfhir.mappings.assignment_rules import load_assignment
from tests.unit.consent.real_plans import ROOT, Place, identifier, one, resources_of
from tests.unit.consent.test_fixture_colleagues import STRANGER

UNIT = ("koordinerende-enhet",)
FIXTURE = ROOT / "assignments" / "barnekoordinator-sosken.assignment.json"


def _data(unborn: bool) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text("utf-8"))
    if unborn:
        for key in ("identifier", "birth_date", "given"):
            data["persons"][1].pop(key)
    return data


def _place(unborn: bool) -> Place:
    bundle = assignment_to_bundle(load_assignment(_data(unborn)))
    place = Place(bundle, "2026-01-15" if unborn else "2026-06-01")
    response = place.as_actor(_orgnr(place), None, UNIT).transaction(bundle)
    assert {e["response"]["status"][:3] for e in response["entry"]} <= {"200", "201"}
    return place


def _orgnr(place: Place) -> str:
    return identifier(one(place.bundle, "Organization"), "4.101")


def _reads(place: Place, repo: ConsentRepository) -> list[str]:
    shown = []
    for res in resources_of(place.bundle):
        with contextlib.suppress(NotFound):
            got = repo.read(res["resourceType"], res["id"])
            shown.append(f"{got['resourceType']}/{got['id']}")
    return shown


def _personal(place: Place) -> set[str]:
    return {
        f"{r['resourceType']}/{r['id']}"
        for r in resources_of(place.bundle)
        if r["resourceType"] in ("Patient", "RelatedPerson", "CareTeam")
    }


@pytest.mark.parametrize("unborn", [False, True], ids=["after-birth", "before-birth"])
def test_the_unit_and_the_barnekoordinator_hold_the_assignment(unborn: bool) -> None:
    place = _place(unborn)
    hpr = identifier(one(place.bundle, "Practitioner"), "4.4")
    for repo in (
        place.as_actor(_orgnr(place), None, UNIT),
        place.as_actor(_orgnr(place), hpr),
    ):
        assert _personal(place) <= set(_reads(place, repo))


@pytest.mark.parametrize("unborn", [False, True], ids=["after-birth", "before-birth"])
def test_the_municipalitys_other_staff_get_what_a_stranger_gets(unborn: bool) -> None:
    place = _place(unborn)
    stranger = _reads(place, place.as_actor(STRANGER))
    assert not set(stranger) & _personal(place)
    for colleague in (
        place.as_actor(_orgnr(place)),
        place.as_actor(_orgnr(place), "9199991"),
        place.as_actor(_orgnr(place), "9199991", ("saksbehandler",)),
    ):
        assert _reads(place, colleague) == stranger


def test_a_colleague_cannot_change_the_assignment() -> None:
    place = _place(False)
    team = one(place.bundle, "CareTeam", "-ella")
    changed = {**team, "status": "inactive"}
    with pytest.raises((Forbidden, NotFound)):
        place.as_actor(_orgnr(place), "9199991").update("CareTeam", team["id"], changed)
