"""Need to know on the project's own plans (issue 16): on every fixture plan, staff of the
organisation that owns the plan who are neither its coordinating unit (role claim) nor the
coordinator in charge nor named in the consent get exactly what a stranger gets, on every egress
path, as JSON and as XML — the refused goal, the Consents and the free text included.

Most fixtures' sharing consents name the owning municipality itself as a recipient (the person
agreed that it gets the plan): there its staff get what the consent gives a recipient — never the
Consents, never what the person refused — and with the municipality taken out of the consent,
exactly what a stranger gets. The day is fixed (FixedClock through ``Place``), never today."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from ipfhir.mappings.identifiers import synthetic_orgnr
from tests.unit.consent.real_plans import (
    ROOT,
    Place,
    as_text,
    egress,
    fixture_bundle,
    identifier,
    mapped_bundle,
    one,
    refused_parts,
    resources_of,
    shown_parts,
)
from tests.unit.consent.test_real_plans import _stored

PLANS = sorted(p.name.removesuffix(".plan.json") for p in (ROOT / "plans").glob("*.plan.json"))
STRANGER = synthetic_orgnr(random.Random(1616))  # an organisation no fixture names
ORGNR_SUFFIX, HPR_SUFFIX = "4.101", "4.4"


def _plan(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{name}.plan.json").read_text("utf-8"))  # type: ignore[no-any-return]


def _day(plan: dict[str, Any]) -> str:
    """A fixed day inside the plan's period: the 28th of its first month (or its start)."""
    start = plan["period"]["start"]
    return f"{start[:8]}28" if start[8:] < "28" else start


def _owner_orgnr(place: Place) -> str:
    author = one(place.bundle, "CarePlan")["author"]["reference"].split("/")[1]
    org = next(r for r in resources_of(place.bundle) if r["id"] == author)
    return identifier(org, ORGNR_SUFFIX)


def _foreign_hpr(place: Place, owner: str) -> str | None:
    """The HPR number of a practitioner of the plan who works for another organisation."""
    for role in resources_of(place.bundle):
        if role["resourceType"] != "PractitionerRole" or "organization" not in role:
            continue
        org = next(
            r
            for r in resources_of(place.bundle)
            if f"Organization/{r['id']}" == role["organization"]["reference"]
        )
        if identifier(org, ORGNR_SUFFIX) != owner:
            practitioner = one(place.bundle, "Practitioner", role["id"])
            hprs = [
                i for i in practitioner.get("identifier", []) if i["system"].endswith(HPR_SUFFIX)
            ]
            if hprs:
                return str(hprs[0]["value"])
    return None


def _not_named(data: dict[str, Any]) -> None:
    """The plan with its owner taken out of the sharing consent (recipients and rules)."""
    sc, owner = data.get("sharing_consent"), data["responsible_organisation"]
    if sc is None:
        return
    sc["permitted_recipients"] = [r for r in sc["permitted_recipients"] if r != owner]
    for rule in sc.get("rules", []):
        rule["recipients"] = [r for r in rule.get("recipients", []) if r != owner]
    sc["rules"] = [r for r in sc.get("rules", []) if r["recipients"] or r.get("sources")]


def _named(name: str) -> bool:
    data = _plan(name)
    sc = data.get("sharing_consent") or {}
    return data["responsible_organisation"] in sc.get("permitted_recipients", [])


@pytest.fixture(scope="module", params=PLANS)
def place(request: pytest.FixtureRequest) -> Place:
    name = str(request.param)
    return _stored(mapped_bundle(name, _not_named), _day(_plan(name)))


@pytest.fixture(scope="module", params=[p for p in PLANS if _named(p)])
def named(request: pytest.FixtureRequest) -> Place:
    name = str(request.param)
    return _stored(fixture_bundle(name), _day(_plan(name)))


def _colleagues(place: Place) -> list[Any]:
    owner = _owner_orgnr(place)
    colleagues = [
        place.as_actor(owner),  # the municipality's system, no role
        place.as_actor(owner, "9199991"),  # an employee
        place.as_actor(owner, "9199991", ("saksbehandler",)),  # another role
    ]
    foreign = _foreign_hpr(place, owner)
    if foreign is not None:  # a team member's HPR number, at the wrong organisation
        colleagues.append(place.as_actor(owner, foreign))
    return colleagues


def test_the_owning_organisations_other_staff_get_what_a_stranger_gets(place: Place) -> None:
    stranger = as_text(egress(place, place.as_actor(STRANGER)))
    for colleague in _colleagues(place):
        assert as_text(egress(place, colleague)) == stranger


def test_where_the_consent_names_the_owner_its_staff_get_what_a_recipient_gets(
    named: Place,
) -> None:
    unit = named.as_actor(_owner_orgnr(named), None, ("koordinerende-enhet",))
    held = {_ref(r) for r in egress(named, unit)}
    for colleague in _colleagues(named):
        got = egress(named, colleague)
        assert got, "the consent names the organisation: it gets the plan"
        assert {_ref(r) for r in got} <= held
        assert not [r for r in got if r.get("resourceType") == "Consent"]
        refused = set(_plan_of(named).get("sharing_consent", {}).get("refused_topics", []))
        assert not shown_parts(got) & refused_parts(named.bundle, refused)
        as_json, as_xml = as_text(got)
        for part in _refused_text(_plan_of(named), refused):
            assert part not in as_json and part not in as_xml, part


def _refused_text(data: dict[str, Any], refused: set[str]) -> list[str]:
    """The free-text parts (situation, contributions, cooperation) with a refused topic."""
    texts = [data.get("situation"), data.get("person_contribution")]
    texts += [p.get("contribution") for p in data["parties"]]
    texts += [c["description"] for c in data.get("cooperation", [])]
    return [
        part["text"]
        for text in texts
        if isinstance(text, list)
        for part in text
        if set(part.get("topics", [])) & refused
    ]


def _plan_of(place: Place) -> dict[str, Any]:
    return next(_plan(n) for n in PLANS if _plan(n)["id"] == place.plan_id)


def _ref(resource: dict[str, Any]) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


def test_the_coordinating_unit_holds_the_plan(place: Place) -> None:
    unit = place.as_actor(_owner_orgnr(place), None, ("koordinerende-enhet",))
    shown = {f"{r['resourceType']}/{r['id']}" for r in egress(place, unit)}
    assert {f"{r['resourceType']}/{r['id']}" for r in resources_of(place.bundle)} <= shown


def test_every_fixture_plan_is_covered() -> None:
    assert len(PLANS) >= 9 and Path(ROOT / "plans").is_dir()
