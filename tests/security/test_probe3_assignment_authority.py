"""Probes of the coordinator assignment on its own (issue #16; fixtures/assignments/
barnekoordinator-sosken: Molde kommune's barnekoordinator for Ella and Vetle, one CareTeam per
child, category ``koordinator-tildeling``) that hold today: nobody outside the assignment's
holders gains owner or coordinator authority over a child by writing an assignment of their own,
and a barnekoordinator of one sibling only is a stranger to the other. The day is fixed."""

from __future__ import annotations

import contextlib
import copy
import json
import random
from typing import Any

import pytest

from ipfhir.adapter.consent.enforce import ConsentRepository
from ipfhir.adapter.errors import Forbidden, NotFound
from ipfhir.mappings.assignment_fhir import assignment_to_bundle
from ipfhir.mappings.assignment_rules import load_assignment
from ipfhir.mappings.identifiers import HPR_SYSTEM, ORGNR_SYSTEM, synthetic_orgnr
from tests.unit.consent.real_plans import ROOT, Place, identifier, one

UNIT = ("koordinerende-enhet",)
FIXTURE = ROOT / "assignments" / "barnekoordinator-sosken.assignment.json"
OTHER = synthetic_orgnr(random.Random(3031))  # Kristiansund kommune (an outsider to Molde's)
OTHER_HPR = "9150399"  # its barnekoordinator
COLLEAGUE_HPR = "9199992"  # a Molde employee without a part in the assignment


def _bundle() -> dict[str, Any]:
    return assignment_to_bundle(load_assignment(json.loads(FIXTURE.read_text("utf-8"))))


def _stored(bundle: dict[str, Any]) -> Place:
    place = Place(bundle, "2026-06-01")
    response = place.as_actor(_orgnr(place), None, UNIT).transaction(bundle)
    assert {e["response"]["status"][:3] for e in response["entry"]} <= {"200", "201"}
    return place


def _orgnr(place: Place) -> str:
    return identifier(one(place.bundle, "Organization"), "4.101")


def _seen(repo: ConsentRepository, refs: list[str]) -> list[str]:
    out = []
    for ref in refs:
        rtype, _, rid = ref.partition("/")
        with contextlib.suppress(NotFound):
            out.append(f"{rtype}/{repo.read(rtype, rid)['id']}")
    return out


def _own_assignment(place: Place, orgnr: str, hpr: str, suffix: str) -> list[dict[str, Any]]:
    """An assignment for Ella written by someone else: their Organization, their practitioner
    as barnekoordinator, a CareTeam of category koordinator-tildeling naming Ella."""
    ella = one(place.bundle, "CareTeam", "-ella")
    org = {"resourceType": "Organization", "id": f"x-org-{suffix}", "name": "Annen",
           "identifier": [{"system": ORGNR_SYSTEM, "value": orgnr}]}  # fmt: skip
    prac = {"resourceType": "Practitioner", "id": f"x-prac-{suffix}", "name": [{"text": "Ø Å"}],
            "identifier": [{"system": HPR_SYSTEM, "value": hpr}]}  # fmt: skip
    role = {"resourceType": "PractitionerRole", "id": f"x-role-{suffix}",
            "practitioner": {"reference": f"Practitioner/{prac['id']}"},
            "organization": {"reference": f"Organization/{org['id']}"}}  # fmt: skip
    team = copy.deepcopy(ella)
    team["id"] = f"x-team-{suffix}"
    team["managingOrganization"] = [{"reference": f"Organization/{org['id']}"}]
    for part in team["participant"]:
        ref = part["member"]["reference"]
        part["member"]["reference"] = (
            f"Organization/{org['id']}"
            if ref.startswith("Organization/")
            else f"PractitionerRole/{role['id']}"
        )
    return [org, prac, role, team]


