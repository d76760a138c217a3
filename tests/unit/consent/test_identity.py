"""Who an actor is in a plan comes from the token: an organisation is its orgnr, a practitioner
is an HPR number at an organisation; a refusal follows the HPR number everywhere (pure)."""

from __future__ import annotations

from ipfhir.adapter.consent.context import PlanContext, actor_refs, claimed_refs
from ipfhir.adapter.consent.policy import access_for
from ipfhir.adapter.ports import Actor
from tests.unit.consent.builders import build
from tests.unit.consent.conftest import HPR, ORGNR, OWNER, standard_spec

PT = "Patient/ip1-pt"
TODAY = "2026-06-01"


def _ctx() -> PlanContext:
    return PlanContext.of(PT, build(standard_spec()))


def _basis(org: str, hpr: str | None = None) -> str:
    return access_for(_ctx(), Actor(organisation=ORGNR[org], practitioner=hpr), TODAY).basis


def test_the_coordinator_is_an_hpr_number_at_the_assignments_organisation() -> None:
    assert _ctx().coordinators(TODAY) == {(HPR["koord"], ORGNR["kommune"])}
    assert _basis("annen", HPR["koord"]) == "none"  # the same HPR number for another organisation
    assert _basis("sykehus", HPR["koord"]) == "consent"  # only what the hospital is given


def test_a_practitioner_is_the_actor_only_at_its_organisation() -> None:
    teacher_elsewhere = Actor(organisation=ORGNR["annen"], practitioner=HPR["laerer"])
    assert "Practitioner/ip1-laerer" not in actor_refs(_ctx(), teacher_elsewhere)
    assert access_for(_ctx(), teacher_elsewhere, TODAY).basis == "none"
    teacher = Actor(organisation=ORGNR["skole"], practitioner=HPR["laerer"])
    assert "Practitioner/ip1-laerer" in actor_refs(_ctx(), teacher)
    assert access_for(_ctx(), teacher, TODAY).basis == "consent"


def test_a_refused_individual_stays_refused_from_any_organisation() -> None:
    for org in ("sykehus", "annen", "skole"):
        doctor = Actor(organisation=ORGNR[org], practitioner=HPR["lege"])
        assert "Practitioner/ip1-lege" in claimed_refs(_ctx(), doctor)
        access = access_for(_ctx(), doctor, TODAY)
        assert access.basis == "none", org
        assert "refused" in access.reasons[0].text


def test_a_bare_practitioner_in_a_coordinator_assignment_coordinates_nothing() -> None:
    resources = build(standard_spec())
    for res in resources:
        if res["resourceType"] == "CareTeam":
            res["participant"][1]["member"] = {"reference": "Practitioner/ip1-koord"}
    ctx = PlanContext.of(PT, resources)
    assert ctx.coordinators(TODAY) == set()
    koord = Actor(organisation=ORGNR["kommune"], practitioner=HPR["koord"])
    assert access_for(ctx, koord, TODAY).basis == "none"  # an employee like any other
    unit = Actor(organisation=ORGNR["kommune"], practitioner=HPR["koord"], roles=OWNER)
    assert access_for(ctx, unit, TODAY).basis == "owner"  # the municipality still owns it
    assert (
        access_for(
            ctx, Actor(organisation=ORGNR["sykehus"], practitioner=HPR["koord"]), TODAY
        ).basis
        != "coordinator"
    )