@pytest.mark.parametrize(
    ("who", "orgnr", "hpr", "roles"),
    [
        ("another municipality's unit and barnekoordinator", OTHER, OTHER_HPR, UNIT),
        ("a colleague in Molde kommune", None, COLLEAGUE_HPR, ()),
    ],
)
def test_writing_an_assignment_for_a_child_who_has_one_gives_no_authority(
    who: str, orgnr: str | None, hpr: str, roles: tuple[str, ...]
) -> None:
    """Attacker: another municipality's coordinating unit (or a Molde colleague without the
    unit's role) writes an assignment CareTeam for Ella naming itself manager and its own
    practitioner barnekoordinator, hoping to become owner/coordinator. Holds: the CareTeam is
    refused (Ella has an assignment; only its holders write), and afterwards the attacker sees
    nothing of Ella or Vetle and cannot change Ella's team."""
    place = _stored(_bundle())
    org = orgnr or _orgnr(place)
    unit = place.as_actor(org, None, roles)
    practitioner = place.as_actor(org, hpr, roles)
    resources = _own_assignment(place, org, hpr, "a")
    team = resources[-1]
    for res in resources[:-1]:  # directory entries: anyone with the scope writes them
        practitioner.update(res["resourceType"], res["id"], res)
    for repo in (unit, practitioner):
        with pytest.raises((Forbidden, NotFound)):
            repo.update("CareTeam", team["id"], team)
        with pytest.raises((Forbidden, NotFound)):
            repo.create({k: v for k, v in team.items() if k != "id"})
    personal = [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in place.bundle["entry"]
        if e["resource"]["resourceType"] in ("Patient", "RelatedPerson", "CareTeam")
    ]
    assert len(personal) == 6
    assert _seen(unit, personal) == [] and _seen(practitioner, personal) == []
    holder = place.as_actor(_orgnr(place), None, UNIT)  # the control: the unit sees them all
    assert len(_seen(holder, personal)) == 6
    ella = one(place.bundle, "CareTeam", "-ella")
    with pytest.raises((Forbidden, NotFound)):
        practitioner.update("CareTeam", ella["id"], {**ella, "status": "inactive"})


def test_a_barnekoordinator_of_one_sibling_is_a_stranger_to_the_other() -> None:
    """Attacker: Ella's barnekoordinator, where Vetle's team names another barnekoordinator
    (the same assignment identifier, another practitioner). Holds: Vetle's Patient, CareTeam
    and his coordinator's role are not shown to Ella's; Ella's are."""
    bundle = _bundle()
    vetle_team = one(bundle, "CareTeam", "-vetle")
    prac = copy.deepcopy(one(bundle, "Practitioner"))
    role = copy.deepcopy(one(bundle, "PractitionerRole"))
    prac["id"], role["id"] = "molde-bk-2025-0031-andre", "molde-bk-2025-0031-andre-rolle"
    prac["identifier"] = [{"system": HPR_SYSTEM, "value": "9150317"}]
    prac["name"] = [{"text": "Åsmund Ødegård"}]
    role["practitioner"] = {"reference": f"Practitioner/{prac['id']}"}
    old_role = one(bundle, "PractitionerRole")["id"]
    for part in vetle_team["participant"]:
        if part["member"]["reference"] == f"PractitionerRole/{old_role}":
            part["member"]["reference"] = f"PractitionerRole/{role['id']}"
    bundle["entry"] += [
        {"fullUrl": f"urn:x:{r['id']}", "resource": r,
         "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
        for r in (prac, role)
    ]  # fmt: skip
    place = _stored(bundle)
    ellas = place.as_actor(_orgnr(place), identifier(one(bundle, "Practitioner"), "4.4"))
    vetle = one(bundle, "Patient", "-vetle")
    assert _seen(ellas, [f"Patient/{vetle['id']}", f"CareTeam/{vetle_team['id']}"]) == []
    ella = one(bundle, "Patient", "-ella")
    assert _seen(ellas, [f"Patient/{ella['id']}"]) == [f"Patient/{ella['id']}"]
    vetles = place.as_actor(_orgnr(place), "9150317")  # the control: his own coordinator does
    assert _seen(vetles, [f"CareTeam/{vetle_team['id']}"]) == [f"CareTeam/{vetle_team['id']}"]
